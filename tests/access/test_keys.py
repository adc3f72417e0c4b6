"""API keys against a real PostgreSQL: what is stored, what authenticates, what is refused."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from lagesbild_geo.access import keys
from lagesbild_geo.access import log as access_log
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import AuthenticationError, ConflictError, InputError, NotFoundError
from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor


@pytest.fixture
def conn(pg_conn):
    """A migrated database with two actors (keys of the actor role name one)."""
    sync_catalogue(pg_conn, load_catalogue())
    upsert_actor(pg_conn, "polisen", "police", "Polisen")
    upsert_actor(pg_conn, "vaktbolaget", "security", "Trygga Vakter AB")
    pg_conn.commit()
    return pg_conn


def _key(conn, role="reviewer", **kw) -> tuple[str, str]:
    kw.setdefault("owner", "Anna Granskare")
    return keys.create(conn, role=role, created_by="test", **kw)


def test_a_key_has_the_issued_shape_and_authenticates_as_its_holder(conn):
    key_id, plain = _key(conn, "actor", actor_id="polisen", owner="Polisen GIS")
    prefix, id_part, secret = plain[:4], plain[4:16], plain[17:]
    assert (prefix, id_part, plain[16], len(secret)) == ("lgb_", key_id, "_", 43)
    identity = keys.verify(conn, plain)
    assert identity.principal == f"key:{key_id}"
    assert identity.roles == frozenset({"actor"})
    assert (identity.actor_id, identity.via, identity.name) == ("polisen", "api-key", "Polisen GIS")
    municipality = keys.verify(conn, _key(conn, "analyst")[1])
    assert municipality.roles == frozenset({"analyst"}) and municipality.actor_id is None


def test_only_the_hash_of_the_secret_is_stored(conn):
    key_id, plain = _key(conn)
    secret = plain.split("_", 2)[2]
    row = conn.execute("SELECT * FROM lagesbild.api_key WHERE id = %s", (key_id,)).fetchone()
    assert bytes(row[1]) == hashlib.sha256(secret.encode()).digest()
    text = repr(row)
    assert plain not in text and secret not in text
    # nor anywhere else in the table, in any column, as text or bytes
    (dump,) = conn.execute("SELECT string_agg(t::text, ' ') FROM lagesbild.api_key t").fetchone()
    assert secret not in dump and secret.encode().hex() not in dump


def test_two_keys_differ(conn):
    (id_a, a), (id_b, b) = _key(conn), _key(conn)
    assert id_a != id_b and a.split("_")[2] != b.split("_")[2]


def test_listing_shows_state_but_no_secret(conn):
    key_id, plain = _key(conn, expires_at=datetime.now(UTC) + timedelta(days=90))
    revoked_id, _ = _key(conn, owner="Bo")
    keys.revoke(conn, revoked_id, "admin-eva")
    keys.verify(conn, plain)
    conn.commit()
    listed = {k["id"]: k for k in keys.list_keys(conn)}
    assert listed[key_id]["status"] == "active" and listed[key_id]["last_used_at"] is not None
    assert listed[revoked_id]["status"] == "revoked"
    assert listed[revoked_id]["revoked_by"] == "admin-eva"
    for k in listed.values():
        assert not {"secret_sha256", "secret", "hash"} & set(k)
        assert plain.split("_", 2)[2] not in repr(k)


def test_a_revoked_key_is_refused_and_cannot_be_revoked_twice(conn):
    key_id, plain = _key(conn)
    keys.verify(conn, plain)
    keys.revoke(conn, key_id, "admin")
    with pytest.raises(AuthenticationError, match="not valid: it has been revoked"):
        keys.verify(conn, plain)
    with pytest.raises(ConflictError, match="already revoked"):
        keys.revoke(conn, key_id, "admin")


def test_revoking_an_unknown_or_malformed_id(conn):
    with pytest.raises(NotFoundError, match="No API key 0123456789ab"):
        keys.revoke(conn, "0123456789ab", "admin")
    _, plain = _key(conn)
    with pytest.raises(InputError, match="Not a key id") as refused:
        keys.revoke(conn, plain, "admin")  # the whole key pasted: refused, never echoed
    assert plain not in str(refused.value)


def test_an_expired_key_is_refused(conn):
    key_id, plain = _key(conn, expires_at=datetime.now(UTC) + timedelta(hours=1))
    keys.verify(conn, plain)
    conn.execute(
        "UPDATE lagesbild.api_key SET expires_at = now() - interval '1 second' WHERE id = %s",
        (key_id,),
    )
    with pytest.raises(AuthenticationError, match="not valid: it has expired"):
        keys.verify(conn, plain)
    assert {k["id"]: k["status"] for k in keys.list_keys(conn)}[key_id] == "expired"


def test_an_expiry_in_the_past_is_refused(conn):
    with pytest.raises(InputError, match="already past"):
        _key(conn, expires_at=datetime.now(UTC) - timedelta(minutes=1))


def _spellings(plain: str) -> dict[str, str]:
    key_id, secret = plain[4:16], plain[17:]
    last = secret[-1]
    # the same 32 bytes with one of the two unused bits of the last character set
    sloppy = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = sloppy[sloppy.index(last) ^ 1]
    return {
        "leading space": " " + plain,
        "trailing space": plain + " ",
        "trailing newline": plain + "\n",
        "upper case": plain.upper(),
        "upper-case prefix": "LGB_" + plain[4:],
        "other prefix": "lgk_" + plain[4:],
        "no prefix": plain[4:],
        "short secret": plain[:-1],
        "long secret": plain + "A",
        "short id": f"lgb_{key_id[:-1]}_{secret}",
        "upper-case id": f"lgb_{key_id.upper()}_{secret}",
        "padded": plain + "=",
        "standard base64": plain[:17] + "+" + secret[1:],
        "non-canonical tail": plain[:-1] + sibling,
        "empty": "",
    }


def test_other_spellings_of_a_valid_key_are_malformed_not_looked_up(conn):
    _, plain = _key(conn)
    assert keys.verify(conn, plain).roles == {"reviewer"}
    for why, text in _spellings(plain).items():
        assert text != plain, why
        # no connection: a lookup would fail with AttributeError, not refuse the key
        with pytest.raises(AuthenticationError, match="malformed") as refused:
            keys.verify(None, text)
        assert plain[17:] not in str(refused.value), why


def test_a_forged_secret_for_a_real_id_is_refused(conn):
    key_id, plain = _key(conn)
    _, other = _key(conn)
    with pytest.raises(AuthenticationError, match="not valid: no such key"):
        keys.verify(conn, f"lgb_{key_id}_{other[17:]}")
    with pytest.raises(AuthenticationError, match="not valid: no such key"):
        keys.verify(conn, "lgb_0123456789ab_" + plain[17:])


def test_an_actor_key_names_a_registered_actor(conn):
    with pytest.raises(NotFoundError, match="No actor 'nosuch'; registered actors: polisen"):
        _key(conn, "actor", actor_id="nosuch")
    with pytest.raises(InputError, match="names its actor"):
        _key(conn, "actor")
    with pytest.raises(InputError, match="names none"):
        _key(conn, "reviewer", actor_id="polisen")
    with pytest.raises(InputError, match="Unknown role 'superuser'"):
        _key(conn, "superuser")
    (n,) = conn.execute("SELECT count(*) FROM lagesbild.api_key").fetchone()
    assert n == 0


def test_the_server_role_verifies_without_reading_the_table(conn):
    """lagesbild_server may only call authenticate_key (migration 0020's grants)."""
    key_id, plain = _key(conn, "actor", actor_id="vaktbolaget")
    conn.commit()
    conn.execute("SET ROLE lagesbild_server")
    try:
        assert keys.verify(conn, plain).actor_id == "vaktbolaget"
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SELECT secret_sha256 FROM lagesbild.api_key").fetchall()
    finally:
        conn.rollback()
        conn.execute("RESET ROLE")


def test_key_events_reach_the_access_log(conn):
    with conn.transaction():
        access_log.as_cli(conn, "eva")
        key_id, _ = _key(conn)
        access_log.write(conn, "key.create", "api_key", key_id, {"role": "reviewer"})
    row = conn.execute(
        "SELECT principal, action, object_type, object_id, detail FROM lagesbild.access_log"
    ).fetchone()
    assert row == ("cli:eva", "key.create", "api_key", key_id, {"role": "reviewer"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", datetime(2026, 5, 30, 12, tzinfo=UTC)),
        ("12h", datetime(2026, 3, 2, 0, tzinfo=UTC)),
        ("2w", datetime(2026, 3, 15, 12, tzinfo=UTC)),
        ("2027-01-01", datetime(2026, 12, 31, 23, tzinfo=UTC)),
        ("2027-07-01T08:00:00+02:00", datetime(2027, 7, 1, 6, tzinfo=UTC)),
    ],
)
def test_expiry_text(text, expected):
    assert keys.expiry(text, datetime(2026, 3, 1, 12, tzinfo=UTC)) == expected


@pytest.mark.parametrize("text", ["90", "0d", "90 days", "-1d", "2027-13-01", "soon", "9y"])
def test_expiry_text_refused(text):
    with pytest.raises(InputError, match="give a lifetime"):
        keys.expiry(text)
