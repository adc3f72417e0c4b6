<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="0">
  <renderer-v2 type="RuleRenderer" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <rules key="{observations-root}">
      <rule key="{observations-value_1}" symbol="0" label="0" description="0 (value = 0)" filter="&quot;value&quot; = 0" />
      <rule key="{observations-value_2}" symbol="1" label="1–2" description="1–2 (0 &lt; value &lt; 3)" filter="&quot;value&quot; &gt; 0 AND &quot;value&quot; &lt; 3" />
      <rule key="{observations-value_3}" symbol="2" label="3–5" description="3–5 (3 ≤ value &lt; 6)" filter="&quot;value&quot; &gt;= 3 AND &quot;value&quot; &lt; 6" />
      <rule key="{observations-value_4}" symbol="3" label="6–10" description="6–10 (6 ≤ value &lt; 11)" filter="&quot;value&quot; &gt;= 6 AND &quot;value&quot; &lt; 11" />
      <rule key="{observations-value_5}" symbol="4" label="11–25" description="11–25 (11 ≤ value &lt; 26)" filter="&quot;value&quot; &gt;= 11 AND &quot;value&quot; &lt; 26" />
      <rule key="{observations-value_6}" symbol="5" label="26 eller fler" description="26 or more" filter="&quot;value&quot; &gt;= 26" />
      <rule key="{observations-value_null}" symbol="6" label="Skyddat eller saknas" description="Protected or missing (see value_status)" filter="&quot;value&quot; IS NULL" />
    </rules>
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="255,255,178,255" />
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
            <Option name="color" type="QString" value="254,217,118,255" />
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
            <Option name="color" type="QString" value="254,178,76,255" />
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
            <Option name="color" type="QString" value="253,141,60,255" />
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
            <Option name="color" type="QString" value="240,59,32,255" />
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
            <Option name="color" type="QString" value="189,0,38,255" />
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
