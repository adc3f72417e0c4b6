<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="0">
  <renderer-v2 type="RuleRenderer" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <rules key="{situation-root}">
      <rule key="{situation-change_1}" symbol="0" label="under −50 %" description="below −50 %" filter="&quot;change_pct&quot; &lt; -50" />
      <rule key="{situation-change_2}" symbol="1" label="−50 till −20 %" description="−50 to −20 %" filter="&quot;change_pct&quot; &gt;= -50 AND &quot;change_pct&quot; &lt; -20" />
      <rule key="{situation-change_3}" symbol="2" label="−20 till −5 %" description="−20 to −5 %" filter="&quot;change_pct&quot; &gt;= -20 AND &quot;change_pct&quot; &lt; -5" />
      <rule key="{situation-change_4}" symbol="3" label="ungefär oförändrat (±5 %)" description="about unchanged (±5 %)" filter="&quot;change_pct&quot; &gt;= -5 AND &quot;change_pct&quot; &lt; 5" />
      <rule key="{situation-change_5}" symbol="4" label="+5 till +20 %" description="+5 to +20 %" filter="&quot;change_pct&quot; &gt;= 5 AND &quot;change_pct&quot; &lt; 20" />
      <rule key="{situation-change_6}" symbol="5" label="+20 till +50 %" description="+20 to +50 %" filter="&quot;change_pct&quot; &gt;= 20 AND &quot;change_pct&quot; &lt; 50" />
      <rule key="{situation-change_7}" symbol="6" label="över +50 %" description="above +50 %" filter="&quot;change_pct&quot; &gt;= 50" />
      <rule key="{situation-protected}" symbol="7" label="Skyddat värde" description="Protected value (value_status = protected)" filter="&quot;change_pct&quot; IS NULL AND &quot;value_status&quot; = 'protected'" />
      <rule key="{situation-no_data}" symbol="8" label="Inga uppgifter" description="Nothing delivered (value_status = no_data)" filter="&quot;change_pct&quot; IS NULL AND &quot;value_status&quot; = 'no_data'" />
      <rule key="{situation-no_comparison}" symbol="9" label="Ingen jämförelse (0 de 12 veckorna före)" description="No comparison (nothing in the 12 weeks before, or one side missing)" filter="&quot;change_pct&quot; IS NULL AND (&quot;value_status&quot; IS NULL OR &quot;value_status&quot; = 'ok')" />
    </rules>
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
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
      <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
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
      <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
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
      <symbol type="fill" name="5" alpha="1" clip_to_extent="1" force_rhr="0">
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
      <symbol type="fill" name="6" alpha="1" clip_to_extent="1" force_rhr="0">
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
      <symbol type="fill" name="7" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="150,150,150,255" />
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
      <symbol type="fill" name="8" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="224,224,224,255" />
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
      <symbol type="fill" name="9" alpha="1" clip_to_extent="1" force_rhr="0">
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
