"""The style files by name, written to ``sld/`` and served at ``/styles/<file>``; the links.

:func:`generate` is the one source of the files: ``lagesbild styles write`` writes its bytes
(committed in the repository's ``sld/``; tests/styles/test_files.py fails when they differ),
and the service serves the same bytes from memory (:mod:`lagesbild_geo.server.styles`), so
what an actor downloads is what is committed, and no path of the file system is ever built
from a request.

Which files a collection links is decided by its kind (:func:`kind_of`), not its full name,
so the per-indicator layers (``hotspots-<id>``, ``trends-<id>``, ``situation-<id>``) link the
same files as the stacked layer of their kind without a line here for each indicator.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.styles import qml, rules, sld

PREFIX = "/styles"
#: File extension -> media type (as linked and as served). The SLD's is OGC's registered
#: type with the version, as WMS 1.1 capabilities name it; QGIS's QML has no registered type.
MEDIA_TYPES = {
    ".sld": "application/vnd.ogc.sld+xml;version=1.0",
    ".qml": "application/vnd.qgis.qml",
}
#: The wide situation layer's files, one per indicator.
WIDE = "situation-wide"
#: Collection kinds with a style of their own (:func:`kind_of`).
KINDS = ("hotspots", "trends", "situation", "observations", "areas")


@cache
def generate() -> dict[str, bytes]:
    """Every style file: relative path (``hotspots.sld``, ``situation-wide/ran.qml``) ->
    bytes, from the catalogue's indicators (in its order)."""
    out: dict[str, bytes] = {}
    for style in rules.all_styles(list(load_catalogue().indicators.values())):
        out[f"{style.name}.sld"] = sld.document(style)
        out[f"{style.name}.qml"] = qml.document(style)
    return out


def media_type(name: str) -> str:
    return MEDIA_TYPES[Path(name).suffix]


def write(directory: Path) -> tuple[list[Path], list[Path]]:
    """Write every file under ``directory``; remove style files there that are no longer
    generated (an indicator taken out of the catalogue). Returns (written, removed)."""
    files = generate()
    written, removed = [], []
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
        written.append(path)
    for pattern in ("*.sld", "*.qml", f"{WIDE}/*.sld", f"{WIDE}/*.qml"):
        for path in sorted(directory.glob(pattern)):
            if path.relative_to(directory).as_posix() not in files:
                path.unlink()
                removed.append(path)
    return written, removed


def kind_of(collection: str) -> str | None:
    """The kind of style a collection gets: its own name, or the part before the first
    ``-`` of a per-indicator layer (``hotspots-ran`` -> ``hotspots``).

    >>> kind_of("hotspots-skadegorelse"), kind_of("situation"), kind_of("my-observations")
    ('hotspots', 'situation', None)
    """
    if collection in KINDS:
        return collection
    kind, _, indicator = collection.partition("-")
    return kind if indicator and kind in ("hotspots", "trends", "situation") else None


def style_names(collection: str) -> list[tuple[str, str]]:
    """The style files (base names) a collection links, with the Swedish subject of each:
    the wide ``situation`` one per indicator, every other kind one."""
    kind = kind_of(collection)
    if kind is None:
        return []
    if collection == "situation":
        return [(f"{WIDE}/{i.id}", i.name_sv) for i in load_catalogue().indicators.values()]
    return [(kind, "")]


#: The Swedish and English titles of a link, by extension.
_TITLES = {
    ".sld": ("Stil för GIS (SLD 1.0)", "Style (SLD 1.0)"),
    ".qml": ("Stil för QGIS (QML)", "Style for QGIS (QML)"),
}


def style_links(server_url: str, collection: str) -> list[dict]:
    """The collection's ``rel="stylesheet"`` links (SLD and QML of each style), absolute
    with the server's URL as the configuration writes it (like the schema links)."""
    base = f"{server_url.rstrip('/')}{PREFIX}"
    links = []
    for name, subject in style_names(collection):
        for extension, (sv, en) in _TITLES.items():
            title = f"{sv}: {subject} / {en}: {name.rpartition('/')[2]}" if subject else (
                f"{sv} / {en}")  # fmt: skip
            links.append({
                "type": MEDIA_TYPES[extension], "rel": "stylesheet", "title": title,
                "href": f"{base}/{name}{extension}",
            })  # fmt: skip
    return links
