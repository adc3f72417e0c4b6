"""(Re)create the broken area files in tests/data/areas (``tests/ingest/test_area_versions.py``).

Run ``.venv/bin/python tests/data/areas/make.py``. Area files are not deliveries: the delivery
corpus runner skips this folder. Each file is GeoJSON (WGS 84) written as explicit bytes, so
the output is byte-for-byte reproducible without GIS libraries: small squares near Södertälje
with the fields ``kod`` (the code), ``pop`` (inhabitants) and, where named, ``niva`` (level).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
LON, LAT, SIDE = 17.60, 59.19, 0.01


def square(i: int) -> dict:
    x0, y0 = round(LON + i * SIDE, 6), LAT
    x1, y1 = round(x0 + SIDE, 6), round(y0 + SIDE, 6)
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def layer(name: str, features: list[dict], geometry=square) -> None:
    """``features``: the properties of each feature; the i-th gets the i-th square."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": geometry(i)}
            for i, props in enumerate(features)
        ],
    }
    text = json.dumps(collection, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    (HERE / name).write_bytes(text.encode("utf-8"))


def main() -> None:
    # NYKO codes without --level-prefixes: the codes do not say their levels
    layer(
        "nyko_without_prefixes.geojson", [{"kod": "1101", "pop": 900}, {"kod": "1102", "pop": 800}]
    )
    # look-alikes of DeSO codes, each not quite one: never guessed as DeSO
    layer("deso_wrong_type_letter.geojson", [{"kod": "0181D1010", "pop": 900}])
    layer("deso_short_code.geojson", [{"kod": "0181C101", "pop": 900}])
    layer(
        "deso_mixed_with_nyko.geojson",
        [{"kod": "0181C1010", "pop": 900}, {"kod": "1101", "pop": 5}],
    )
    layer("deso_fullwidth_digits.geojson", [{"kod": "\uff10\uff11\uff18\uff11C1010", "pop": 900}])
    # populations that are not a whole number >= 0
    layer("population_not_a_number.geojson", [{"kod": "0181C1010", "pop": "många"}])
    layer("population_negative.geojson", [{"kod": "0181C1010", "pop": -3}])
    # codes: twice, or missing
    layer(
        "duplicate_deso_code.geojson",
        [{"kod": "0181C1010", "pop": 9}, {"kod": "0181C1010", "pop": 8}],
    )
    layer("missing_code.geojson", [{"kod": "0181C1010", "pop": 9}, {"kod": None, "pop": 8}])
    # a level field that is not a number, or has no level 3
    layer("level_not_a_number.geojson", [{"kod": "1101", "niva": "tre"}])
    layer("no_level_3.geojson", [{"kod": "1", "niva": 1}, {"kod": "11", "niva": 2}])
    # a point is no area
    layer(
        "point_geometry.geojson",
        [{"kod": "0181C1010", "pop": 9}],
        geometry=lambda i: {"type": "Point", "coordinates": [LON, LAT]},
    )


if __name__ == "__main__":
    main()
