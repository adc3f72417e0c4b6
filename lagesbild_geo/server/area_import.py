"""``POST /admin/areas``: the admin imports an area layer over HTTP, as ``lagesbild areas
import`` does on the server.

The same reader (``ingest.areas.read_area_file``), the same options (as query parameters or
form fields, named as the command's options with ``_``: ``layer``, ``code_field``,
``name_field``, ``population_field``, ``level_field``, ``source_crs``, ``level_prefixes``,
``no_repair``, ``clear_population``, ``clear_names``), the same import
(``ingest.pipeline.import_areas``: a new version when deliveries depend on the layer it
changes) and the same rebuild of the public layers in the import's transaction. The file
comes as a delivery does (``server/uploads.py``: the size limit, multipart or raw, a name made
by the server).

What differs is who does it. The file is read before a connection is taken; the import runs
as ``lagesbild_admin`` (grants in ``db/functions/96_area_admin.sql``), the rebuild as
``lagesbild_publisher``, as after a reviewer's decision; the access log's ``areas.import`` is
written in the same transaction. A refused file is a 400 with ``problems`` (file and reason;
the file is the caller's name for it, never the server's path) and nothing is stored; a layer
that leaves out areas stored deliveries use is a 409, rolled back.

GDAL reads whatever it recognises, whatever the name, and some of its formats read other
files (a VRT names paths on the server). So a file's content is checked against the format
its suffix names before GDAL opens it, and a zip may hold a Shapefile's parts only.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from lagesbild_geo.access import log as access_log
from lagesbild_geo.access.identity import DB_ROLES, Identity
from lagesbild_geo.errors import InputError, Problem, error_response, log_error
from lagesbild_geo.server import restricted_db, uploads
from lagesbild_geo.server.resources import Response, document
from lagesbild_geo.settings import Settings

LOGGER = logging.getLogger(__name__)

#: The options of ``lagesbild areas import``, as parameters (``filename`` names a raw body).
OPTIONS = (
    "layer",
    "code_field",
    "name_field",
    "population_field",
    "level_field",
    "source_crs",
    "level_prefixes",
    "no_repair",
    "clear_population",
    "clear_names",
    "filename",
)
FLAGS = ("no_repair", "clear_population", "clear_names")
#: The formats read over HTTP, one file each: suffix -> format.
FORMATS = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".zip": "zipped Shapefile",
    ".fgb": "FlatGeobuf",
}
#: What a zipped Shapefile may hold (GDAL reads the .shp and its companions inside it).
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
#: A zip's contents may be this many times the upload limit (a Shapefile packs ~3:1).
UNPACKED_FACTOR = 10

AREAS = uploads.Kind(
    what="area file",
    raw_types={
        "application/geopackage+sqlite3": ".gpkg",
        "application/geo+json": ".geojson",
        "application/json": ".geojson",
        "application/zip": ".zip",
        "application/x-zip-compressed": ".zip",
        "application/flatgeobuf": ".fgb",
        "application/octet-stream": "",
    },
    suffixes=tuple(FORMATS),
    options=OPTIONS,
    default_stem="omraden",
    example="curl -F file=@nyko.gpkg",
    too_large_advice="simplify the layer, or import it with 'lagesbild areas import' on the "
    "server.",
)


@functools.cache
def _settings() -> Settings:
    """The settings of this process, read once (at the first request, not at import)."""
    return Settings()


def post(environ, identity: Identity, settings: Settings | None = None) -> Response:
    """Import the request's area file as the area layer; 201 with the import's report."""
    from lagesbild_geo.ingest.areas import AreaFileError

    settings = settings or _settings()
    limit = settings.max_delivery_bytes
    uploads.declared_length(environ, limit, AREAS)  # a 413 before anything is read
    try:
        with tempfile.TemporaryDirectory(prefix="lagesbild-areas-") as folder:
            upload = uploads.receive(environ, limit, Path(folder), AREAS)
            if upload.unknown:
                raise InputError(
                    f"Unknown parameter(s) {', '.join(upload.unknown)}; an area import takes "
                    f"{', '.join(OPTIONS)} (the options of 'lagesbild areas import')."
                )
            return _import(upload, identity, settings, limit)
    except AreaFileError as exc:
        return _refused(exc)


def _import(upload: uploads.Upload, identity: Identity, settings: Settings, limit) -> Response:
    from lagesbild_geo.ingest.area_levels import keep_stored_fields
    from lagesbild_geo.ingest.areas import parent_levels
    from lagesbild_geo.ingest.pipeline import import_areas
    from lagesbild_geo.publish import publication
    from lagesbild_geo.store.areas import layer_versions, stored_fields

    options = _options(upload.options)
    name = upload.path.name
    _check_content(upload.path, limit)
    layer = _read(upload.path, name, options)
    with restricted_db.connection(identity, "admin") as conn:
        before = _current(conn)
        frame, kept = keep_stored_fields(
            layer.frame,
            stored_fields(conn),
            names=options["name_field"] is None and not options["clear_names"],
            population=options["population_field"] is None and not options["clear_population"],
        )
        layer.report.notes += kept
        levels = [frame]
        if layer.level_prefixes:
            levels.insert(0, parent_levels(frame, layer.level_prefixes))
        n = import_areas(conn, levels, source=name, report=layer.report.to_dict())
        conn.execute("SET LOCAL ROLE lagesbild_publisher")  # the rebuild, as after a decision
        published = publication.refresh(conn, settings.k)
        conn.execute(f"SET LOCAL ROLE {DB_ROLES['admin']}")
        versions = layer_versions(conn)
        current = versions[-1]
        access_log.write(
            conn, "areas.import", "area_version", current["version"], {"source": name, "areas": n}
        )
    report = layer.report
    return document(
        201,
        {
            "version": current["version"],
            "new_version": current["version"] != before,
            "areas": n,
            "source": name,
            "published_version": published,
            "summary": report.summary().splitlines(),
            "report": report.to_dict(),
            "carried": [
                {"version": v["version"], "deliveries": v["deliveries"], "areas": v["crosswalked"]}
                for v in versions
                if v["crosswalked"]
            ],  # fmt: skip
            "versions": versions,
        },
        [("Location", "/admin/areas")],
    )


def _current(conn) -> int | None:
    (version,) = conn.execute("SELECT lagesbild.current_area_version()").fetchone()
    return version


def _read(path: Path, name: str, options: dict[str, Any]):
    """The file as ``lagesbild areas import`` reads it; GDAL's and GEOS's own failures on a
    damaged file are the file's problem (400), not the server's."""
    import pyogrio.errors
    import shapely.errors
    from pyproj.exceptions import CRSError

    from lagesbild_geo.ingest.area_levels import GUESS
    from lagesbild_geo.ingest.areas import AreaFileError, read_area_file

    try:
        return read_area_file(
            path,
            code_field=options["code_field"],
            name_field=options["name_field"],
            population_field=options["population_field"],
            level_field=options["level_field"],
            source_crs=options["source_crs"],
            layer=options["layer"],
            level_prefixes=options["level_prefixes"] or GUESS,
            repair=not options["no_repair"],
            name=name,
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            shapely.errors.GEOSException, CRSError) as exc:  # fmt: skip
        why = f"cannot be read as an area file ({type(exc).__name__})"
        raise AreaFileError(name, [Problem(name, why)]) from exc


def _options(given: dict[str, str]) -> dict[str, Any]:
    """The options as ``read_area_file`` takes them; 400 for a malformed one."""
    out: dict[str, Any] = {
        key: (given.get(key) or "").strip() or None
        for key in OPTIONS
        if key not in FLAGS and key != "filename"
    }
    out["code_field"] = out["code_field"] or "code"
    for flag in FLAGS:
        text = (given.get(flag) or "false").strip().lower()
        if text not in ("true", "false", "1", "0", "yes", "no"):
            raise InputError(f"Parameter {flag} must be true or false")
        out[flag] = text in ("true", "1", "yes")
    if out["level_prefixes"] is not None:
        parts = out["level_prefixes"].split(",")
        if not all(p.strip().isdigit() for p in parts):
            raise InputError(
                "Parameter level_prefixes must be two code lengths separated by a comma, "
                "e.g. 1,2 (without it: 4,5 for DeSO codes)"
            )
        out["level_prefixes"] = tuple(int(p) for p in parts)
    return out


def _check_content(path: Path, limit: int) -> None:
    """400 unless the file's content is the format its suffix names (and a zip holds a
    Shapefile's parts only, not much larger than the upload limit unpacked)."""
    from lagesbild_geo.ingest.areas import AreaFileError

    name = path.name
    suffix = path.suffix.lower()

    def refuse(reason: str) -> AreaFileError:
        return AreaFileError(name, [Problem(name, reason)])

    if suffix not in FORMATS:
        accepted = ", ".join(f"{kind} ({s})" for s, kind in FORMATS.items() if s != ".json")
        raise refuse(f"is not a file type read over HTTP; send {accepted}")
    with path.open("rb") as f:
        head = f.read(64)
    kind = FORMATS[suffix]
    if suffix == ".zip":
        _check_zip(path, limit, refuse)
        return
    fits = {
        ".gpkg": head.startswith(b"SQLite format 3\x00"),
        ".fgb": head.startswith(b"fgb\x03"),
    }.get(suffix, head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"))
    if not fits:
        raise refuse(f"is named as a {kind} but its content is not one")


def _check_zip(path: Path, limit: int, refuse) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise refuse("is named as a zip but cannot be read as one") from exc
    others = sorted(
        m.filename for m in members if PurePosixPath(m.filename).suffix.lower() not in
        SHAPEFILE_PARTS
    )  # fmt: skip
    if others:
        raise refuse(
            f"holds {len(others)} file(s) that are not parts of a Shapefile (e.g. "
            f"{PurePosixPath(others[0]).name}); zip the .shp, .shx, .dbf and .prj only"
        )
    if not any(m.filename.lower().endswith(".shp") for m in members):
        raise refuse("holds no .shp file; zip the .shp, .shx, .dbf and .prj of the layer")
    if sum(m.file_size for m in members) > UNPACKED_FACTOR * limit:
        raise refuse(
            f"unpacks to more than {UNPACKED_FACTOR * limit / 1024 / 1024:,.0f} MB; import "
            "it with 'lagesbild areas import' on the server"
        )


def _refused(exc) -> Response:
    """A refused file: the error table's 400 with each problem (file and reason)."""
    log_error(LOGGER, exc)
    response = error_response(exc)
    body = {
        "code": response.code,
        "type": response.code,
        "description": response.description,
        "problems": [
            {"file": p.file, "row": p.row, "column": p.column, "reason": p.reason}
            for p in exc.problems
        ],
    }
    return document(response.status, body, list(response.headers))
