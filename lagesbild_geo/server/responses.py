"""The public item pages a worker answered, kept by their strong validator: a repeated URL
is sent again without asking pygeoapi and PostgreSQL.

The trend map (``/karta``, the city web map's embed) asks every visitor's browser for the
same pages (``trends/items?f=json&indicator=<id>&limit=1000`` and its next page, ~800 kB of
GeoJSON, 135 kB gzipped), and QGIS projects opened by many people ask for the same layers.
Measured with bench/serve.py's varied workload: such a page took ~12 ms of worker CPU (the
rows, 1,000 features written, gzip) and ~3 ms of PostgreSQL; from here ~0.3 ms.

Why this is exact, not a cache that can go stale: the key is the response's strong ``ETag``
(:meth:`.PublishMiddleware._etag`: the publication's version, path, query, ``Accept``,
``Accept-Language`` and ``Host``, which select the representation) and whether the body is
gzipped. The version is read from the database for every request, as before; a review that
changes the publication changes the version, so the old entries are never matched again and
age out. Only what the ETag already vouches for is kept: a 200 of a public ``GET`` on
``/collections/<id>/items`` (never a caller with credentials, never a restricted
collection, never a HEAD), of JSON, at most :data:`MAX_ENTRY_BYTES`; the whole cache holds at
most :data:`MAX_BYTES` per worker process, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

#: Bytes of bodies kept per worker process (2 workers by default: 64 MB in all).
MAX_BYTES = 32 * 1024 * 1024
#: Largest body kept: a page of 1,000 wide ``situation`` features is ~1.4 MB identity.
MAX_ENTRY_BYTES = 4 * 1024 * 1024
#: Media types kept (before any ``;``).
KEPT_TYPES = frozenset({"application/json", "application/geo+json"})


class Responses:
    """(ETag, gzipped) -> the final (status, headers, body) of a 200, LRU by bytes."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_entry_bytes: int = MAX_ENTRY_BYTES):
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[tuple, tuple[str, list, list[bytes]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the worker's threads share it

    def get(self, key: tuple):
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, status: str, headers: list, body: list[bytes]) -> None:
        """Keep a 200 of JSON of at most ``max_entry_bytes``; anything else is ignored."""
        if not status.startswith("200"):
            return
        media = next((v for n, v in headers if n.lower() == "content-type"), "")
        if media.split(";", 1)[0].strip().lower() not in KEPT_TYPES:
            return
        raw = b"".join(body)
        if len(raw) > self.max_entry_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[2][0])
            self._entries[key] = (status, list(headers), [raw])
            self._bytes += len(raw)
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped[2][0])

    def __len__(self) -> int:
        return len(self._entries)
