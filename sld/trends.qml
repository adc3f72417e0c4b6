<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="0">
  <renderer-v2 type="RuleRenderer" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <rules key="{trends-root}">
      <rule key="{trends-increasing}" symbol="0" label="Ökande" description="Increasing (Mann-Kendall)" filter="&quot;trend&quot; = 'increasing'" />
      <rule key="{trends-decreasing}" symbol="1" label="Minskande" description="Decreasing (Mann-Kendall)" filter="&quot;trend&quot; = 'decreasing'" />
      <rule key="{trends-no_trend}" symbol="2" label="Ingen signifikant trend" description="No significant trend" filter="&quot;trend&quot; = 'no trend'" />
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
      <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
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
    </symbols>
  </renderer-v2>
  <layerGeometryType>2</layerGeometryType>
</qgis>
