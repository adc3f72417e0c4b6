"""``lagesbild audit`` on a real publication: the table, --json, --save/--against, exit codes."""

from __future__ import annotations

import json
import stat

from click.testing import CliRunner

from lagesbild_geo.cli.main import main
from tests import publish_data


def test_audit_prints_the_table_and_passes(pg_conn, pg_url, monkeypatch, tmp_path):
    publish_data.load(pg_conn)
    pg_conn.commit()
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    runner = CliRunner()
    saved = tmp_path / "n.npz"
    out = runner.invoke(main, ["audit", "--actor", "polisen", "--save", str(saved)])
    assert out.exit_code == 0, out.output
    assert "| weekly count cells" in out.output and "recovered exactly" in out.output
    assert "audited in" in out.output and "Traceback" not in out.output
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    js = runner.invoke(main, ["audit", "--json", "--actor", "polisen", "--against", str(saved)])
    assert js.exit_code == 0, js.output
    doc = json.loads(js.output)
    assert doc["passed"] and {r["attacker"] for r in doc["rows"]} == {"public", "actor polisen"}
    assert doc["seconds"]["audit"] >= 0
    assert all(r["total"] > 0 for r in doc["rows"] if r["attacker"] == "public")


def test_a_leak_exits_non_zero_without_traceback(pg_conn, pg_url, monkeypatch):
    publish_data.load(pg_conn)
    pg_conn.execute("UPDATE publish.situation SET ran_last4 = ran_last4 + 1"
                    " WHERE ran_last4 IS NOT NULL")  # fmt: skip
    pg_conn.commit()
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    out = CliRunner().invoke(main, ["audit", "--actor", "polisen"])
    assert out.exit_code == 6, out.output
    assert "not derived" in out.output and "Traceback" not in out.output


def test_a_bad_snapshot_is_an_input_error(pg_conn, pg_url, monkeypatch, tmp_path):
    publish_data.load(pg_conn)
    bad = tmp_path / "bad.npz"
    bad.write_text("not a snapshot")
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    out = CliRunner().invoke(main, ["audit", "--against", str(bad)])
    assert out.exit_code == 2, out.output
    assert "not an audit snapshot" in out.output


def test_saved_analyses_are_recomputed_and_a_changed_one_fails(pg_conn, pg_url, monkeypatch):
    """The hotspots and trends layers are process outputs: the audit recomputes each saved
    run from the public cells (same parameters and seed); one that is not what they give is
    a figure the audit has not seen, and fails it."""
    from lagesbild_geo.analysis import run as analysis

    publish_data.load(pg_conn)
    pg_conn.commit()
    for process in ("hotspots", "trends"):
        inputs = {"indicator": "ran", "period_start": "2026-W05", "period_end": "2026-W16",
                  "publish": True}  # fmt: skip
        analysis.run(pg_url, process, inputs)
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    runner = CliRunner()
    out = runner.invoke(main, ["audit", "--actor", "polisen"])
    assert out.exit_code == 0, out.output
    assert "2 saved analysis runs recomputed from the public cells with the same result" in (
        out.output
    )
    pg_conn.execute("UPDATE publish.trends SET tau = tau + 0.01 WHERE area_code = '1101'")
    pg_conn.commit()
    out = runner.invoke(main, ["audit", "--actor", "polisen"])
    assert out.exit_code == 6 and "trends run" in out.output, out.output
