"""Benchmark: how long QGIS 3.22 takes to open each public layer, and how it types the fields.

Usage (against a running service, e.g. the demo of ``./run.sh``)::

    python3 bench/qgis_open.py [--url http://127.0.0.1:5000] [--only trends-skadegorelse ...]
        [--provider OAPIF|ogr] [--json]

Run with Debian's Python and python3-qgis (QGIS 3.22); started with another Python (the
project's venv has no QGIS) the script runs itself again with ``/usr/bin/python3``, headless
(``QT_QPA_PLATFORM=offscreen``) in a throw-away profile.

The layers: every per-indicator layer (``situation-<id>``, ``hotspots-<id>``, ``trends-<id>``)
the service lists in ``/collections``, and ``situation``, ``hotspots``, ``trends``, ``areas``.
Each is opened the way a GIS person adds it from *Datakällshanteraren → WFS / OGC API –
Features* (``QgsVectorLayer("url=... typename=<id>", ..., "OAPIF")``: QGIS reads the landing
page, the OpenAPI document, the collection and a sample page of 10), then every feature is
read as drawing the whole layer does (QGIS's own paging). Printed per layer: the seconds to
open, the seconds to read every feature, their sum (goal: < 5 s), the feature count and the
numeric fields (by the service's feature schema, ``/feature-schemas/<id>``) QGIS typed as text.
``--provider ogr`` opens the layers through GDAL's OAPIF driver inside QGIS instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request

SYSTEM_PYTHON = "/usr/bin/python3"
STACKED = ("situation", "hotspots", "trends", "areas")
PREFIXES = ("situation-", "hotspots-", "trends-")
#: QVariant types QGIS gives numeric fields: Int, UInt, LongLong, ULongLong, Double
NUMERIC_QVARIANTS = {2, 3, 4, 5, 6}
GOAL_S = 5.0


def _json(url: str):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.load(answer)


def layer_ids(url: str) -> list[str]:
    """The layers this benchmark opens, in the order /collections lists them."""
    listed = [c["id"] for c in _json(f"{url}/collections?f=json")["collections"]]
    return [c for c in listed if c in STACKED or c.startswith(PREFIXES)]


def numeric_fields(url: str, collection: str) -> list[str]:
    """The fields the service's feature schema types as integer or number."""
    schema = _json(f"{url}/feature-schemas/{collection}")
    fields = schema["properties"]["properties"]["properties"]
    return [name for name, f in fields.items() if f.get("type") in ("integer", "number")]


def open_layers(url: str, collections: list[str], provider: str) -> list[dict]:
    """Open each layer in QGIS and read it (see the module docstring); one dict per layer."""
    from qgis.core import QgsApplication, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    results = []
    for collection in collections:
        numeric = numeric_fields(url, collection)
        started = time.perf_counter()
        if provider == "ogr":
            layer = QgsVectorLayer(f"OAPIF:{url}/collections/{collection}", collection, "ogr")
        else:
            layer = QgsVectorLayer(f"url={url} typename={collection}", collection, "OAPIF")
        opened = time.perf_counter() - started
        out = {"collection": collection, "valid": layer.isValid(), "open_s": opened}
        if layer.isValid():
            started = time.perf_counter()
            count = sum(1 for _ in layer.getFeatures())
            out["read_s"] = time.perf_counter() - started
            fields = {f.name(): int(f.type()) for f in layer.fields()}
            out |= {
                "count": count,
                "fields": fields,
                "text_numeric": [n for n in numeric if fields.get(n) not in NUMERIC_QVARIANTS],
            }
        out["total_s"] = out["open_s"] + out.get("read_s", 0.0)
        results.append(out)
        del layer
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--only", nargs="*", help="these collections instead of all")
    parser.add_argument("--provider", choices=("OAPIF", "ogr"), default="OAPIF")
    parser.add_argument("--json", action="store_true", help="one JSON line, for the tests")
    args = parser.parse_args()
    try:
        import qgis.core  # noqa: F401
    except ImportError:
        qgis_missing = True
    else:
        qgis_missing = False
    if qgis_missing:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        env.pop("PYTHONPATH", None)  # Debian's Python with its own QGIS, not a venv's path
        with tempfile.TemporaryDirectory(prefix="qgis-open-") as home:
            env["HOME"] = home  # a throw-away profile
            done = os.spawnve(os.P_WAIT, SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv], env)
        raise SystemExit(done)
    url = args.url.rstrip("/")
    collections = args.only or layer_ids(url)
    results = open_layers(url, collections, args.provider)
    if args.json:
        print(json.dumps(results), flush=True)
    else:
        print(f"QGIS ({args.provider}) against {url}: {len(results)} layers")
        print(f"{'layer':40} {'open s':>7} {'read s':>7} {'total s':>8} {'features':>8}  text")
        for r in results:
            print(
                f"{r['collection']:40} {r['open_s']:7.2f} {r.get('read_s', 0):7.2f}"
                f" {r['total_s']:8.2f} {r.get('count', '-'):>8}  "
                f"{','.join(r.get('text_numeric', [])) if r['valid'] else 'INVALID'}"
            )
        worst = max(results, key=lambda r: r["total_s"])
        print(
            f"slowest: {worst['collection']} {worst['total_s']:.2f} s (goal < {GOAL_S:.0f} s);"
            f" numeric fields typed as text: {sum(len(r.get('text_numeric', [])) for r in results)}"
        )
        sys.stdout.flush()
    os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out


if __name__ == "__main__":
    main()
