"""A delivery file from an HTTP request body, onto disk for the ingest pipeline.

``POST /deliveries`` takes the file two ways (docs/access.md): ``multipart/form-data`` with a
field ``file`` (``curl -F file=@leverans.xlsx``), or the raw bytes with an xlsx/CSV content
type and the name in ``Content-Disposition`` or ``?filename=``. Either way the body is bounded
by the settings' ``max_delivery_bytes``: a declared ``Content-Length`` above it is a 413
before a byte is read, a chunked body is counted while it is read and refused as soon as it
passes the limit. The file is written under a name made here (:func:`safe_name`) in a
folder of its own: nothing the client sends becomes a path.
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
#: Content types of a raw body, and the suffix the pipeline reads such a file by.
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


@dataclass
class Upload:
    """The delivered file on disk, and the options that came with it."""

    path: Path
    options: dict[str, str] = field(default_factory=dict)


def safe_name(client_name: str | None, suffix: str) -> str:
    """A file name for the client's one: its last path part, letters, digits, ``. - _`` and
    spaces only, at most :data:`MAX_NAME` characters; ``leverans`` when nothing is left. The
    suffix is the client's when the pipeline knows it, else ``suffix`` (from the content type).

    >>> safe_name("../../etc/Vecka 7 (polisen).CSV", "")
    'Vecka 7 polisen.CSV'
    >>> safe_name("C:\\\\Users\\\\x\\\\brott.xlsx", ".csv"), safe_name(None, ".xlsx")
    ('brott.xlsx', 'leverans.xlsx')
    """
    name = unicodedata.normalize("NFC", (client_name or "").replace("\\", "/")).split("/")[-1]
    name = _UNSAFE.sub("", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot or f".{ext.lower()}" not in KNOWN_SUFFIXES:
        stem, ext = name, suffix.lstrip(".")
    stem = stem.strip(" .")[: MAX_NAME - len(ext) - 1] or "leverans"
    return f"{stem}.{ext}" if ext else stem


def receive(environ, limit: int, folder: Path) -> Upload:
    """The delivered file of the request, written into ``folder`` (an empty folder of the
    caller's, removed by it). 400 for a body that is empty, malformed or of another type;
    413 above ``limit`` bytes."""
    options = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    content_type = _content_type(environ.get("CONTENT_TYPE", ""))
    body = folder / "body"
    with body.open("w+b") as spooled:
        size = _spool(environ, limit, spooled)
        if size == 0:
            raise InputError("The request has no body: send the delivery file as the body")
        spooled.seek(0)
        if content_type == "multipart/form-data":
            return _from_form(environ, spooled, size, limit, folder, options)
        if content_type not in RAW_TYPES:
            raise InputError(
                f"Content-Type {content_type or '(none)'} is not a delivery file: send "
                "multipart/form-data with a field 'file', or the file itself as text/csv or "
                f"{next(iter(RAW_TYPES))}"
            )
        name = options.get("filename") or _disposition_name(environ)
        # application/octet-stream without a name keeps no suffix: the pipeline refuses it
        # as an unknown file type, naming the accepted ones
        path = folder / safe_name(name, RAW_TYPES[content_type])
    body.rename(path)
    return Upload(path, {k: v for k, v in options.items() if k in OPTIONS})


def declared_length(environ, limit: int) -> int | None:
    """``Content-Length`` as a number (None: chunked); 400 when it is not one, 413 when it is
    above ``limit`` -- before anything is read."""
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        return None
    if not declared.isascii() or not declared.isdigit():
        raise InputError("Content-Length is not a number")
    if int(declared) > limit:
        raise too_large(limit)
    return int(declared)


def too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The delivery is larger than {limit / 1024 / 1024:,.0f} MB, the largest this server "
        "accepts; split it, e.g. by period, into several deliveries."
    )


def _spool(environ, limit: int, out: BinaryIO) -> int:
    """Copy the body to ``out`` (at most ``limit`` bytes); return its size."""
    length = declared_length(environ, limit)
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
            raise too_large(limit)
        out.write(chunk)
    if length is not None and size < length:
        raise InputError(f"The body ended after {size:,} of the {length:,} bytes announced")
    return size


def _from_form(environ, body: BinaryIO, size: int, limit, folder: Path, options) -> Upload:
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
            max_form_parts=len(OPTIONS) + 2,
            silent=False,
        )
    except (HTTPException, ValueError) as exc:
        raise InputError(
            "The multipart/form-data body cannot be read (a boundary, header or part is "
            "malformed); send the file with curl -F file=@leverans.xlsx"
        ) from exc
    upload = files.get("file")
    if upload is None:
        raise InputError("The form has no field 'file': send it with curl -F file=@leverans.xlsx")
    fields = {k: form[k] for k in form if k in OPTIONS}
    suffix = RAW_TYPES.get((upload.mimetype or "").lower(), "")
    path = folder / safe_name(fields.get("filename") or upload.filename, suffix)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.stream, out, CHUNK)
    upload.close()
    if path.stat().st_size == 0:
        raise InputError("The field 'file' of the form is empty (0 bytes)")
    merged = {**{k: v for k, v in options.items() if k in OPTIONS}, **fields}
    return Upload(path, merged)


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
