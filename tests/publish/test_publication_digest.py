"""The publication built from ``tests/publish_data.py`` with a fixed protection secret is the
same, row for row and byte for byte, as the one recorded when the cell key method replaced
suppression (issue 12).

A change to the protection or the refresh that alters a single published value, a status or
a breakdown bin changes a digest below: the published figures of a municipality must not move
unless a review or a deliberate change of the method moves them (repeated publication is only
safe with stable figures). The secret is made by migration 0017 from a strong random source;
here it is set to a known value so that the digests can be recorded. Geometries are left
out: they are ``ST_Transform`` of the stored areas, which depends on the PROJ version
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
    "observations": (5756, "1716b59069008a2d1551561d9426584ddcf98d8b3ce0f95bbc6eeaba6b61a703"),
    "observation_counts": (
        2453,
        "b333459f053020a276988e800fac7941a968e7ad4e3e9607ad7d36090dce9849",
    ),
    "situation": (60, "4e427d655ca34d1bac2d1450def3b75130ec25110b083e3a33ef3725f936fd77"),
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


#: The secret the digests were recorded with.
TEST_SECRET = hashlib.sha512(b"lagesbild publication digest test").digest()


def test_the_publication_is_byte_for_byte_what_it_was(pg_conn):
    with pg_conn.transaction():
        pg_conn.execute("UPDATE lagesbild.protection_secret SET secret = %s", (TEST_SECRET,))
    load(pg_conn, k=5)
    assert publication_digests(pg_conn) == RECORDED
    # the one column added since (migration 0016): the single layer version, on every row
    for table in ("areas", "observations"):
        versions = pg_conn.execute(f"SELECT DISTINCT area_version FROM publish.{table}")
        assert versions.fetchall() == [(1,)]
