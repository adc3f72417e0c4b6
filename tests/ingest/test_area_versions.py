"""Area layers that change: versions, the crosswalk, kept fields and level prefixes.

Södertälje's DeSO layer is imported, deliveries are stored and approved against it, then a
revised copy built here (one area split in two, two neighbours merged into one, the rest kept)
is imported. The publication must show the history on the new areas with the totals kept, the
stored deliveries must not change, and new deliveries must be placed in the new areas. The
broken area files of ``tests/data/areas`` (made by its ``make.py``) are each refused with
their reason.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import ConflictError, InputError
from lagesbild_geo.ingest.area_geometry import neighbours
from lagesbild_geo.ingest.area_levels import GUESS, guess_level_prefixes, keep_stored_fields
from lagesbild_geo.ingest.areas import AreaCodeError, AreaFileError, parent_levels, read_area_file
from lagesbild_geo.ingest.pipeline import import_areas, ingest_file
from lagesbild_geo.publish import publication
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.store import deliveries as store
from lagesbild_geo.store.areas import layer_versions
from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor
from tests.conftest import table_counts

SHARED_AREAS = Path(__file__).resolve().parents[3] / "shared" / "areas"
SODERTALJE_GPKG = SHARED_AREAS / "deso2018_sodertalje.gpkg"
BROKEN = Path(__file__).resolve().parents[1] / "data" / "areas"
DESO = {"code_field": "deso_code", "name_field": "name", "population_field": "pop_2023"}
WEEKS = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(4)]
SPLIT_INTO = ("0181C9001", "0181C9002")
MERGED_INTO = "0181C9003"
K = 5


def _import(conn, path: Path, **fields) -> int:
    layer = read_area_file(path, **(fields or DESO), level_prefixes=GUESS)
    levels = [parent_levels(layer.frame, layer.level_prefixes), layer.frame]
    with conn.transaction():
        n = import_areas(conn, levels, source=str(path), report=layer.report.to_dict())
        publication.refresh(conn, K)
    return n


def _revised(tmp_path: Path) -> tuple[Path, str, tuple[str, str]]:
    """Södertälje's layer with one area split in two (60 / 40 % of its people) and two
    neighbours merged; returns the file, the split code and the merged codes."""
    raw = gpd.read_file(SODERTALJE_GPKG).sort_values("deso_code").reset_index(drop=True)
    split = raw["deso_code"].iloc[0]
    frame = gpd.GeoDataFrame(raw[["deso_code", "name", "pop_2023"]], geometry=raw.geometry)
    adjacent = neighbours(frame.rename(columns={"deso_code": "code"}))
    merged = next((a, b) for a in sorted(adjacent) if a != split for b in adjacent[a] if b != split)
    rows = frame[~frame["deso_code"].isin([split, *merged])].to_dict("records")
    geom = frame.geometry[frame["deso_code"] == split].iloc[0]
    pop = int(frame["pop_2023"][frame["deso_code"] == split].iloc[0])
    minx, miny, maxx, maxy = geom.bounds
    cut = shapely.centroid(geom).x
    for code, box, share in (
        (SPLIT_INTO[0], shapely.box(minx - 1, miny - 1, cut, maxy + 1), 0.6),
        (SPLIT_INTO[1], shapely.box(cut, miny - 1, maxx + 1, maxy + 1), 0.4),
    ):
        part = shapely.intersection(geom, box)
        people = round(pop * share) if code == SPLIT_INTO[0] else pop - round(pop * 0.6)
        rows.append({"deso_code": code, "name": code, "pop_2023": people, "geometry": part})
    pair = frame[frame["deso_code"].isin(merged)]
    rows.append(
        {
            "deso_code": MERGED_INTO,
            "name": "Sammanslaget",
            "pop_2023": int(pair["pop_2023"].sum()),
            "geometry": shapely.union_all(pair.geometry.to_numpy()),
        }
    )
    path = tmp_path / "deso2025_sodertalje.gpkg"
    gpd.GeoDataFrame(rows, geometry="geometry", crs=raw.crs).to_file(path)
    return path, split, merged


def _observations(conn) -> list[tuple]:
    return conn.execute(
        "SELECT delivery_id, area_code, week_start, indicator_id, numerator, denominator"
        " FROM lagesbild.observation ORDER BY 1, 2, 3, 4"
    ).fetchall()


def _published(conn) -> dict[tuple, tuple]:
    """Per published cell: (value, numerator, denominator, status, area version), the figures
    as the protection step receives them from the crosswalk (the contributions publish.
    _refresh_begin collects, summed per cell), so that the apportionment is checked exactly;
    the published values are those within D per contribution (test_publish_sql checks that
    step)."""
    status = {
        r[:3]: r[3:]
        for r in conn.execute(
            "SELECT area_code, week_start, indicator, value_status, area_version"
            " FROM publish.observations"
        )
    }
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT * FROM publish._refresh_begin(NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        )
        rows = conn.execute(
            "SELECT area_code, week_start, indicator_id, unit, sum(num), sum(den)"
            " FROM pg_temp.contribution_in GROUP BY 1, 2, 3, 4"
        ).fetchall()
    out = {}
    for area, week, ind, unit, num, den in rows:
        if unit == "share":
            value, numerator, denominator = round(100 * num / den, 1), int(num), int(den)
        else:
            value, numerator, denominator = float(num), None, None
        out[(area, week, ind)] = (value, numerator, denominator, *status[(area, week, ind)])
    return out


@pytest.fixture
def delivered(pg_conn):
    """Södertälje's layer (version 1) with a police count and an education share, approved."""
    sync_catalogue(pg_conn, load_catalogue())
    _import(pg_conn, SODERTALJE_GPKG)
    upsert_actor(pg_conn, "polisen", "police", "Polisen")
    upsert_actor(pg_conn, "utbildning", "education", "Utbildningsförvaltningen")
    codes = [r[0] for r in pg_conn.execute("SELECT code FROM lagesbild.area WHERE level = 3")]
    rng = np.random.default_rng(11)
    counts = [
        {
            "area_code": c,
            "week_start": w,
            "indicator": "anlagd_brand",
            "numerator": int(rng.integers(20, 60)),
        }
        for w in WEEKS
        for c in codes
    ]
    shares = [
        {
            "area_code": c,
            "week_start": w,
            "indicator": "ofullstandiga_betyg_ak9",
            "numerator": int(n),
            "denominator": int(n + rng.integers(20, 50)),
        }
        for w in WEEKS[:1]
        for c in codes
        for n in [rng.integers(10, 30)]
    ]
    for actor, name, rows in (("polisen", "p.csv", counts), ("utbildning", "u.csv", shares)):
        new = store.NewDelivery(
            actor_id=actor,
            file_name=name,
            content_sha256=hashlib.sha256(name.encode()).hexdigest(),
            shape="aggregated",
            row_count=len(rows),
            observations=pd.DataFrame(rows),
        )
        delivery_id, _ = store.save_delivery(pg_conn, new)
        change_status(pg_conn, delivery_id, "approve", by_whom="granskare")
    return pg_conn


def test_a_revised_layer_becomes_version_2_and_carries_the_history(delivered, tmp_path):
    conn = delivered
    before_obs = _observations(conn)
    before = _published(conn)
    path, split, merged = _revised(tmp_path)
    assert _import(conn, path) == 51 - 1 + 2 - 2 + 1

    versions = layer_versions(conn)
    assert [(v["version"], v["current"], v["deliveries"]) for v in versions] == [
        (1, False, 2),
        (2, True, 0),
    ]
    assert _observations(conn) == before_obs  # stored deliveries keep their codes
    after = _published(conn)
    assert {v[-1] for v in after.values()} == {2}
    assert conn.execute("SELECT DISTINCT area_version FROM publish.areas").fetchall() == [(2,)]

    weights = dict(
        conn.execute(
            "SELECT to_code, weight FROM lagesbild.area_crosswalk"
            " WHERE from_code = %s AND basis = 'population'",
            (split,),
        ).fetchall()
    )
    assert weights.keys() == set(SPLIT_INTO) and weights[SPLIT_INTO[0]] == pytest.approx(
        0.6, abs=0.01
    )
    for week in WEEKS:
        old = before[(split, week, "anlagd_brand")][0]
        pieces = [after[(code, week, "anlagd_brand")][0] for code in SPLIT_INTO]
        assert sum(pieces) == old  # apportioned, whole numbers, the total kept
        for code, piece in zip(SPLIT_INTO, pieces, strict=True):
            assert abs(piece - weights[code] * old) < 1
        pair = sum(before[(code, week, "anlagd_brand")][0] for code in merged)
        assert after[(MERGED_INTO, week, "anlagd_brand")][0] == pair  # the merged: the sum
    kept = {key: v[:4] for key, v in before.items() if key[0] not in (split, *merged)}
    assert kept == {key: v[:4] for key, v in after.items() if key in kept}  # the rest as it was
    # a share keeps numerator <= denominator in every piece, and both totals
    for code in SPLIT_INTO:
        _, num, den, _, _ = after[(code, WEEKS[0], "ofullstandiga_betyg_ak9")]
        assert 0 <= num <= den
    old_share = before[(split, WEEKS[0], "ofullstandiga_betyg_ak9")]
    new_share = [after[(c, WEEKS[0], "ofullstandiga_betyg_ak9")] for c in SPLIT_INTO]
    assert sum(s[1] for s in new_share) == old_share[1]
    assert sum(s[2] for s in new_share) == old_share[2]
    situation = conn.execute("SELECT count(*) FROM publish.situation").fetchone()[0]
    assert situation == 51 - 1 + 2 - 2 + 1


def test_totals_are_kept_before_suppression_per_week_and_indicator(delivered, tmp_path):
    conn = delivered
    old = conn.execute(
        "SELECT week_start, indicator_id, sum(numerator), sum(denominator)"
        " FROM lagesbild.approved_observation GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    _import(conn, _revised(tmp_path)[0])
    with conn.transaction():
        source = conn.execute("SELECT publish._place_observations(2)::text").fetchone()[0]
        assert source == "placed_observation"
        placed = conn.execute(
            "SELECT week_start, indicator_id, sum(numerator), sum(denominator)"
            " FROM pg_temp.placed_observation GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        codes = {r[0] for r in conn.execute("SELECT area_code FROM pg_temp.placed_observation")}
    assert placed == old
    assert codes <= {r[0] for r in conn.execute("SELECT code FROM lagesbild.area")}


def test_new_deliveries_are_placed_in_the_new_areas(delivered, tmp_path):
    conn = delivered
    path, split, _ = _revised(tmp_path)
    _import(conn, path)
    good = tmp_path / "ny.csv"
    good.write_text(f"område,vecka,indikator,antal\n{SPLIT_INTO[1]},2026-W07,ran,7\n")
    result = ingest_file(conn, good, actor_id="polisen")
    assert result.status == "pending"
    (version,) = conn.execute(
        "SELECT area_version FROM lagesbild.delivery WHERE id = %s", (result.delivery_id,)
    ).fetchone()
    assert version == 2
    old = tmp_path / "gammal.csv"
    old.write_text(f"område,vecka,indikator,antal\n{split},2026-W07,ran,7\n")
    counts = table_counts(conn)
    with pytest.raises(InputError, match="unknown area code"):
        ingest_file(conn, old, actor_id="polisen")  # a code of version 1 only
    assert table_counts(conn) == counts


def test_a_layer_that_leaves_out_a_used_area_is_refused_and_nothing_changes(delivered, tmp_path):
    conn = delivered
    raw = gpd.read_file(SODERTALJE_GPKG).sort_values("deso_code")
    path = tmp_path / "smaller.gpkg"
    raw.iloc[1:].to_file(path)  # the first area is gone, and no new area covers it
    counts = table_counts(conn)
    with pytest.raises(ConflictError, match="leaves out 1 areas"):
        _import(conn, path)
    assert table_counts(conn) == counts
    assert [v["version"] for v in layer_versions(conn)] == [1]


def test_the_same_layer_again_is_no_new_version(delivered):
    published = _published(delivered)
    _import(delivered, SODERTALJE_GPKG)
    assert [v["version"] for v in layer_versions(delivered)] == [1]
    assert _published(delivered) == published


def test_single_version_publication_reads_the_approved_observations(delivered):
    with delivered.transaction():
        (same,) = delivered.execute(
            "SELECT publish._place_observations(1) = 'lagesbild.approved_observation'::regclass"
        ).fetchone()
    assert same


# --- kept fields and level prefixes ------------------------------------------------------------


def test_fields_not_given_keep_their_stored_values_for_the_codes_that_stay():
    new = pd.DataFrame(
        {
            "code": ["a", "b", "c"],
            "name": ["a", "b", "c"],
            "population": pd.array([None, None, None], dtype="Int64"),
        }
    )
    stored = pd.DataFrame(
        {
            "code": ["a", "b"],
            "name": ["Centrum", "b"],
            "population": pd.array([1200, None], dtype="Int64"),
        }
    )
    out, notes = keep_stored_fields(new, stored, names=True, population=True)
    assert out["name"].tolist() == ["Centrum", "b", "c"]
    assert out["population"].tolist()[:1] == [1200] and out["population"].isna().tolist() == [
        False,
        True,
        True,
    ]
    assert len(notes) == 2 and "--clear-population" in notes[1]
    out, notes = keep_stored_fields(new, stored, names=False, population=False)
    assert out.equals(new) and notes == []


@pytest.mark.parametrize(
    ("codes", "guess"),
    [
        (["0181C1010", "0181A0020", "0181B0030"], (4, 5)),
        (["0181C1010", "0181D1010"], None),  # D is no DeSO type
        (["0181C101"], None),  # 8 characters
        (["0181C10100"], None),  # 10 characters
        (["0181c1010"], None),  # lower case: not SCB's spelling
        (["０１８１C1010"], None),  # full-width digits
        (["0181C1010\n"], None),
        (["1101", "1102"], None),  # NYKO
        ([], None),
    ],
)
def test_level_prefixes_are_guessed_only_from_deso_codes(codes, guess):
    assert guess_level_prefixes(codes) == guess


def test_deso_codes_get_4_5_and_the_report_says_so():
    layer = read_area_file(SODERTALJE_GPKG, **DESO, level_prefixes=GUESS)
    assert layer.level_prefixes == (4, 5)
    assert "DeSO codes" in layer.report.summary()
    parents = parent_levels(layer.frame, layer.level_prefixes)
    assert sorted(parents["code"]) == ["0181", "0181A", "0181B", "0181C"]


BROKEN_FILES = {
    "nyko_without_prefixes.geojson": (AreaCodeError, "are not DeSO codes"),
    "deso_wrong_type_letter.geojson": (AreaCodeError, "give --level-prefixes"),
    "deso_short_code.geojson": (AreaCodeError, "give --level-prefixes"),
    "deso_mixed_with_nyko.geojson": (AreaCodeError, "give --level-prefixes"),
    "deso_fullwidth_digits.geojson": (AreaCodeError, "give --level-prefixes"),
    "population_not_a_number.geojson": (AreaFileError, "not a whole number"),
    "population_negative.geojson": (AreaFileError, "not a whole number ≥ 0"),
    "duplicate_deso_code.geojson": (AreaCodeError, "occurs 2 times"),
    "missing_code.geojson": (AreaCodeError, "has no area code"),
    "level_not_a_number.geojson": (AreaFileError, "is not a whole number"),
    "no_level_3.geojson": (AreaFileError, "no level-3 features"),
    "point_geometry.geojson": (AreaFileError, "not a polygon"),
}
LEVEL_FIELD_FILES = {"level_not_a_number.geojson", "no_level_3.geojson"}


def test_every_broken_area_file_has_a_case():
    assert {p.name for p in BROKEN.glob("*.geojson")} == set(BROKEN_FILES)


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_broken_area_file_is_refused_with_its_reason(name):
    error, reason = BROKEN_FILES[name]
    extra = {"level_field": "niva"} if name in LEVEL_FIELD_FILES else {}
    population = {} if name.startswith(("level", "no_level")) else {"population_field": "pop"}
    with pytest.raises(error, match=reason) as refused:
        read_area_file(BROKEN / name, code_field="kod", **population, **extra, level_prefixes=GUESS)
    assert str(BROKEN / name) in str(refused.value)


def test_an_unchanged_area_keeps_its_breakdown_through_a_revision(delivered, tmp_path):
    conn = delivered
    path, split, merged = _revised(tmp_path)
    kept = sorted(set(_codes(conn)) - {split, *merged})[0]
    cells = pd.DataFrame(
        [
            {
                "area_code": code,
                "week_start": WEEKS[0],
                "indicator": "ran",
                "numerator": 12,
                "event_hours": [10] * 6 + [40] * 6,
            }
            for code in (kept, split)
        ]
    )
    new = store.NewDelivery(
        actor_id="polisen",
        file_name="h.csv",
        content_sha256="b" * 64,
        shape="events",
        row_count=24,
        observations=cells,
    )
    delivery_id, _ = store.save_delivery(conn, new)
    change_status(conn, delivery_id, "approve", by_whom="granskare")
    query = (
        "SELECT area_code, has_breakdown, by_weekday_mon, by_weekday_tue, value"
        " FROM publish.observations WHERE indicator = 'ran' AND value > 0 ORDER BY 1"
    )
    before = conn.execute(query).fetchall()
    assert [r[:2] for r in before] == sorted([(kept, True), (split, True)])
    for _code, _, mon, tue, value in before:  # protected: within D of 6, 6 and 12, adding up
        assert abs(mon - 6) <= 3 and abs(tue - 6) <= 3 and mon + tue == value
        assert abs(value - 12) <= 3
    _import(conn, path)
    rows = conn.execute(query).fetchall()
    kept_row = next(r for r in before if r[0] == kept)
    assert kept_row in rows  # read as it was, breakdown included: the same published figures
    exact = _published(conn)
    pieces = [exact[(c, WEEKS[0], "ran")] for c in SPLIT_INTO]  # apportioned: no breakdown
    assert sum(p[0] for p in pieces) == 12.0
    published = {r[0]: r for r in conn.execute(query.replace(" AND value > 0", "")).fetchall()}
    assert [published[c][1:4] for c in SPLIT_INTO] == [(False, None, None)] * 2


def _codes(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT code FROM lagesbild.area WHERE level = 3")]


# --- the apportioning, for any weights and counts ------------------------------------------------

pieces_and_counts = st.tuples(
    st.lists(st.floats(0.011, 1.0), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=4),
)


@pytest.fixture
def crosswalk_db(pg_conn):
    """Two versions, one past area ``A`` and an actor: the rest is written per example."""
    sync_catalogue(pg_conn, load_catalogue())
    upsert_actor(pg_conn, "utbildning", "education", "Utbildningsförvaltningen")
    pg_conn.execute(
        "INSERT INTO lagesbild.area_version (source) VALUES ('v1'), ('v2');"
        "INSERT INTO lagesbild.area_past (version_id, code, name, geom)"
        " VALUES (1, 'A', 'A', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 3006)))"
    )
    pg_conn.commit()
    return pg_conn


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pieces_and_counts)
def test_apportioned_pieces_are_whole_keep_the_totals_and_follow_the_weights(crosswalk_db, example):
    conn = crosswalk_db
    raw, cells = example
    weights = [w / sum(raw) for w in raw]
    codes = [f"B{i}" for i in range(len(weights))]
    with conn.transaction(force_rollback=True):
        for code, weight in zip(codes, weights, strict=True):
            conn.execute(
                "INSERT INTO lagesbild.area_crosswalk VALUES (1, 'A', 2, %s, %s, 'area')",
                (code, min(weight, 1.0)),
            )
        conn.execute(
            "INSERT INTO lagesbild.delivery (id, actor_id, file_name, content_sha256, shape,"
            " status, row_count, first_week, last_week, reviewed_by, area_version)"
            " VALUES (1, 'utbildning', 'u', %s, 'aggregated', 'approved', 1, %s, %s, 'x', 1)",
            ("c" * 64, WEEKS[0], WEEKS[0]),
        )
        for i, (num, rest) in enumerate(cells):
            conn.execute(
                "INSERT INTO lagesbild.observation (delivery_id, area_code, week_start,"
                " indicator_id, numerator, denominator) VALUES (1, 'A', %s, %s, %s, %s)",
                (WEEKS[0] + timedelta(weeks=i), "ofullstandiga_betyg_ak9", num, num + rest or None),
            )
        conn.execute("SELECT publish._place_observations(2)")
        placed = conn.execute(
            "SELECT week_start, area_code, numerator, denominator FROM pg_temp.placed_observation"
        ).fetchall()
    for i, (num, rest) in enumerate(cells):
        week = WEEKS[0] + timedelta(weeks=i)
        got = {code: (n, d) for w, code, n, d in placed if w == week}
        assert sum(n for n, _ in got.values()) == num
        if num + rest:
            assert sum(d for _, d in got.values()) == num + rest
            assert all(0 <= n <= d for n, d in got.values())
        for code, weight in zip(codes, weights, strict=True):
            n = got.get(code, (0, 0))[0]
            assert abs(n - weight * num) < 1
