"""pygeoapi's HTML pages without the internet: Leaflet and Bootstrap served by the service.

pygeoapi's templates load Leaflet, its marker clusters and Bootstrap from unpkg.com. A
municipal network often blocks such sites, and then every map preview is blank. Debian packages
the same libraries (``libjs-leaflet``, ``libjs-leaflet.markercluster``, ``libjs-bootstrap5``,
installed by ``run.sh`` and the Dockerfile) under ``/usr/share/javascript``. At start-up,
:func:`local_web_assets` copies them and pygeoapi's own static files into the data folder, and
writes a copy of every pygeoapi template that names one of those URLs, with the URL pointing at
``/static/vendor/...`` instead. pygeoapi looks in that template folder first and falls back to
its own for the others (``server.templates``), so the pages stay pygeoapi's pages.

A library that is not installed keeps its CDN address (logged), so nothing breaks elsewhere.
The background map tiles (``server.map.url``) still come from their tile server. One template
is replaced for another reason: the JSON-LD of an items page (:data:`ITEMS_JSONLD`).
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

LOGGER = logging.getLogger(__name__)

_STATIC_URL = "{{ config['server']['url'] }}/static/vendor/"
#: CDN address in pygeoapi's templates → file under the JavaScript folder (served from
#: ``/static/vendor/`` with the same relative path). Versions in the address are ignored.
REPLACEMENTS = [
    (r"https://unpkg\.com/leaflet@[0-9.]+/dist/leaflet\.css", "leaflet/leaflet.css"),
    (r"https://unpkg\.com/leaflet@[0-9.]+/dist/leaflet\.js", "leaflet/leaflet.js"),
    (
        r"https://unpkg\.com/leaflet\.markercluster(?:@[0-9.]+)?/dist/MarkerCluster\.css",
        "leaflet/MarkerCluster.css",
    ),
    (
        r"https://unpkg\.com/leaflet\.markercluster(?:@[0-9.]+)?/dist/MarkerCluster\.Default\.css",
        "leaflet/MarkerCluster.Default.css",
    ),
    (
        r"https://unpkg\.com/leaflet\.markercluster(?:@[0-9.]+)?/dist/"
        r"leaflet\.markercluster(?:-src)?\.js",
        "leaflet/leaflet.markercluster.js",
    ),
    (
        r"https://unpkg\.com/bootstrap@5[0-9.]*/dist/css/bootstrap\.min\.css",
        "bootstrap5/css/bootstrap.min.css",
    ),
]
#: Files that come along with a replaced one (Leaflet's CSS finds its icons in ``images/``).
COMPANIONS = {"leaflet/leaflet.css": ["leaflet/images"]}

#: pygeoapi 0.24's JSON-LD template of an items page writes a comma after ``@id`` and then
#: nothing when the page has no features: ``f=jsonld`` of an empty page was not JSON. It also
#: left every property out. Replaced by the document pygeoapi prepared, serialised as JSON (as
#: its own template of one item does).
ITEMS_JSONLD = "collections/items/index.jsonld"
ITEMS_JSONLD_TEMPLATE = "{{ to_json(data, config.server.pretty_print) | safe }}\n"


def local_web_assets(data_dir: Path, js_dir: Path) -> dict[str, str]:
    """Write ``templates/`` and ``static/`` under ``data_dir``; return ``server.templates``.

    ``js_dir`` is where the libraries are installed (``Settings.js_dir``, Debian's
    ``/usr/share/javascript`` unless ``LAGESBILD_JS_DIR`` says otherwise).
    """
    import pygeoapi

    pygeoapi_dir = Path(pygeoapi.__file__).parent
    templates, static = data_dir / "templates", data_dir / "static"
    for folder in (templates, static):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(pygeoapi_dir / "static", static)

    available: list[tuple[re.Pattern[str], str]] = []
    for pattern, relative in REPLACEMENTS:
        if (js_dir / relative).is_file():
            available.append((re.compile(pattern), relative))
            for item in [relative, *COMPANIONS.get(relative, [])]:
                _copy(js_dir / item, static / "vendor" / item)
        else:
            LOGGER.warning("%s not found: HTML pages load it from the internet", js_dir / relative)

    for page in (pygeoapi_dir / "templates").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        local = text
        for regex, relative in available:
            local = regex.sub(_STATIC_URL + relative, local)
        if local != text:
            target = templates / page.relative_to(pygeoapi_dir / "templates")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(local, encoding="utf-8")
    items_jsonld = templates / ITEMS_JSONLD
    items_jsonld.parent.mkdir(parents=True, exist_ok=True)
    items_jsonld.write_text(ITEMS_JSONLD_TEMPLATE, encoding="utf-8")
    return {"path": str(templates), "static": str(static)}


def _copy(source: Path, target: Path) -> None:
    """Copy a file or folder, following Debian's symlinks into other packages."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)
