<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="0">
  <renderer-v2 type="RuleRenderer" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <rules key="{hotspots-root}">
      <rule key="{hotspots-bin_3}" symbol="0" label="Hot spot 99 %" description="Hot spot, 99 % confidence (Gi* bin 3)" filter="&quot;bin&quot; = 3" />
      <rule key="{hotspots-bin_2}" symbol="1" label="Hot spot 95 %" description="Hot spot, 95 % confidence (Gi* bin 2)" filter="&quot;bin&quot; = 2" />
      <rule key="{hotspots-bin_1}" symbol="2" label="Hot spot 90 %" description="Hot spot, 90 % confidence (Gi* bin 1)" filter="&quot;bin&quot; = 1" />
      <rule key="{hotspots-bin_0}" symbol="3" label="Ej signifikant" description="Not significant (Gi* bin 0)" filter="&quot;bin&quot; = 0" />
      <rule key="{hotspots-bin_minus_1}" symbol="4" label="Cold spot 90 %" description="Cold spot, 90 % confidence (Gi* bin -1)" filter="&quot;bin&quot; = -1" />
      <rule key="{hotspots-bin_minus_2}" symbol="5" label="Cold spot 95 %" description="Cold spot, 95 % confidence (Gi* bin -2)" filter="&quot;bin&quot; = -2" />
      <rule key="{hotspots-bin_minus_3}" symbol="6" label="Cold spot 99 %" description="Cold spot, 99 % confidence (Gi* bin -3)" filter="&quot;bin&quot; = -3" />
      <rule key="{hotspots-bin_null}" symbol="7" label="Ej beräknat" description="Not computed (bin is null)" filter="&quot;bin&quot; IS NULL" />
    </rules>
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="178,24,43,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="239,138,98,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="253,219,199,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="247,247,247,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="209,229,240,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="5" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="103,169,207,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="6" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="33,102,172,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
      <symbol type="fill" name="7" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="189,189,189,255" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="99,99,99,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="solid" />
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <layerGeometryType>2</layerGeometryType>
</qgis>
