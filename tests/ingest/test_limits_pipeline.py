"""The limits end to end: the settings reach the ingest from the command line, "now" is the
moment of the ingest in Swedish time, and the layer's level-2 codes are named as such."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from lagesbild_geo.cli.main import main
from lagesbild_geo.errors import DeliveryRefusedError
from lagesbild_geo.ingest.pipeline import ingest_file
from tests.ingest.corpus import database_digest

EVENT = "kategori;datum;tid;x;y\nskadegorelse;2026-11-20;{time};623007.2;6580818.0\n"


def test_the_command_line_passes_the_limits_from_the_settings(
    ready_conn, pg_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    path = tmp_path / "räkning.csv"
    path.write_text("område;vecka;indikator;antal\n1101;2026-W07;skadegorelse;4\n", "utf-8")
    monkeypatch.setenv("LAGESBILD_MAX_COUNT", "3")
    result = CliRunner().invoke(main, ["ingest", str(path), "--actor", "kommunen"])
    assert result.exit_code == 2, result.output
    assert "row 2, column 'antal': larger than 3 (LAGESBILD_MAX_COUNT)" in result.output
    monkeypatch.setenv("LAGESBILD_MAX_COUNT", "4")
    result = CliRunner().invoke(main, ["ingest", str(path), "--actor", "kommunen"])
    assert result.exit_code == 0, result.output


def test_an_event_later_today_is_refused_and_one_earlier_stored(ready_conn, tmp_path):
    path = tmp_path / "händelser.csv"
    path.write_text(EVENT.format(time="18:00"), "utf-8")
    # 16:00 UTC is 17:00 in Stockholm on 20 November: 18:00 has not come yet
    now = datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("UTC"))
    before = database_digest(ready_conn)
    with pytest.raises(DeliveryRefusedError) as caught:
        ingest_file(ready_conn, path, actor_id="kommunen", now=now)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (2, "tid")
    assert "later today" in problem.reason
    assert database_digest(ready_conn) == before
    later = datetime(2026, 11, 20, 17, 0, tzinfo=ZoneInfo("UTC"))  # 18:00 in Stockholm
    assert ingest_file(ready_conn, path, actor_id="kommunen", now=later).observations == 1


def test_today_alone_accepts_the_whole_day(ready_conn, tmp_path):
    path = tmp_path / "händelser.csv"
    path.write_text(EVENT.format(time="23:59"), "utf-8")
    assert ingest_file(ready_conn, path, actor_id="kommunen", today=date(2026, 11, 20))


def test_a_level2_code_of_the_layer_is_named_so(ready_conn, tmp_path):
    path = tmp_path / "räkning.csv"
    path.write_text(
        "område;vecka;indikator;antal\n11;2026-W07;skadegorelse;4\n1;2026-W07;skadegorelse;4\n"
        "110104;2026-W07;skadegorelse;4\n1101-GAMLA;2026-W07;skadegorelse;4\n",
        "utf-8",
    )
    with pytest.raises(DeliveryRefusedError) as caught:
        ingest_file(ready_conn, path, actor_id="kommunen", today=date(2026, 11, 20))
    assert [(p.row, p.reason.split(":")[0].split(";")[0]) for p in caught.value.problems] == [
        (2, "a level-2 code"),
        (3, "a level-1 code"),
        (5, "not an area code"),
    ]
