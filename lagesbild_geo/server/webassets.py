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

The pages in Swedish (issue 14, item 6): pygeoapi's templates mark their labels
``{% trans %}`` and load a gettext catalogue from ``server.locale_dir``; it ships none, so a
Swedish page had English labels and ``dir="text_direction"`` (the msgid itself).
:func:`local_translations` compiles ``locale/<lang>/LC_MESSAGES/messages.po`` (Swedish labels;
English keeps pygeoapi's and only gets the direction) into the data folder. Templates under
``templates/`` in this package replace pygeoapi's of the same path (the items page: titles,
the map coloured by :mod:`lagesbild_geo.server.map_styles` with a legend); :data:`EDITS` are
small changes to pygeoapi's own (page titles, two addresses on a CDN that no page here needs).
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from lagesbild_geo.server.map_styles import styles_json

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


#: This package's templates (replace pygeoapi's of the same path) and gettext catalogues.
OWN_TEMPLATES = Path(__file__).parent / "templates"
LOCALES = Path(__file__).parent / "locale"
#: Where the items template includes the map styles from (written at start-up).
STYLES_TEMPLATE = "lagesbild/map_styles.json"

_SITE_TITLE = "{{ config['metadata']['identification']['title'] }}"
#: (template, pattern, replacement, why) applied to pygeoapi 0.24's templates. A pattern that no
#: longer matches is logged (a new pygeoapi); tests/server/test_html_pages.py sees the result.
EDITS = [
    (
        "_base.html",
        r"<title>\{% block title %\}\{% endblock %\}\{% if not self.title\(\) %\}"
        r"\{\{ config\['metadata'\]\['identification'\]\['title'\] \}\}\{% endif %\}</title>",
        # blocks render whitespace ("  " on an items page), so the site title never showed:
        # the page's own title, then the site's; the block is kept for the children
        "{% if false %}{% block title %}{% endblock %}{% endif %}"
        "<title>{% if self.title() | trim %}{{ self.title() | trim }} – {% endif %}"
        + _SITE_TITLE
        + "</title>",
        "a title on every page",
    ),
    (
        "_base.html",
        r"\s*<!--\[if lt IE 9\]>.*?<!\[endif\]-->",
        "",
        "html5shiv from cdnjs, for Internet Explorer 8",
    ),
    (
        "collections/collection.html",
        r'\s*<script src="https://unpkg\.com/leaflet-imageoverlay-ogcapi@[0-9.]+/'
        r'Leaflet\.ImageOverlay\.OGCAPI\.js"></script>',
        "",
        "fetched on every collection page from unpkg, used only for OGC API Maps links",
    ),
    (
        "collections/items/item.html",
        r"\{% block title %\}\{\{ ptitle \}\}\{% endblock %\}",
        "{% block title %}{{ ptitle }} "
        "{{ data['properties'].get('area_name') or data['properties'].get('name') or '' }}"
        "{% for link in data['links'] if link.rel == 'collection' %} – "
        "{{ link['title'] }}{% endfor %}{% endblock %}",
        "the item page said only its id",
    ),
]


def local_translations(data_dir: Path) -> str:
    """Compile the gettext catalogues into ``data_dir/locale``; return ``server.locale_dir``.

    Compiled at start-up rather than committed as ``.mo`` files: the ``.po`` files are the
    ones people edit and review, and Babel (a pygeoapi dependency) compiles them in ~10 ms.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    target = data_dir / "locale"
    shutil.rmtree(target, ignore_errors=True)
    for po in LOCALES.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(LOCALES).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as out:
            write_mo(out, catalog)
    return str(target)


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

    edits: dict[str, list] = {}
    for name, pattern, replacement, why in EDITS:
        edits.setdefault(name, []).append((re.compile(pattern, re.DOTALL), replacement, why))
    for page in (pygeoapi_dir / "templates").rglob("*.html"):
        name = page.relative_to(pygeoapi_dir / "templates").as_posix()
        text = page.read_text(encoding="utf-8")
        own = OWN_TEMPLATES / name
        local = own.read_text(encoding="utf-8") if own.is_file() else text
        for regex, replacement, why in edits.get(name, []):
            local, n = regex.subn(lambda _m, r=replacement: r, local)
            if not n:
                LOGGER.warning("%s: pygeoapi's template changed, not edited (%s)", name, why)
        for regex, relative in available:
            local = regex.sub(_STATIC_URL + relative, local)
        if local != text:
            target = templates / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(local, encoding="utf-8")
    styles = templates / STYLES_TEMPLATE
    styles.parent.mkdir(parents=True, exist_ok=True)
    # raw: the JSON's braces and quotes are not Jinja's
    styles.write_text("{% raw %}" + styles_json() + "{% endraw %}", encoding="utf-8")
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
