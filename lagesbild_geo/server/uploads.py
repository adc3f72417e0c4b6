"""A file from an HTTP request body, onto disk for the pipeline that reads it.

``POST /deliveries`` (a delivery for the ingest) and ``POST /admin/areas`` (an area layer for
the area import) take the file two ways (docs/access.md): ``multipart/form-data`` with a
field ``file`` (``curl -F file=@leverans.xlsx``), or the raw bytes with a content type of
the kind and the name in ``Content-Disposition`` or ``?filename=``. Either way the body is
bounded by the settings' ``max_delivery_bytes``: a declared ``Content-Length`` above it is a
413 before a byte is read, a chunked body is counted while it is read and refused as soon as
it passes the limit. The file is written under a name made here (:func:`safe_name`) in a
folder of its own: nothing the client sends becomes a path. What differs between the two is
a :class:`Kind`: the content types, suffixes and options it takes and the words of its
messages.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.formparser import parse_form_data

from lagesbild_geo.errors import InputError, PayloadTooLargeError

#: Read and written at a time.
CHUNK = 1 << 20
#: Content types of a raw delivery, and the suffix the pipeline reads such a file by.
RAW_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "text/csv": ".csv",
    "text/plain": ".txt",
    "text/tab-separated-values": ".tsv",
    "application/csv": ".csv",
    "application/octet-stream": "",
}
#: The suffixes the pipeline reads (ingest/read.py); any other is its problem to report.
KNOWN_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt", ".tsv")
#: Options of a delivery, in the query string or as form fields.
OPTIONS = ("replaces", "sheet", "crs", "allow_unplaced", "filename")
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class Kind:
    """What a request's file is: the content types of a raw body (with the suffix the reading
    pipeline knows such a file by), the suffixes it reads, the options that may come with
    it, and how messages name it."""

    #: The file in messages: "the request has no body: send the ``what`` as the body".
    what: str
    raw_types: dict[str, str]
    suffixes: tuple[str, ...]
    options: tuple[str, ...]
    #: The stem of a name made when nothing of the client's is left.
    default_stem: str
    #: How to send it, for the messages: a curl command line.
    example: str
    #: What to do about a file above the limit.
    too_large_advice: str


DELIVERY = Kind(
    what="delivery file",
    raw_types=RAW_TYPES,
    suffixes=KNOWN_SUFFIXES,
    options=OPTIONS,
    default_stem="leverans",
    example="curl -F file=@leverans.xlsx",
    too_large_advice="split it, e.g. by period, into several deliveries.",
)


@dataclass
class Upload:
    """The delivered file on disk, the options that came with it, and the names of the
    parameters and form fields that are not options of its kind (for a caller that refuses
    them)."""

    path: Path
    options: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


def safe_name(client_name: str | None, suffix: str, kind: Kind = DELIVERY) -> str:
    """A file name for the client's one: its last path part, letters, digits, ``. - _`` and
    spaces only, at most :data:`MAX_NAME` characters; ``leverans`` when nothing is left. The
    suffix is the client's when the pipeline knows it (``kind.suffixes``), else ``suffix``
    (from the content type).

    >>> safe_name("../../etc/Vecka 7 (polisen).CSV", "")
    'Vecka 7 polisen.CSV'
    >>> safe_name("C:\\\\Users\\\\x\\\\brott.xlsx", ".csv"), safe_name(None, ".xlsx")
    ('brott.xlsx', 'leverans.xlsx')
    """
    name = unicodedata.normalize("NFC", (client_name or "").replace("\\", "/")).split("/")[-1]
    name = _UNSAFE.sub("", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot or f".{ext.lower()}" not in kind.suffixes:
        stem, ext = name, suffix.lstrip(".")
    stem = stem.strip(" .")[: MAX_NAME - len(ext) - 1] or kind.default_stem
    return f"{stem}.{ext}" if ext else stem


def receive(environ, limit: int, folder: Path, kind: Kind = DELIVERY) -> Upload:
    """The file of the request, written into ``folder`` (an empty folder of the caller's,
    removed by it). 400 for a body that is empty, malformed or of another type; 413 above
    ``limit`` bytes."""
    options = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    content_type = _content_type(environ.get("CONTENT_TYPE", ""))
    body = folder / "body"
    with body.open("w+b") as spooled:
        size = _spool(environ, limit, spooled, kind)
        if size == 0:
            raise InputError(f"The request has no body: send the {kind.what} as the body")
        spooled.seek(0)
        if content_type == "multipart/form-data":
            return _from_form(environ, spooled, size, limit, folder, options, kind)
        if content_type not in kind.raw_types:
            typed = [t for t in kind.raw_types if t != "application/octet-stream"]
            raise InputError(
                f"Content-Type {content_type or '(none)'} is not a {kind.what}: send "
                "multipart/form-data with a field 'file', or the file itself as "
                f"{', '.join(typed[:-1])} or {typed[-1]}"
            )
        name = options.get("filename") or _disposition_name(environ)
        # application/octet-stream without a name keeps no suffix: the pipeline refuses it
        # as an unknown file type, naming the accepted ones
        path = folder / safe_name(name, kind.raw_types[content_type], kind)
    body.rename(path)
    return Upload(path, _known(options, kind), _unknown(options, kind))


def _known(options: dict[str, str], kind: Kind) -> dict[str, str]:
    return {k: v for k, v in options.items() if k in kind.options}


def _unknown(options, kind: Kind) -> list[str]:
    return sorted(set(options) - set(kind.options))


def declared_length(environ, limit: int, kind: Kind = DELIVERY) -> int | None:
    """``Content-Length`` as a number (None: chunked); 400 when it is not one, 413 when it is
    above ``limit`` -- before anything is read."""
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        return None
    if not declared.isascii() or not declared.isdigit():
        raise InputError("Content-Length is not a number")
    if int(declared) > limit:
        raise too_large(limit, kind)
    return int(declared)


def too_large(limit: int, kind: Kind = DELIVERY) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The {kind.what} is larger than {limit / 1024 / 1024:,.0f} MB, the largest this "
        f"server accepts; {kind.too_large_advice}"
    )


def _spool(environ, limit: int, out: BinaryIO, kind: Kind) -> int:
    """Copy the body to ``out`` (at most ``limit`` bytes); return its size."""
    length = declared_length(environ, limit, kind)
    stream = environ["wsgi.input"]
    left = limit + 1 if length is None else length
    size = 0
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            break
        size += len(chunk)
        left -= len(chunk)
        if size > limit:
            raise too_large(limit, kind)
        out.write(chunk)
    if length is not None and size < length:
        raise InputError(f"The body ended after {size:,} of the {length:,} bytes announced")
    return size


def _from_form(
    environ, body: BinaryIO, size: int, limit, folder: Path, options, kind: Kind
) -> Upload:
    """The field ``file`` of a multipart body (and the options among its other fields)."""
    form_environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
        "CONTENT_LENGTH": str(size),
        "wsgi.input": body,
    }
    try:
        _, form, files = parse_form_data(
            form_environ,
            stream_factory=lambda *_args, **_kw: (folder / "part").open("w+b"),
            max_content_length=limit,
            max_form_memory_size=64 * 1024,
            max_form_parts=len(kind.options) + 2,
            silent=False,
        )
    except (HTTPException, ValueError) as exc:
        raise InputError(
            "The multipart/form-data body cannot be read (a boundary, header or part is "
            f"malformed); send the file with {kind.example}"
        ) from exc
    upload = files.get("file")
    if upload is None:
        raise InputError(f"The form has no field 'file': send it with {kind.example}")
    fields = {k: form[k] for k in form if k in kind.options}
    suffix = kind.raw_types.get((upload.mimetype or "").lower(), "")
    path = folder / safe_name(fields.get("filename") or upload.filename, suffix, kind)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.stream, out, CHUNK)
    upload.close()
    if path.stat().st_size == 0:
        raise InputError("The field 'file' of the form is empty (0 bytes)")
    merged = {**_known(options, kind), **fields}
    unknown = _unknown({**options, **{k: "" for k in form}, **{k: "" for k in files}}, kind)
    return Upload(path, merged, [name for name in unknown if name != "file"])


def _content_type(header: str) -> str:
    """The media type of a Content-Type header, lower case; '' when there is none."""
    return header.split(";", 1)[0].strip().lower()


def _disposition_name(environ) -> str | None:
    header = environ.get("HTTP_CONTENT_DISPOSITION")
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    return message.get_filename()
