"""The publication built from ``tests/publish_data.py`` is the same, row for row and byte for
byte, as the one the SQL of migrations 0002-0012 built before the functions moved to
``lagesbild_geo/db/functions``.

The suppression rules and the refresh are what the disclosure engine will rewrite; a change
there that alters a single published value, a suppression flag or a breakdown bin changes a
digest below. The digests were recorded on commit 8e40868 (before the move). Geometries are
left out: they are ``ST_Transform`` of the stored areas, which depends on the PROJ version
of the machine, not on these rules; so is ``area_version`` (migration 0016, the layer version
the areas are of), checked on its own. If the fixture data change on purpose, record the digests
again with ``publication_digests`` on the commit before your change.
"""

from __future__ import annotations

import hashlib

from tests.publish_data import load

#: Row count and SHA-256 of every public table of the refresh, geometry left out.
RECORDED = {
    "areas": (60, "10874e0ccccede008ce46ed763e38e46184f383472d7a5847a3ca3b752e4a53d"),
    "indicators": (32, "2a44ef4e179a6a0f0a5bf93174c8c64c6814cf333a3199c1878eb11acbbda4ab"),
    "observations": (5756, "47fb3ea9def5dfece4c2554baf10b3cef5f70392bbfb4823e5ccabd6ad99468b"),
    "observation_counts": (
        1680,
        "bb0ba9ed2adf86261dbf7b3571eaee5aadd23c2eb5ce34982d16d2734ce34df2",
    ),
    "situation": (60, "419e3d5a3fb8e614e201baac4dd6e69f62b077ed8140b2ce87a29963d03d855b"),
}


def publication_digests(conn) -> dict[str, tuple[int, str]]:
    """(rows, SHA-256 of the rows' text in a total order) per table, without geometries."""
    digests = {}
    for table in RECORDED:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'publish' AND table_name = %s"
                " AND column_name NOT IN ('geom', 'area_version')"
                " ORDER BY ordinal_position",
                (table,),
            )
        ]
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        listed = ", ".join(f'"{c}"' for c in columns)
        rows = conn.execute(f"SELECT {listed} FROM publish.{table} ORDER BY {order}").fetchall()
        text = "\n".join(repr(r) for r in rows)
        digests[table] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return digests


def test_the_publication_is_byte_for_byte_what_it_was(pg_conn):
    load(pg_conn, k=5)
    assert publication_digests(pg_conn) == RECORDED
    # the one column added since (migration 0016): the single layer version, on every row
    for table in ("areas", "observations"):
        versions = pg_conn.execute(f"SELECT DISTINCT area_version FROM publish.{table}")
        assert versions.fetchall() == [(1,)]
