"""Observation cells in PostgreSQL's binary COPY format, built column-wise.

The server reads binary fields without parsing text, which for the array column (the hour of
the week of each event) is most of the cost of a text COPY; the references of a cell's events
go as one text (``_JOINED``), not an array, so the server does not take them one by one. Each
field is built column-wise as an Arrow binary array of its per-row bytes (length word + value,
big-endian), and one element-wise join lays the rows out; nothing is done row by row in
Python. ``store`` opens the COPY inside its transaction and hands the stream to
:func:`write_observations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from psycopg.copy import Copy

#: The columns in COPY order (any order will do; fixed-width ones first reads best).
_COPY_COLUMNS = (
    "delivery_id",
    "week_start",
    "numerator",
    "denominator",
    "area_code",
    "indicator",
    "event_hours",
    "source_refs",
)
COPY_OBSERVATIONS = (
    "COPY lagesbild.observation ("
    + ", ".join("indicator_id" if c == "indicator" else c for c in _COPY_COLUMNS)
    + ") FROM STDIN WITH (FORMAT binary)"
)
#: The same rows into the temporary table a caller under row-level security copies into
#: (``deliveries._write_cells``).
COPY_OBSERVATIONS_STAGED = COPY_OBSERVATIONS.replace(
    "lagesbild.observation", "pg_temp.observation_in"
)
#: Rows encoded and sent at a time: the server inserts one block while the next is encoded.
COPY_BLOCK_ROWS = 32_768
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"  # field length -1
_FIELD_COUNT = len(_COPY_COLUMNS).to_bytes(2, "big")
#: Element types of the array columns, as PostgreSQL's binary array format names them (OIDs).
_ARRAY_ELEMENTS = {
    "event_hours": (pa.int16(), 21),  # smallint[]
}
#: List columns stored as one text, the elements joined by a separator (migration 0011).
_JOINED = {"source_refs": "\x1f"}
_PG_EPOCH = 10_957  # 2000-01-01, PostgreSQL's day 0, in days since 1970-01-01


def write_observations(
    copy: Copy, delivery_id: int, parts: Iterable[pa.Table], block_rows: int = COPY_BLOCK_ROWS
) -> None:
    """Send the cells: the signature, the rows block by block, the trailer. The next block
    is made on a worker thread (taking the next part from ``parts`` when one is used up, so
    whatever computes the parts runs there too) while the server takes in the current one."""

    def blocks() -> Iterator[memoryview]:
        for part in parts:
            for start in range(0, part.num_rows, block_rows):
                yield _copy_rows(delivery_id, part.slice(start, block_rows))

    copy.write(_SIGNATURE)
    pending = blocks()
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(next, pending, None)
        while (block := ahead.result()) is not None:
            ahead = pool.submit(next, pending, None)
            copy.write(block)
    copy.write(_TRAILER)


def _copy_rows(delivery_id: int, block: pa.Table) -> memoryview:
    """The rows of ``block`` in COPY binary format, one buffer."""
    rows = pc.binary_join_element_wise(
        _FIELD_COUNT, *_copy_fields(delivery_id, block), pa.scalar(b"", pa.binary())
    )
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1)
    return memoryview(rows.buffers()[2])[offsets[rows.offset] : offsets[-1]]


def _copy_fields(delivery_id: int, block: pa.Table) -> list[pa.Array]:
    n = block.num_rows
    fields = []
    for name in _COPY_COLUMNS:
        if name == "delivery_id":
            fields.append(_fixed_field(np.full(n, delivery_id, dtype=np.int64), ">i8"))
            continue
        column = block[name].combine_chunks()
        if name in _JOINED:
            fields.append(_text_field(pc.binary_join(column, _JOINED[name])))
        elif name in _ARRAY_ELEMENTS:
            element, oid = _ARRAY_ELEMENTS[name]
            fields.append(_array_field(column, element, oid))
        elif pa.types.is_string(column.type):
            fields.append(_text_field(column))
        elif name == "week_start":
            days = pc.fill_null(column.cast(pa.int32()), 0).to_numpy() - _PG_EPOCH
            fields.append(_nullable(column, _fixed_field(days, ">i4")))
        else:
            fields.append(
                _nullable(column, _fixed_field(pc.fill_null(column, 0).to_numpy(), ">i8"))
            )
    return fields


def _binary(data: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """An Arrow binary array over ``data``'s bytes, cut at ``offsets`` (no copy)."""
    return pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)],
    )


def _fixed_field(values: np.ndarray, dtype: str) -> pa.Array:
    """Length word and big-endian value for each of ``values``."""
    record = np.empty(len(values), dtype=[("length", ">i4"), ("value", dtype)])
    record["length"] = record.dtype["value"].itemsize
    record["value"] = values
    return _binary(record, np.arange(len(values) + 1) * record.itemsize)


def _nullable(column: pa.Array, field: pa.Array) -> pa.Array:
    """``field``, with length -1 (SQL NULL) where ``column`` is null."""
    if not column.null_count:
        return field
    return pc.if_else(column.is_null(), pa.scalar(_NULL, pa.binary()), field)


def _text_field(column: pa.Array) -> pa.Array:
    """Length word and UTF-8 bytes of each string (the connection's encoding is UTF-8)."""
    lengths = pc.fill_null(pc.binary_length(column), -1).to_numpy()
    words = _binary(lengths.astype(">i4"), np.arange(len(column) + 1) * 4)
    return pc.binary_join_element_wise(
        words, pc.fill_null(column.cast(pa.binary()), b""), pa.scalar(b"", pa.binary())
    )


def _array_field(lists: pa.Array, element: pa.DataType, oid: int) -> pa.Array:
    """One-dimensional arrays: a 20-byte header (dimensions, null flag, element type, length,
    lower bound 1), then each element as length word and value. A list holding a null
    element is written as NULL, as the text COPY did; an empty list as ``{}``."""
    lists = lists.cast(pa.list_(element))
    offsets = lists.offsets.to_numpy()
    first, last = int(offsets[0]), int(offsets[-1])
    values = lists.values.slice(first, last - first)
    counts = np.diff(offsets)
    null = lists.is_null().to_numpy(zero_copy_only=False)
    if values.null_count:
        seen = np.r_[0, np.cumsum(values.is_null().to_numpy(zero_copy_only=False))]
        null = null | (seen[offsets[1:] - first] > seen[offsets[:-1] - first])
        values = pc.fill_null(values, pa.scalar(0, element))
    data = np.empty(len(values), dtype=[("length", ">i4"), ("value", f">i{element.byte_width}")])
    data["length"] = element.byte_width
    data["value"] = values.to_numpy()
    row_bytes = (offsets - first) * data.itemsize
    header = np.empty(len(lists), dtype=[("length", ">i4"), ("words", ">i4", 5)])
    header["length"] = 20 + np.diff(row_bytes)
    header["words"] = [1, 0, oid, 0, 1]
    header["words"][:, 3] = counts
    field = pc.binary_join_element_wise(
        _binary(header, np.arange(len(lists) + 1) * 24),
        _binary(data, row_bytes - row_bytes[0]),
        pa.scalar(b"", pa.binary()),
    )
    empty = counts == 0
    if empty.any():
        no_elements = (12).to_bytes(4, "big") + (0).to_bytes(8, "big") + oid.to_bytes(4, "big")
        field = pc.if_else(pa.array(empty), pa.scalar(no_elements, pa.binary()), field)
    if null.any():
        field = pc.if_else(pa.array(null), pa.scalar(_NULL, pa.binary()), field)
    return field
