<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.0.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">
  <NamedLayer>
    <Name>trends</Name>
    <UserStyle>
      <Name>trends</Name>
      <Title>Trend (Mann-Kendall)</Title>
      <Abstract>Trend (Mann-Kendall). Mann-Kendall trend per area (trend: increasing / decreasing / no trend, classified on the false-discovery-rate q), ColorBrewer RdBu.</Abstract>
      <FeatureTypeStyle>
        <Rule>
          <Name>increasing</Name>
          <Title>Ökande</Title>
          <Abstract>Increasing (Mann-Kendall)</Abstract>
          <ogc:Filter>
            <ogc:PropertyIsEqualTo>
              <ogc:PropertyName>trend</ogc:PropertyName>
              <ogc:Literal>increasing</ogc:Literal>
            </ogc:PropertyIsEqualTo>
          </ogc:Filter>
          <PolygonSymbolizer>
            <Fill>
              <CssParameter name="fill">#b2182b</CssParameter>
            </Fill>
            <Stroke>
              <CssParameter name="stroke">#636363</CssParameter>
              <CssParameter name="stroke-width">1</CssParameter>
              <CssParameter name="stroke-linejoin">round</CssParameter>
            </Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>decreasing</Name>
          <Title>Minskande</Title>
          <Abstract>Decreasing (Mann-Kendall)</Abstract>
          <ogc:Filter>
            <ogc:PropertyIsEqualTo>
              <ogc:PropertyName>trend</ogc:PropertyName>
              <ogc:Literal>decreasing</ogc:Literal>
            </ogc:PropertyIsEqualTo>
          </ogc:Filter>
          <PolygonSymbolizer>
            <Fill>
              <CssParameter name="fill">#2166ac</CssParameter>
            </Fill>
            <Stroke>
              <CssParameter name="stroke">#636363</CssParameter>
              <CssParameter name="stroke-width">1</CssParameter>
              <CssParameter name="stroke-linejoin">round</CssParameter>
            </Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>no_trend</Name>
          <Title>Ingen signifikant trend</Title>
          <Abstract>No significant trend</Abstract>
          <ogc:Filter>
            <ogc:PropertyIsEqualTo>
              <ogc:PropertyName>trend</ogc:PropertyName>
              <ogc:Literal>no trend</ogc:Literal>
            </ogc:PropertyIsEqualTo>
          </ogc:Filter>
          <PolygonSymbolizer>
            <Fill>
              <CssParameter name="fill">#f7f7f7</CssParameter>
            </Fill>
            <Stroke>
              <CssParameter name="stroke">#636363</CssParameter>
              <CssParameter name="stroke-width">1</CssParameter>
              <CssParameter name="stroke-linejoin">round</CssParameter>
            </Stroke>
          </PolygonSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
