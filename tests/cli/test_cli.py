"""The command line as a municipal user drives it, against a real PostGIS."""

import json

import click
import pytest
from click.testing import CliRunner

from lagesbild_geo.cli.main import main
from tests.conftest import REPO
from tests.servers import free_port


def _all_commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", list(_all_commands(main)), ids=" ".join)
def test_every_command_explains_itself(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    first_line = result.output.split("\n\n")[1].strip()
    assert len(first_line) > 20, f"{' '.join(path)} needs a real help text"


def test_deso_layers_import_with_their_defects_reported(cli, pg_conn, shared_areas):
    out = cli(
        "areas",
        "import",
        shared_areas / "deso2018_sodertalje.gpkg",
        "--code-field",
        "deso_code",
        "--population-field",
        "pop_2023",
        "--level-prefixes",
        "4,5",
    ).output
    assert "Imported 51 level-3 areas" in out
    levels = dict(
        pg_conn.execute("SELECT level, count(*) FROM lagesbild.area GROUP BY level").fetchall()
    )
    assert levels == {1: 1, 2: 3, 3: 51}  # kommun 0181; DeSO categories A, B, C
    (pop,) = pg_conn.execute("SELECT population FROM lagesbild.area WHERE code = '0181'").fetchone()
    (pop3,) = pg_conn.execute(
        "SELECT sum(population) FROM lagesbild.area WHERE level = 3"
    ).fetchone()
    assert pop == pop3 > 90_000
    report = pg_conn.execute("SELECT report FROM lagesbild.area_import").fetchone()[0]
    assert report["overlaps"] and report["gaps"]

    out = cli(
        "areas",
        "import",
        shared_areas / "deso2018_stockholms_lan.gpkg",
        "--code-field",
        "deso_code",
        "--population-field",
        "pop_2023",
        "--level-prefixes",
        "4,5",
    ).output
    assert "Imported 1287 level-3 areas" in out
    (kommuner,) = pg_conn.execute("SELECT count(*) FROM lagesbild.area WHERE level = 1").fetchone()
    assert kommuner == 26


def test_deliver_review_and_withdraw_from_the_command_line(cli, tmp_path):
    cli(
        "areas",
        "import",
        REPO / "areas" / "lagesby_nyko.gpkg",
        "--layer",
        "nyko3",
        "--population-field",
        "population",
        "--level-prefixes",
        "1,2",
    )
    cli("actors", "add", "polisen", "--kind", "police", "--name", "Polisen")
    path = tmp_path / "polis.csv"
    path.write_text(
        "område;vecka;indikator;antal\n1101;2026-W07;ran;4\n1102;2026-W07;ran;2\n",
        encoding="cp1252",
    )
    out = cli("ingest", path, "--actor", "polisen").output
    assert "stored as pending: 2 rows" in out
    listed = json.loads(cli("deliveries", "list", "--json").output)
    assert [(d["id"], d["status"], d["row_count"]) for d in listed] == [(1, "pending", 2)]

    bad = cli("review", "approve", "1", ok=False)
    assert bad.exit_code == 2 and "--by" in bad.output
    cli("review", "approve", "1", "--by", "anna")
    wrong_owner = cli("delivery", "withdraw", "1", "--actor", "vaktbolaget", ok=False)
    assert wrong_owner.exit_code == 4 and "only its owner" in wrong_owner.output
    cli("delivery", "withdraw", "1", "--actor", "polisen")
    listed = json.loads(cli("deliveries", "list", "--json", "--status", "withdrawn").output)
    assert [d["id"] for d in listed] == [1]

    again = cli("ingest", path, "--actor", "polisen").output
    assert "already delivered as delivery 1" in again

    # the huvudman can show who did what from the command line too (newest first); a refused
    # decision and the repeated file left no line
    log = json.loads(cli("access-log", "--json").output)
    assert [(e["action"], e["object_id"]) for e in log] == [
        ("delivery.withdraw", "1"),
        ("delivery.approve", "1"),
        ("delivery.create", "1"),
    ]
    assert log[0]["principal"] == "cli:polisen" and log[1]["principal"] == "cli:anna"
    assert log[2]["principal"].startswith("cli:") and log[2]["detail"]["actor_id"] == "polisen"
    only = json.loads(cli("access-log", "--json", "--action", "delivery.approve").output)
    assert [e["principal"] for e in only] == ["cli:anna"]


def test_a_refused_delivery_exits_2_and_names_row_and_column(cli, tmp_path):
    cli(
        "areas",
        "import",
        REPO / "areas" / "lagesby_nyko.gpkg",
        "--layer",
        "nyko3",
        "--level-prefixes",
        "1,2",
    )
    cli("actors", "add", "polisen", "--kind", "police", "--name", "Polisen")
    path = tmp_path / "polis.csv"
    path.write_text("område,vecka,indikator,antal\n1101,2026-W07,ran,-4\n", encoding="utf-8")
    result = cli("ingest", path, "--actor", "polisen", ok=False)
    assert result.exit_code == 2
    assert "polis.csv, row 2, column 'antal'" in result.output
    assert "Traceback" not in result.output


def test_embedded_cluster_up_status_down(tmp_path, monkeypatch):
    monkeypatch.delenv("LAGESBILD_DATABASE_URL", raising=False)
    monkeypatch.setenv("LAGESBILD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LAGESBILD_PG_PORT", str(free_port()))
    runner = CliRunner()
    try:
        up = runner.invoke(main, ["db", "up"])
        assert up.exit_code == 0, up.output
        assert "Schema up to date (0001_core" in up.output
        again = runner.invoke(main, ["db", "up"])
        assert "nothing new to apply" in again.output
        status = runner.invoke(main, ["db", "status"])
        assert "running      True" in status.output and "0001_core" in status.output
    finally:
        down = runner.invoke(main, ["db", "down"])
    assert down.exit_code == 0
    status = runner.invoke(main, ["db", "status"])
    assert status.exit_code == 5 and "running      False" in status.output
