"""``lagesbild areas``: level prefixes asked for unless certain, fields kept, versions listed."""

from __future__ import annotations

import geopandas as gpd

from tests.conftest import REPO

DESO = ("--code-field", "deso_code")


def _population(pg_conn) -> tuple:
    return pg_conn.execute(
        "SELECT count(population), sum(population) FROM lagesbild.area WHERE level = 3"
    ).fetchone()


def test_deso_codes_get_their_levels_and_fields_not_given_are_kept(cli, pg_conn, shared_areas):
    deso = shared_areas / "deso2018_sodertalje.gpkg"
    out = cli(
        "areas",
        "import",
        deso,
        *DESO,
        "--population-field",
        "pop_2023",
        "--name-field",
        "kommun_name",
    ).output
    assert "DeSO codes" in out and "version 1" in out
    levels = dict(pg_conn.execute("SELECT level, count(*) FROM lagesbild.area GROUP BY 1"))
    assert levels == {1: 1, 2: 3, 3: 51}
    stored = _population(pg_conn)
    names = pg_conn.execute("SELECT code, name FROM lagesbild.area ORDER BY code").fetchall()
    assert stored[0] == 51

    out = cli("areas", "import", deso, *DESO).output  # no population, no names given
    assert "population kept from the stored layer for 51 areas" in out
    assert "names kept" in out
    assert _population(pg_conn) == stored
    assert (
        pg_conn.execute("SELECT code, name FROM lagesbild.area ORDER BY code").fetchall() == names
    )

    cli("areas", "import", deso, *DESO, "--clear-population", "--clear-names")
    assert _population(pg_conn) == (0, None)
    assert pg_conn.execute(
        "SELECT count(*) FROM lagesbild.area WHERE level = 3 AND name <> code"
    ).fetchone() == (0,)


def test_codes_that_do_not_say_their_levels_need_level_prefixes(cli, pg_conn):
    nyko = REPO / "areas" / "lagesby_nyko.gpkg"
    refused = cli("areas", "import", nyko, "--layer", "nyko3", ok=False)
    assert refused.exit_code == 2 and "--level-prefixes" in refused.output
    assert "not DeSO codes" in refused.output
    assert pg_conn.execute("SELECT count(*) FROM lagesbild.area").fetchone() == (0,)
    bad = cli("areas", "import", nyko, "--layer", "nyko3", "--level-prefixes", "1;2", ok=False)
    assert bad.exit_code == 2 and "two code lengths" in bad.output
    cli("areas", "import", nyko, "--layer", "nyko3", "--level-prefixes", "1,2")
    levels = dict(pg_conn.execute("SELECT level, count(*) FROM lagesbild.area GROUP BY 1"))
    assert set(levels) == {1, 2, 3}


def test_a_revision_after_deliveries_is_a_new_version_in_the_list(cli, pg_conn, tmp_path):
    nyko = REPO / "areas" / "lagesby_nyko.gpkg"
    cli(
        "areas",
        "import",
        nyko,
        "--layer",
        "nyko3",
        "--level-prefixes",
        "1,2",
        "--population-field",
        "population",
    )
    cli("actors", "add", "polisen", "--kind", "police", "--name", "Polisen")
    delivery = tmp_path / "polis.csv"
    delivery.write_text("område,vecka,indikator,antal\n1101,2026-W07,ran,40\n")
    cli("ingest", delivery, "--actor", "polisen")
    cli("review", "approve", "1", "--by", "anna")

    layer = gpd.read_file(nyko, layer="nyko3")
    merged = layer[layer["code"].isin(["1101", "1102"])]
    rest = layer[~layer["code"].isin(["1101", "1102"])]
    union = gpd.GeoDataFrame(
        {"code": ["1109"], "population": [int(merged["population"].sum())]},
        geometry=[merged.union_all()],
        crs=layer.crs,
    )
    revised = tmp_path / "nyko_2027.gpkg"
    gpd.pd.concat([rest[["code", "population", "geometry"]], union]).to_file(revised)
    out = cli("areas", "import", revised, "--level-prefixes", "1,2").output
    assert "as area layer version 2" in out and "carried to version 2" in out

    listed = cli("areas", "list").output
    assert "Versioner / versions:" in listed
    lines = [line for line in listed.splitlines() if "deliveries" in line]
    assert len(lines) == 2 and lines[1].startswith("*") and "1 deliveries" in lines[0]
    value = pg_conn.execute(
        "SELECT value, area_version FROM publish.observations WHERE area_code = '1109'"
    ).fetchall()
    ((published, version),) = value  # the 40 carried to the merged area, protected (within D)
    assert version == 2 and abs(published - 40) <= 3
