"""The analyses on the demo history: the planted patterns come back, bad inputs say what to change.

Runs on the session's demo database (read only: no run here is saved) and, for the all-zero
and few-area cases, on small hand-made cubes. Expected areas come from
``demo.plan_patterns``, never hard-coded.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import psycopg
import pytest

from lagesbild_geo.analysis import run as analysis
from lagesbild_geo.analysis.params import PATTERN_SV, parse_params
from lagesbild_geo.demo.history import plan_patterns, read_demo_layer, weeks_of_history
from lagesbild_geo.errors import InputError
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.weeks import iso_week
from tests.conftest import PG_PASSWORD, PG_USER

READER_PASSWORD = "reader-test-pw"  # the same as test_server_features.py (the role is global)
#: The cell key method's largest perturbation at the demo's k = 5: a published count is within
#: D of its truth.
D = 3


@pytest.fixture(scope="module")
def planted():
    level3 = read_demo_layer()[0]
    return {p.key: p for p in plan_patterns(level3, weeks_of_history())}


@pytest.fixture(scope="module")
def db(demo_db_url):
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        yield conn


def _by_area(collection) -> dict[str, dict]:
    return {f["properties"]["area_code"]: f["properties"] for f in collection["features"]}


# -- the planted patterns ----------------------------------------------------------------------


def test_vandalism_cluster_is_a_significant_hot_spot(demo_db_url, planted):
    cluster = planted["vandalism_cluster"]
    result = analysis.run(demo_db_url, "hotspots", {"indicator": cluster.indicator})
    props = _by_area(result)
    assert len(props) == 60 and result["warnings"] == []
    for area in cluster.areas:
        assert props[area]["bin"] >= 2, (area, props[area])
        assert props[area]["label_sv"].startswith("Het punkt")
        assert props[area]["label_en"].startswith("Hot spot")
    hot = {a for a, p in props.items() if p["bin"] >= 2}
    assert len(hot - set(cluster.areas)) <= 2  # the cluster, not the whole map
    assert result["features"][0]["geometry"]["type"] == "MultiPolygon"
    lon, lat = result["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 10 < lon < 25 and 55 < lat < 70  # CRS84: longitude first


def test_persistent_disorder_and_arson_spike_are_hot_spots(demo_db_url, planted):
    disorder = planted["persistent_disorder"]
    props = _by_area(analysis.run(demo_db_url, "hotspots", {"indicator": disorder.indicator}))
    assert props[disorder.areas[0]]["bin"] >= 2

    spike = planted["arson_spike"]
    week = iso_week(spike.weeks[0])
    inputs = {"indicator": spike.indicator, "period_start": week, "period_end": week}
    props = _by_area(analysis.run(demo_db_url, "hotspots", inputs))
    assert props[spike.areas[0]]["bin"] >= 2
    assert props[spike.areas[0]]["value"] >= 12 - D  # the planted 12 extra, protected


def test_emerging_hot_spots_classify_the_cluster_as_hot(demo_db_url, planted):
    cluster = planted["vandalism_cluster"]
    result = analysis.run(demo_db_url, "emerging-hotspots", {"indicator": cluster.indicator})
    props = _by_area(result)
    for area in cluster.areas:
        assert props[area]["pattern"].endswith("Hot Spot"), (area, props[area]["pattern"])
        assert props[area]["pattern_sv"].endswith("het punkt")
        assert props[area]["hot_weeks"] > 0
    assert set(p["pattern"] for p in props.values()) <= set(PATTERN_SV)


def test_trends_find_the_growing_and_the_improving_areas(demo_db_url, planted):
    cluster = planted["vandalism_cluster"]
    improving = planted["improving_after_intervention"]
    result = analysis.run(
        demo_db_url, "trends", {"indicators": [cluster.indicator, improving.indicator]}
    )
    trend = {f["id"]: f["properties"] for f in result["features"]}
    assert len(trend) == 2 * 60
    for area in cluster.areas:
        props = trend[f"{area}:{cluster.indicator}"]
        assert props["trend"] == "increasing" and props["direction_sv"] == "Ökande"
        assert props["slope_per_week"] > 0 and props["weeks"] == 52
    props = trend[f"{improving.areas[0]}:{improving.indicator}"]
    assert props["trend"] == "decreasing" and props["direction_en"] == "Decreasing"
    assert props["tau"] < 0


def test_early_warning_flags_per_area_and_indicator(demo_db_url, planted):
    spike = planted["arson_spike"]
    week = spike.weeks[0]
    inputs = {"indicators": [spike.indicator], "period_end": iso_week(week)}
    result = analysis.run(demo_db_url, "early-warning", inputs)
    props = {f["id"]: f["properties"] for f in result["features"]}
    spiked = props[f"{spike.areas[0]}:{spike.indicator}"]
    assert spiked["flag"] and spiked["label_sv"] == "Varning: ovanligt högt"
    assert spiked["observed"] >= 12 - D
    assert sum(p["flag"] for p in props.values()) <= 3
    assert result["provenance"]["input"]["weeks"] == 26 + 2 + 1


def test_a_week_waiting_for_review_is_no_data_not_zero(demo_db_url, db):
    """The police's newest block is pending: those weeks must not look like a fall to 0."""
    (pending_first,) = db.execute(
        "SELECT min(d.first_week) FROM lagesbild.delivery d JOIN lagesbild.actor a"
        " ON a.id = d.actor_id WHERE d.status = 'pending' AND a.kind = 'police'"
    ).fetchone()
    start = pending_first - timedelta(weeks=8)
    inputs = {
        "indicators": ["narkotika"],
        "period_start": iso_week(start),
        "period_end": iso_week(pending_first + timedelta(weeks=3)),
    }
    result = analysis.run(demo_db_url, "trends", inputs)
    gaps = result["provenance"]["input"]["weeks_without_data"]
    assert gaps == [iso_week(pending_first + timedelta(weeks=i)) for i in range(4)]
    assert {f["properties"]["weeks"] for f in result["features"]} == {8}


# -- provenance --------------------------------------------------------------------------------


def test_provenance_names_parameters_software_deliveries_and_imputed_cells(demo_db_url, db):
    inputs = {"indicator": "skadegorelse", "period_start": "2026-W30", "period_end": "2026-W37",
              "seed": 11, "permutations": 199, "fdr": True}  # fmt: skip
    prov = analysis.run(demo_db_url, "hotspots", inputs)["provenance"]
    params = prov["parameters"]
    assert params["seed"] == prov["seed"] == 11 and params["permutations"] == 199
    assert params["fdr"] is True and params["weights"] == "queen"
    assert (params["period_start"], params["period_end"]) == ("2026-W30", "2026-W37")
    assert set(prov["software"]) >= {"lagesbild", "numpy", "scipy", "pygeoapi", "python"}
    assert all(v != "not installed" for v in prov["software"].values())
    state = publish.read_state(db)
    assert prov["input"]["publication_version"] == state.version and prov["input"]["k"] == state.k
    assert prov["input"]["imputed_value"] == (state.k - 1) / 2
    (withheld,) = db.execute(
        "SELECT count(*) FROM publish.observations WHERE indicator = 'skadegorelse'"
        " AND value_status <> 'published' AND week_start BETWEEN '2026-07-20' AND '2026-09-07'"
    ).fetchone()
    # counts are protected by perturbation, not withheld: nothing to impute
    assert prov["input"]["imputed_cells"] == withheld == 0
    assert "cell key method" in prov["input"]["source"]
    expected = [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT o.delivery_id FROM lagesbild.approved_observation o"
            " WHERE o.indicator_id = 'skadegorelse'"
            " AND o.week_start BETWEEN '2026-07-20' AND '2026-09-07' ORDER BY 1"
        )
    ]
    assert prov["input"]["deliveries"] == expected


def test_the_analysis_needs_nothing_but_the_reader_role(demo_db_url, db):
    """The processes run as lagesbild_reader, which cannot read a single restricted row."""
    db.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
    reader = demo_db_url.replace(
        f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{READER_PASSWORD}"
    )
    result = analysis.run(reader, "trends", {"indicator": "ordningsstorning"})
    assert result["numberReturned"] == 60
    with psycopg.connect(reader) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM lagesbild.observation")


# -- bad input ---------------------------------------------------------------------------------

BAD_INPUTS = [
    (
        "hotspots",
        {"indicator": "nope"},
        "Unknown indicator (not in the catalogue); known indicators: ",
    ),
    ("hotspots", {"indicator": 5}, "must be the catalogue id as text"),
    ("hotspots", {}, "Name the indicator to analyse"),
    ("hotspots", {"indicator": "ofullstandiga_betyg_ak9"}, "is published as a share"),
    (
        "hotspots",
        {"indicator": "skadegorelse", "period_start": "2020-W01", "period_end": "2020-W05"},
        "The period 2020-W01..2020-W05 has no published data for skadegorelse",
    ),
    (
        "trends",
        {"indicator": "skadegorelse", "period_start": "2026-W30", "period_end": "2026-W35"},
        "Mann-Kendall needs at least 8 weeks; the period 2026-W30..2026-W35 has 6",
    ),
    (
        "emerging-hotspots",
        {"indicator": "skadegorelse", "period_start": "2026-W30", "period_end": "2026-W35"},
        "needs at least 8 weeks; the period 2026-W30..2026-W35 has 6",
    ),
    (
        "trends",
        {"indicator": "skadegorelse", "seasonal": True, "period_start": "2026-W01"},
        "The seasonal Mann-Kendall test needs a period of at least 104 weeks",
    ),
    (
        "early-warning",
        {"indicator": "skadegorelse", "period_start": "2026-W30", "period_end": "2026-W40"},
        "needs 29 weeks; the period has 11",
    ),
    (
        "hotspots",
        {"indicator": "skadegorelse", "weights": "distance_band", "distance_m": 10},
        "all 60 areas are isolated with distance_band weights (parameter 10); choose a larger "
        "distance band or use k nearest neighbours",
    ),
    ("hotspots", {"indicator": "skadegorelse", "weights": "distance_band"}, "needs distance_m"),
    ("hotspots", {"indicator": "skadegorelse", "weights": "knn", "k_neighbours": 99}, "k must"),
    ("hotspots", {"indicator": "skadegorelse", "weights": "rook"}, "weights must be one of"),
    ("hotspots", {"indicator": "skadegorelse", "permutations": "many"}, "a whole number"),
    ("hotspots", {"indicator": "skadegorelse", "permutations": 10**6}, "between 0 and 9999"),
    ("hotspots", {"indicator": "skadegorelse", "fdr": "yes"}, "fdr must be true or false"),
    ("hotspots", {"indicator": "skadegorelse", "period_end": "week 7"}, "not an ISO week"),
    (
        "hotspots",
        {"indicator": "skadegorelse", "period_start": "2026-W10", "period_end": "2026-W01"},
        "period_start 2026-W10 is after period_end 2026-W01",
    ),
    ("hotspots", {"indicator": "skadegorelse", "actor_kinds": ["vakter"]}, "unknown actor kind"),
    ("hotspots", {"indicator": "skadegorelse", "actor_kinds": ["police"]}, "no published data"),
    ("hotspots", {"indicators": ["ran", "skadegorelse"]}, "one indicator at a time"),
    ("early-warning", {"indicator": "ran", "measure": "rate"}, "use measure 'count'"),
    ("early-warning", {"indicator": "ran", "publish": True}, "not a published layer"),
]


@pytest.mark.parametrize(("process", "inputs", "message"), BAD_INPUTS)
def test_bad_input_says_what_to_change(demo_db_url, process, inputs, message):
    with pytest.raises(InputError) as err:
        analysis.run(demo_db_url, process, inputs)
    assert message in str(err.value)


#: A caller's value is never repeated in a refusal (issue 11: name the input and the reason,
#: never the value): a name or a personnummer typed into a process input stays out of logs
#: and job records.
PERSONAL = "Anna Svensson 19850412-1230"
ECHO_PROBES = [
    {"indicator": PERSONAL},
    {"indicators": [PERSONAL]},
    {"indicator": "skadegorelse", "period_end": PERSONAL},
    {"indicator": "skadegorelse", "period_start": PERSONAL},
    {"indicator": "skadegorelse", "actor_kinds": [PERSONAL]},
    {"indicator": "skadegorelse", "weights": PERSONAL},
    {"indicator": "skadegorelse", "measure": PERSONAL},
    {"indicator": "skadegorelse", "permutations": PERSONAL},
    {"indicator": "skadegorelse", "alpha": PERSONAL},
    {"indicator": "skadegorelse", "fdr": PERSONAL},
]


@pytest.mark.parametrize("inputs", ECHO_PROBES)
def test_a_refused_input_is_never_repeated(demo_db_url, inputs):
    with pytest.raises(InputError) as err:
        analysis.run(demo_db_url, "hotspots", inputs)
    message = str(err.value)
    for part in ("Anna", "Svensson", "19850412", "1230"):
        assert part not in message, message


def test_an_all_zero_period_is_nothing_to_analyse(demo_db_url, db):
    (indicator, week) = db.execute(
        "SELECT indicator, week_start FROM publish.observations GROUP BY 1, 2"
        " HAVING bool_and(coalesce(value, 1) = 0) ORDER BY 2, 1 LIMIT 1"
    ).fetchone()
    iso = iso_week(week)
    inputs = {"indicator": indicator, "period_start": iso, "period_end": iso}
    with pytest.raises(InputError, match=f"Every area has 0 {indicator} in {iso}..{iso}"):
        analysis.run(demo_db_url, "hotspots", inputs)


# -- small hand-made cubes (no database) -------------------------------------------------------


def _cube(values: np.ndarray, n_areas: int) -> analysis.Cube:
    layer = read_demo_layer()[0].sort_values("code").head(n_areas)
    weeks = [weeks_of_history()[0] + timedelta(weeks=i) for i in range(values.shape[-1])]
    return analysis.Cube(
        codes=list(layer["code"]),
        names=list(layer["name"]),
        population=layer["population"].to_numpy(float),
        geojson=['{"type": "Point", "coordinates": [17, 59]}'] * n_areas,
        metric=layer.geometry.to_numpy(),
        indicators={"ran": {"id": "ran", "name_sv": "Rån", "name_en": "Robbery", "unit": "count"}},
        weeks=weeks,
        values=values,
        imputed_cells=0,
        cells=values.size,
        k=5,
        version=1,
        deliveries=[1],
    )


def test_all_zero_series_have_no_trend_and_no_hot_spots(monkeypatch):
    cube = _cube(np.zeros((40, 1, 12)), 40)
    monkeypatch.setattr(analysis, "load_cube", lambda conn, params: cube)
    result = analysis.analyse(None, parse_params("trends", {"indicator": "ran"}))
    props = [f["properties"] for f in result["features"]]
    assert {p["trend"] for p in props} == {"no trend"} and {p["p"] for p in props} == {1.0}
    with pytest.raises(InputError, match="nothing to analyse"):
        analysis.analyse(None, parse_params("hotspots", {"indicator": "ran"}))


def test_fewer_than_30_areas_is_a_warning_not_an_error(monkeypatch):
    rng = np.random.default_rng(3)
    cube = _cube(rng.poisson(3.0, (12, 1, 4)).astype(float), 12)
    monkeypatch.setattr(analysis, "load_cube", lambda conn, params: cube)
    result = analysis.analyse(None, parse_params("hotspots", {"indicator": "ran"}))
    assert result["numberReturned"] == 12
    assert result["warnings"][0].startswith("WARNING: only 12 areas")
