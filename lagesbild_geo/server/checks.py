"""The checks of a request before pygeoapi sees it: its path, its query, its body.

pygeoapi 0.24 lets much bad input through to places that answer 500 or the database's own
error text: ``offset=99999999999999999999`` reached PostgreSQL ("bigint out of range"),
``bbox=nan,nan,nan,nan`` and ``bbox=0,-100,1,100`` were searched, a 6-number bbox reached
``ST_MakeEnvelope`` with seven arguments, an id with ``%00`` made the driver fail (500 on every
collection), an execution body that is JSON but not an object (``[null]``, ``"x"``, ``1``)
failed in ``data.get`` (500: 7,136 of 7,219 fuzzed executions), Python's ``int()`` accepted
``limit=1_0`` and full-width digits, and ``resulttype=foo``, ``skipGeometry=foo`` and ``q=``
were silently ignored. Each rule here answers such a request with a 400 (413 for a body over
:data:`MAX_BODY_BYTES`) that names the parameter and says what is allowed; it never repeats
the value it refuses (the rule of issue 11), and it never needs the database.

Pure functions (no pygeoapi, no Flask): :class:`lagesbild_geo.server.middleware.PublishMiddleware`
calls them, the tests call them directly and with hypothesis. Each raises
:class:`~lagesbild_geo.errors.InputError` (or :class:`~lagesbild_geo.errors.PayloadTooLargeError`)
with the message the client gets. The limits are documented in docs/publishing.md.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, time
from urllib.parse import parse_qsl, urlencode

from lagesbild_geo.errors import InputError, PayloadTooLargeError

#: Largest ``offset``: PostgreSQL's ``integer`` (a page beyond the data is empty anyway).
MAX_OFFSET = 2**31 - 1
#: Largest body of a POST (a CQL2-JSON query on ``/items``, a process execution): 64 KiB holds
#: an ``in`` list of 5,000 nine-character DeSO codes; tests/server/test_http_limits.py sends 2,000.
MAX_BODY_BYTES = 64 * 1024
#: Largest body of a ``k-anonymity`` execution, which carries the table to protect: its
#: largest table (100,000 cells, lagesbild_geo/disclosure/request.py) of three short labels
#: is about 7 MiB as JSON rows, 3.5 MiB as CSV text.
MAX_TABLE_BODY_BYTES = 8 * 1024 * 1024
#: Executions whose body may be larger than MAX_BODY_BYTES, by process id.
EXECUTION_BODY_BYTES = {"k-anonymity": MAX_TABLE_BODY_BYTES}
#: Inputs whose texts may hold line breaks and tabs (the CSV text of ``k-anonymity``'s table).
MULTILINE_INPUTS = ("table",)
#: Deepest nesting of a JSON body (Python's parser fails with RecursionError near 1,000).
MAX_JSON_DEPTH = 64
#: ``f`` values the collections answer (pygeoapi-config.yml; pygeoapi checks them itself).
RESULT_TYPES = ("results", "hits")
BOOLEANS = ("true", "false")
FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text", "cql-json")
#: The request body keys of OGC API Processes' execute request (``execute.yaml``).
EXECUTE_KEYS = ("inputs", "outputs", "response", "subscriber")
EXECUTE_RESPONSES = ("raw", "document")
#: CRS in which a bbox is longitude/latitude (the default ``bbox-crs``).
LON_LAT_CRS = (
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
)

#: The query parameters that name a CRS (OGC API Features parts 2 and 3).
CRS_PARAMETERS = ("crs", "bbox-crs", "filter-crs")
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: Short names of a CRS that clients and people write (the README said ``crs=EPSG:3006``;
#: GDAL and QGIS print ``EPSG:3006``, WFS clients ``urn:ogc:def:crs:EPSG::3006``, OGC API
#: Common allows the safe CURIE ``[EPSG:3006]``). Matched regardless of case: ``epsg:3006``
#: is how PROJ strings and many scripts spell it, and no other CRS could be meant.
_EPSG_SHORT = re.compile(r"\[?(?:urn:ogc:def:crs:)?EPSG::?([0-9]{1,9})\]?", re.IGNORECASE)
_CRS84_SHORT = re.compile(r"\[?(?:urn:ogc:def:crs:)?(?:OGC:(?:1\.3:)?)?CRS84\]?", re.IGNORECASE)

#: C0 control characters and DEL; a filter may hold line breaks and tabs between its words.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,20}")
#: A decimal number as ASCII text: no nan, inf, underscores, full-width or other digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
_INSTANT = re.compile(rf"{_DATE}(?:[Tt ]{_TIME})?")
_SORT_KEY = re.compile(r"([+-]?)([A-Za-z_][A-Za-z0-9_]*)")


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The decoded ``name=value`` pairs of a query string; 400 when it is not UTF-8 text or
    holds control characters (PostgreSQL refuses NUL in text; none belongs in a parameter)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InputError("The query string is not UTF-8 text (percent-encoded).") from exc
    for name, value in pairs:
        if _CONTROL.search(name):
            raise InputError("A query parameter's name holds control characters.")
        pattern = _CONTROL_IN_TEXT if name == "filter" else _CONTROL
        if pattern.search(value):
            raise InputError(f"Parameter {name}: control characters (such as NUL) are not allowed.")
    return pairs


def crs_uri(value: str) -> str:
    """The URI form of a CRS named in one of :data:`CRS_PARAMETERS`.

    pygeoapi 0.24 compares these parameters with its configured URIs as text, so
    ``crs=EPSG:3006`` was a 400 "CRS not supported", ``bbox-crs=EPSG:3006`` a 400 and
    ``filter-crs=EPSG:3006`` a 400 "Bad CQL text". A short name becomes the URI; anything else
    is left as it is for pygeoapi to accept or refuse (``EPSG:9999`` then gets its 400 naming
    the supported ones).

    >>> crs_uri("EPSG:3006")
    'http://www.opengis.net/def/crs/EPSG/0/3006'
    >>> crs_uri("urn:ogc:def:crs:EPSG::4326") == crs_uri("epsg:4326") == EPSG_URI.format(code=4326)
    True
    >>> crs_uri("CRS84") == CRS84_URI, crs_uri("EPSG:3006x")
    (True, 'EPSG:3006x')
    """
    text = value.strip()
    if match := _EPSG_SHORT.fullmatch(text):
        return EPSG_URI.format(code=int(match[1]))
    if _CRS84_SHORT.fullmatch(text):
        return CRS84_URI
    return value


def with_crs_uris(query: str) -> str:
    """``query`` with every short CRS name of :data:`CRS_PARAMETERS` in its URI form; the
    same text when there is none (the cache key and pygeoapi then see what was sent)."""
    if "crs=" not in query.lower():
        return query
    pairs = query_pairs(query)
    rewritten = [(n, crs_uri(v) if n in CRS_PARAMETERS else v) for n, v in pairs]
    return query if rewritten == pairs else urlencode(rewritten)


#: An empty segment (``//``) or a dot segment (``/./``, ``/../``) anywhere in a path.
_ODD_SEGMENT = re.compile(r"//|/\.\.?(?:/|$)")


def check_path(path: str) -> None:
    """400 for a path with control characters (an item or job id with ``%00``: every
    collection answered 500), or with an empty or dot segment: pygeoapi answers
    ``//collections/x/items`` and ``/collections/./x/items`` as the canonical path, so such a
    spelling would pass every check made by path (the parameters of ``/items``, the
    restricted layers' no-cache rule) unchecked."""
    if _CONTROL.search(path):
        raise InputError(
            "The path holds control characters (such as NUL): no collection, item, process or "
            "job has such an id."
        )
    if _ODD_SEGMENT.search(path):
        raise InputError(
            "The path has an empty, '.' or '..' segment (such as //); ask for the path with "
            "single slashes and no dot segments."
        )


def check_items_query(pairs: list[tuple[str, str]], columns: list[str], geometry: str) -> None:
    """The query of ``/collections/{id}/items``: each standard parameter's form and range.

    ``columns`` are the collection's properties (``geometry`` among them or not). Property
    filters (``indicator=ran``) are checked against the column types by the provider; unknown
    parameters by the middleware.
    """
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise InputError(f"Parameter {name} is given more than once; give it once.")
        seen.add(name)
    given = dict(pairs)
    properties = [c for c in columns if c != geometry]
    if "limit" in given:
        limit = given["limit"]
        if not _DIGITS.fullmatch(limit) or int(limit) < 1:
            raise InputError(
                "Parameter limit must be a whole number from 1 (a larger one than the server's "
                "maximum gives the maximum)."
            )
    if "offset" in given:
        offset = given["offset"]
        if not _DIGITS.fullmatch(offset) or int(offset) > MAX_OFFSET:
            raise InputError(f"Parameter offset must be an integer 0..{MAX_OFFSET}.")
    if "bbox" in given:
        _check_bbox(given["bbox"], given.get("bbox-crs"))
    if "datetime" in given:
        check_datetime(given["datetime"])
    if "sortby" in given:
        _check_sortby(given["sortby"], properties)
    if "properties" in given:
        _check_names("properties", given["properties"], properties)
    for name, allowed in (
        ("resulttype", RESULT_TYPES),
        ("skipGeometry", BOOLEANS),
        ("filter-lang", FILTER_LANGS),
    ):
        if name in given and given[name].lower() not in allowed:
            raise InputError(f"Parameter {name} must be one of: {', '.join(allowed)}.")
    if "q" in given:
        raise InputError(
            "Parameter q (free-text search) is not supported by these collections: select by "
            "a property (e.g. indicator=ran) or with filter."
        )
    if "filter" in given and not given["filter"].strip():
        raise InputError("Parameter filter is empty: give a CQL2 condition or leave it out.")


def _check_bbox(text: str, bbox_crs: str | None) -> None:
    parts = text.split(",")
    if len(parts) == 6:
        raise InputError(
            "Parameter bbox: give 4 numbers (minx,miny,maxx,maxy); the published areas have no "
            "heights, so a 6-number bbox has nothing to select on."
        )
    if len(parts) != 4 or not all(_NUMBER.fullmatch(p.strip()) for p in parts):
        raise InputError(
            "Parameter bbox must be 4 decimal numbers minx,miny,maxx,maxy (no NaN or infinity)."
        )
    minx, miny, maxx, maxy = (float(p) for p in parts)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InputError("Parameter bbox: every number must be finite.")
    if miny > maxy:
        raise InputError("Parameter bbox: miny must not be greater than maxy.")
    if bbox_crs is None or bbox_crs in LON_LAT_CRS:
        if not all(-180 <= x <= 180 for x in (minx, maxx)):
            raise InputError("Parameter bbox: longitudes (minx, maxx) must lie in -180..180.")
        if not all(-90 <= y <= 90 for y in (miny, maxy)):
            raise InputError("Parameter bbox: latitudes (miny, maxy) must lie in -90..90.")


def check_datetime(text: str) -> None:
    """An RFC 3339 date or date-time, or an interval ``start/end`` with ``..`` (or nothing)
    for an open end, as OGC API Features defines ``datetime``."""
    usage = (
        "Parameter datetime must be an RFC 3339 date or date-time (2026-02-09, "
        "2026-02-09T12:00:00Z) or an interval start/end with .. for an open end "
        "(2026-02-09/2026-02-15, ../2026-02-15)."
    )
    ends = text.split("/")
    if len(ends) > 2 or (len(ends) == 1 and ends[0] in ("", "..")):
        raise InputError(usage)
    instants: list[datetime | None] = []
    for end in ends:
        if end in ("", ".."):
            instants.append(None)
            continue
        if not _INSTANT.fullmatch(end):
            raise InputError(usage)
        try:
            instants.append(_instant(end))
        except ValueError as exc:
            raise InputError(usage + " A month, day or time is out of range.") from exc
    start, finish = instants[0], instants[-1]
    if len(instants) == 2 and start is not None and finish is not None and start > finish:
        raise InputError("Parameter datetime: the interval ends before it starts.")


def _instant(text: str) -> datetime:
    """The instant as an aware datetime (a date: its midnight in UTC, for ordering only)."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))


def _check_sortby(text: str, properties: list[str]) -> None:
    seen: set[str] = set()
    for key in text.split(","):
        # "+name" arrives as " name" when the client did not encode the plus sign
        match = _SORT_KEY.fullmatch(key.strip())
        if match is None or match[2] not in properties:
            raise InputError(
                "Parameter sortby must be a comma-separated list of properties, each with an "
                f"optional + or - (e.g. -week_start,area_code); the properties: "
                f"{', '.join(properties)}."
            )
        if match[2] in seen:
            raise InputError("Parameter sortby names a property more than once.")
        seen.add(match[2])


def _check_names(parameter: str, text: str, properties: list[str]) -> None:
    names = [n.strip() for n in text.split(",")]
    if not all(n in properties for n in names):
        raise InputError(
            f"Parameter {parameter} must be a comma-separated list of the collection's "
            f"properties: {', '.join(properties)}."
        )
    if len(set(names)) != len(names):
        raise InputError(f"Parameter {parameter} names a property more than once.")


# -- bodies ------------------------------------------------------------------------------------


def body_length(environ, limit: int = MAX_BODY_BYTES) -> int | None:
    """The declared length of the request body; None when it is sent in chunks. 400 when
    Content-Length is not a number; 413 when it is above ``limit``."""
    declared = environ.get("CONTENT_LENGTH")
    if not declared:
        return None if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() else 0
    if not _DIGITS.fullmatch(declared.strip()):
        raise InputError("Content-Length is not a number.")
    length = int(declared)
    if length > limit:
        raise _too_large(limit)
    return length


def read_body(environ, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read once (at most ``limit`` + 1 bytes) and put back for pygeoapi."""
    import io

    length = body_length(environ, limit)
    stream = environ["wsgi.input"]
    body = stream.read(limit + 1 if length is None else length) if length != 0 else b""
    if len(body) > limit:
        raise _too_large(limit)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def _too_large(limit: int) -> PayloadTooLargeError:
    advice = (
        "split the query (e.g. fewer area codes per in-list)"
        if limit == MAX_BODY_BYTES
        else "split the table (e.g. by one dimension), or send it as CSV text"
    )
    return PayloadTooLargeError(
        f"The request body is larger than {limit // 1024:,} KiB, the largest this server "
        f"accepts here; {advice}."
    )


def parse_json_body(body: bytes, what: str):
    """The JSON document of a body: 400 when it is not UTF-8 JSON, or nested deeper than
    :data:`MAX_JSON_DEPTH` (Python's parser then fails with RecursionError, a 500)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"The {what} is not UTF-8 text.") from exc
    if _depth_exceeds(text, MAX_JSON_DEPTH):
        raise InputError(f"The {what} is nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"The {what} is not valid JSON.") from exc


def _depth_exceeds(text: str, limit: int) -> bool:
    """True when brackets outside strings nest deeper than ``limit`` (a linear scan)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def check_execute_body(body: bytes) -> None:
    """A process execution's body: an execute request of OGC API Processes (a JSON object with
    ``inputs`` an object), no control characters in its texts, no ``subscriber``.

    ``subscriber`` is refused: pygeoapi would send HTTP requests to the URLs it names, from
    inside the municipality's network, for anyone who asks (the processes need no login).
    Poll ``/jobs/{jobId}`` instead.
    """
    document = parse_json_body(body, "execution request body")
    if not isinstance(document, dict):
        raise InputError(
            'The execution request body must be a JSON object: {"inputs": {"indicator": '
            '"skadegorelse", ...}} (see the process description, /processes/{id}).'
        )
    unknown = sorted(set(document) - set(EXECUTE_KEYS))
    if unknown:
        raise InputError(
            "The execution request body has unknown members; it may have: "
            f"{', '.join(EXECUTE_KEYS)}."
        )
    inputs = document.get("inputs", {})
    if inputs is not None and not isinstance(inputs, dict):
        raise InputError(
            "Member inputs of the execution request must be a JSON object of input names and "
            'values, e.g. {"indicator": "skadegorelse"}.'
        )
    outputs = document.get("outputs")
    if outputs is not None and not isinstance(outputs, dict):
        raise InputError("Member outputs of the execution request must be a JSON object.")
    if "response" in document and document["response"] not in EXECUTE_RESPONSES:
        raise InputError(
            "Member response of the execution request must be one of: "
            f"{', '.join(EXECUTE_RESPONSES)}."
        )
    if document.get("subscriber") is not None:
        raise InputError(
            "Member subscriber (callbacks) is not supported by this server: run asynchronously "
            "(Prefer: respond-async) and poll /jobs/{jobId}."
        )
    where = _control_character_at(inputs or {}, "")
    if where:
        raise InputError(f"Input {where}: control characters (such as NUL) are not allowed.")


def _control_character_at(value, where: str) -> str | None:
    """The path (``indicators.0``) of the first text with a control character; ``where`` is
    the path so far (empty at the top, where a key with one is named ``inputs``). Line breaks
    and tabs are allowed in :data:`MULTILINE_INPUTS`."""
    if isinstance(value, str):
        multiline = where.split(".", 1)[0] in MULTILINE_INPUTS
        return where if (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value) else None
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return None
    for key, sub in items:
        if _CONTROL.search(str(key)):
            return where or "inputs"
        found = _control_character_at(sub, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None
