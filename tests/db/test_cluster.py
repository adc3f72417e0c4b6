"""Where the embedded cluster finds PostgreSQL's programs: from the settings, passed down."""

from pathlib import Path

from lagesbild_geo.db.cluster import _bin
from lagesbild_geo.db.connection import cluster_for
from lagesbild_geo.settings import Settings


def _fake_bindir(folder: Path) -> Path:
    folder.mkdir()
    (folder / "initdb").write_text("#!/bin/sh\n")
    return folder


def test_the_bindir_setting_reaches_the_cluster(tmp_path):
    bindir = _fake_bindir(tmp_path / "pg-bin")
    cluster = cluster_for(Settings(data_dir=tmp_path, pg_bindir=bindir))
    assert cluster.bindir == bindir
    assert _bin("initdb", cluster.bindir) == str(bindir / "initdb")


def test_the_cluster_reads_no_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAGESBILD_PG_BINDIR", str(_fake_bindir(tmp_path / "pg-bin")))
    assert _bin("initdb") != str(tmp_path / "pg-bin" / "initdb")
    # ... while the settings, built at an entry point, do read it
    assert Settings().pg_bindir == tmp_path / "pg-bin"
