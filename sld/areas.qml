<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="1">
  <renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="0,0,0,0" />
            <Option name="joinstyle" type="QString" value="round" />
            <Option name="offset" type="QString" value="0,0" />
            <Option name="offset_unit" type="QString" value="Pixel" />
            <Option name="outline_color" type="QString" value="64,64,64,255" />
            <Option name="outline_style" type="QString" value="solid" />
            <Option name="outline_width" type="QString" value="1.5" />
            <Option name="outline_width_unit" type="QString" value="Pixel" />
            <Option name="style" type="QString" value="no" />
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="name" isExpression="0" fontFamily="DejaVu Sans" fontSize="11" fontSizeUnit="Pixel" textColor="32,32,32,255" textOpacity="1" fontWeight="50" fontItalic="0" namedStyle="" multilineHeight="1" capitalization="0" allowHtml="0">
        <text-buffer bufferDraw="1" bufferSize="1.5" bufferSizeUnits="Pixel" bufferColor="255,255,255,255" bufferOpacity="1" bufferNoFill="1" bufferJoinStyle="128" />
      </text-style>
      <text-format wrapChar="" autoWrapLength="0" multilineAlign="1" />
      <placement placement="1" centroidInside="1" centroidWhole="0" fitInPolygonOnly="0" quadOffset="4" dist="0" distUnits="Pixel" offsetType="0" xOffset="0" yOffset="0" offsetUnits="Pixel" priority="5" layerType="PolygonGeometry" />
      <rendering drawLabels="1" obstacle="1" obstacleType="1" displayAll="0" upsidedownLabels="0" labelPerPart="0" mergeLines="0" scaleVisibility="0" minFeatureSize="0" limitNumLabels="0" zIndex="0" />
    </settings>
  </labeling>
  <layerGeometryType>2</layerGeometryType>
</qgis>
