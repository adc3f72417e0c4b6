"""``lagesbild keys``: a key is shown once, works, is listed without its secret, is revoked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lagesbild_geo.access import keys
from lagesbild_geo.errors import AuthenticationError


@pytest.fixture
def cli(cli):
    """The command line with one actor registered."""
    cli("actors", "add", "polisen", "--kind", "police", "--name", "Polisen")
    return cli


def test_a_created_key_is_printed_once_and_authenticates(cli, pg_conn):
    result = cli("keys", "create", "--role", "actor", "--actor", "polisen", "--owner", "GIS")
    plain = result.stdout.splitlines()[-1]
    assert plain.startswith("lgb_") and len(plain) == 60
    assert "not stored" in result.stderr and plain not in result.stderr
    identity = keys.verify(pg_conn, plain)
    assert (identity.actor_id, identity.roles) == ("polisen", {"actor"})
    listed = cli("keys", "list").output + cli("keys", "list", "--json").output
    assert plain[17:] not in listed and plain not in listed


def test_list_shows_each_key_with_its_state(cli):
    made = json.loads(
        cli(
            "keys",
            "create",
            "--role",
            "reviewer",
            "--owner",
            "Eva",
            "--expires",
            "90d",
            "--by",
            "admin-anna",
            "--json",
        ).stdout  # fmt: skip
    )
    rows = {k["id"]: k for k in json.loads(cli("keys", "list", "--json").stdout)}
    row = rows[made["id"]]
    assert (row["owner"], row["role"], row["status"], row["created_by"]) == (
        "Eva", "reviewer", "active", "admin-anna"
    )  # fmt: skip
    expires = datetime.fromisoformat(row["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)
    assert "secret_sha256" not in row
    table = cli("keys", "list").stdout
    header, line = table.splitlines()[0], table.splitlines()[1]
    for column in ("id", "status", "role", "actor", "created", "expires", "revoked", "last used"):
        assert column in header
    assert line.startswith(made["id"]) and "active" in line and "never" in line


def test_revoke_stops_the_key_and_both_acts_are_logged(cli, pg_conn):
    made = json.loads(
        cli("keys", "create", "--role", "admin", "--owner", "Bo", "--by", "anna", "--json").stdout
    )
    assert keys.verify(pg_conn, made["key"]).roles == {"admin"}
    assert "revoked" in cli("keys", "revoke", made["id"], "--by", "anna").stdout
    with pytest.raises(AuthenticationError, match="revoked"):
        keys.verify(pg_conn, made["key"])
    again = cli("keys", "revoke", made["id"], "--by", "anna", ok=False)
    assert again.exit_code == 4 and "already revoked" in again.stderr
    status = {k["id"]: k["status"] for k in json.loads(cli("keys", "list", "--json").stdout)}
    assert status[made["id"]] == "revoked"
    log = pg_conn.execute(
        "SELECT principal, action, object_id, detail FROM lagesbild.access_log ORDER BY id"
    ).fetchall()
    assert [(p, a, o) for p, a, o, _ in log] == [
        ("cli:anna", "key.create", made["id"]),
        ("cli:anna", "key.revoke", made["id"]),
    ]
    assert made["key"][17:] not in json.dumps([d for *_, d in log])


def test_refusals_are_messages_with_exit_codes(cli):
    cases = [
        (("--role", "actor", "--actor", "nosuch", "--owner", "X"), 3, "registered actors: polisen"),
        (("--role", "actor", "--owner", "X"), 2, "names its actor"),
        (("--role", "reviewer", "--owner", "X", "--expires", "soon"), 2, "give a lifetime"),
    ]
    for args, code, message in cases:
        result = cli("keys", "create", *args, ok=False)
        assert (result.exit_code, message in result.stderr) == (code, True), result.output
        assert "lgb_" not in result.stdout
    unknown = cli("keys", "revoke", "0123456789ab", "--by", "anna", ok=False)
    assert unknown.exit_code == 3 and "No API key 0123456789ab" in unknown.stderr
    assert cli("keys", "revoke", "0123456789ab", ok=False).exit_code == 2  # --by is required
    assert json.loads(cli("keys", "list", "--json").stdout) == []
