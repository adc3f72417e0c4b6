"""Area geometries served from a per-process cache, and pygeoapi's JSON written by orjson."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import psycopg
import pytest
from pygeoapi.util import to_json as pygeoapi_to_json
from sqlalchemy import create_engine

from lagesbild_geo.server.geojson import AreaGeometries, GeoJSONGeometry, to_json
from tests.conftest import migrated_database
from tests.publish_data import load


@pytest.fixture(scope="module")
def published(pg_server):
    with migrated_database(pg_server, "lagesbild_features_test") as url:
        with psycopg.connect(url) as conn:
            load(conn)
        yield url


def test_cache_follows_the_publication_version(published):
    cache = AreaGeometries()
    engine = create_engine(published.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect() as conn:
        first = cache.get(conn, "db")
        (count,) = conn.exec_driver_sql("SELECT count(*) FROM publish.areas").one()
        assert len(first) == count == 60
        assert cache.get(conn, "db") is first  # same version: not read again
    with psycopg.connect(published, autocommit=True) as db:
        (x,) = db.execute("SELECT ST_XMin(geom) FROM publish.areas WHERE code = '1101'").fetchone()
        db.execute("UPDATE publish.areas SET geom = ST_Translate(geom, 0.5, 0) WHERE code = '1101'")
        db.execute("UPDATE publish.state SET version = version + 1")
    with engine.connect() as conn:
        moved = cache.get(conn, "db")
    engine.dispose()
    assert moved is not first
    xs = [p[0] for p in moved["1101"]["coordinates"][0][0]]
    assert min(xs) == pytest.approx(x + 0.5, abs=1e-8)
    assert moved["1102"] == first["1102"]


def test_to_json_writes_what_pygeoapi_writes():
    geometry = GeoJSONGeometry(b'{"type":"Point","coordinates":[18.063240001,59.334591]}')
    content = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "week_start": date(2026, 2, 9),
                    "at": datetime(2026, 2, 9, 12, 30),
                    "value": Decimal("4.5"),
                    "name": "Söder <script>",
                    "suppressed": True,
                    "n": None,
                },
                "id": "1101:2026-W07",
                "geometry": geometry,
            }
        ],
        "numberReturned": 1,
    }
    ours, theirs = to_json(content).decode(), pygeoapi_to_json(content)
    # the same document, except that < and > are JSON escapes, not HTML entities: the text
    # reads back as it was (pygeoapi's "&lt;script&gt;" is no longer the name)
    assert json.loads(ours) == json.loads(theirs.replace("&lt;", "<").replace("&gt;", ">"))
    assert json.loads(ours)["features"][0]["properties"]["name"] == "Söder <script>"
    assert "\\u003cscript\\u003e" in ours and "<" not in ours and "&lt;" not in ours
    assert '"coordinates":[18.063240001,59.334591]' in ours  # the stored text, as it was
    pretty = to_json(content, pretty=True)
    assert pretty == pygeoapi_to_json(content, pretty=True).replace("&lt;", "\\u003c").replace(
        "&gt;", "\\u003e"
    )
