"""Pre-styled maps of the public layers: SLD 1.0 and QGIS QML files, generated from code.

Actors load ``sld/hotspots.sld`` onto a hot-spot layer in their own GIS and get the legend;
QGIS users load the ``.qml`` beside it for exact fidelity. One definition of the classes
(:mod:`.classes`) feeds the SLD (:mod:`.sld`), the QML (:mod:`.qml`) and the HTML pages' map
previews (:mod:`lagesbild_geo.server.map_styles`). :mod:`.files` names every file, writes
them (``lagesbild styles write``) and says which files a collection links. Nothing here
imports the web framework: the service serves the bytes :func:`.files.generate` returns.
"""
