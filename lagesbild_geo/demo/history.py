"""The demo municipality's two-year history: deliveries from all six actor kinds, seeded.

The history exists so that a new user (and the test suite) can see every part of the service
work on data with a known truth. Patterns are planted on purpose; ``PLANTED`` lists them and the
README repeats the list:

* a vandalism cluster (``skadegorelse``) that starts in one area and grows over its neighbours;
* a persistent disorder hot spot (``ordningsstorning``) in the town centre;
* a single-week spike of arson (``anlagd_brand``) in one area;
* a seasonal summer pattern (``brand_offentlig_utomhus`` and ``samlingsplats``);
* one area improving after a dated intervention (``narkotika`` falls from a given week on);
* the last four-week deliveries of three actors left pending review, one delivery rejected,
  one corrected by a replacement, and one possible double report (the security company and
  the housing company both report the same vandalism in the same area and hour).

Every delivery goes through the real ingest pipeline from a real file (CSV or Excel), so the
demo also exercises reading, validation, placement and storage.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.db.connection import one
from lagesbild_geo.demo.areas import DEFAULT_PATH, LEVEL_PREFIXES, level_names, make_demo_areas
from lagesbild_geo.ingest.area_geometry import neighbours
from lagesbild_geo.ingest.areas import parent_levels
from lagesbild_geo.ingest.pipeline import import_areas, ingest_file
from lagesbild_geo.publish import publication
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor
from lagesbild_geo.weeks import iso_week

DEFAULT_SEED = 7
#: Monday of the last week of the history (2026-W46), fixed so the demo is the same everywhere.
END_WEEK = date(2026, 11, 9)
WEEKS = 104
BLOCK_WEEKS = 4  # police, rescue, security and housing deliver every four weeks
REVIEWER = "demo-granskare"
#: Weekly events a planted pattern adds per actor: well above the publication threshold k = 5,
#: so the patterns stay visible in the protected public layers and in analyses run on them.
PLANTED_EXTRA = 7.0

ACTORS = {
    "polisen": ("police", "Polisen, lokalpolisområde Lägesby"),
    "raddningstjansten": ("rescue", "Räddningstjänsten Lägesby"),
    "vaktbolaget": ("security", "Trygga Vakter AB"),
    "bostadsbolaget": ("housing", "Lägesbyhem AB"),
    "utbildning": ("education", "Utbildningsförvaltningen, Lägesby kommun"),
    "socialtjansten": ("social", "Socialtjänsten, Lägesby kommun"),
    "kommunen": ("municipality", "Lägesby kommun, enheten för trygghet och säkerhet"),
}

# Weekly base rates per 1,000 inhabitants, by actor and indicator.
AGGREGATED = {
    "polisen": {
        "anlagd_brand": 0.10, "ran": 0.05, "fordonsstold": 0.20, "vald_hot_tjansteman": 0.03,
        "storm_utan_anmalan": 0.60, "narkotika": 0.25,
    },
    "raddningstjansten": {
        "hot_mot_brandpersonal": 0.02, "brand_offentlig_inomhus": 0.05,
        "brand_offentlig_utomhus": 0.10, "smabrand_ej_anmald": 0.15,
    },
}  # fmt: skip
EVENTS = {
    "vaktbolaget": {"ordningsstorning": 0.25, "tillbud_offentlig_miljo": 0.10,
                    "skadegorelse": 0.15, "samlingsplats": 0.10},
    "bostadsbolaget": {"storningsanmalan": 0.40, "skadegorelse": 0.15, "klotter": 0.10},
}  # fmt: skip
# Shares: (actor, indicator, ISO weeks delivered, file type, true share, denominator per area).
SHARE_DELIVERIES = (
    ("utbildning", "ofullstandiga_betyg_ak9", (26,), "xlsx", 0.18,
     lambda pop, rng: np.maximum(8, (pop * 0.012).astype(int))),  # pupils leaving year 9
    ("socialtjansten", "orosanmalan_barn", (13, 26, 39, 52), "csv", 0.03,
     lambda pop, rng: np.maximum(50, (pop * 0.2).astype(int))),  # children in the area
    ("kommunen", "otrygghet_enkat", (40,), "csv", 0.22,
     lambda pop, rng: rng.integers(60, 160, len(pop))),  # survey answers
)  # fmt: skip
EVENT_HOURS = {  # when in the day each kind of event is reported (relative weights per hour)
    # The housing company's caretakers find vandalism in the daytime, the guards see it at
    # night, so the two rarely report the same hour: the one planted double report stands out.
    "skadegorelse@bostadsbolaget": [0] * 7 + [3, 3, 3, 2, 2, 2, 2, 1, 1] + [0] * 8,
    "skadegorelse@vaktbolaget": [4, 3, 2, 1, 1, 0, 0] + [0] * 9 + [0, 1, 2, 3, 4, 5, 5, 5],
    "ordningsstorning": [5, 4, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5, 6, 7, 7, 6],
    "default": [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 3, 3, 2, 2],
}


@dataclass(frozen=True)
class PlantedPattern:
    key: str
    indicator: str
    areas: tuple[str, ...]
    description: str
    weeks: tuple[date, ...] = ()


@dataclass
class DemoSummary:
    deliveries: int = 0
    approved: int = 0
    pending: int = 0
    rejected: int = 0
    replaced: int = 0
    double_reports: int = 0
    patterns: list[PlantedPattern] = field(default_factory=list)


def weeks_of_history(end_week: date = END_WEEK, weeks: int = WEEKS) -> list[date]:
    return [end_week - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def planned_delivery_count(weeks: list[date] | None = None) -> int:
    """How many deliveries ``load_demo`` makes (for the progress bar)."""
    weeks = weeks or weeks_of_history()
    blocks = -(-len(weeks) // BLOCK_WEEKS)
    iso = [w.isocalendar()[1] for w in weeks]
    corrections = 1 if blocks > 12 else 0
    rejected = 1 if blocks > 20 else 0
    periodic = sum(i in spec[2] for spec in SHARE_DELIVERIES for i in iso)
    return blocks * (len(AGGREGATED) + len(EVENTS)) + corrections + rejected + periodic


def read_demo_layer() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Level 3 and its parents: the committed file, or the same layer made anew from its seed."""
    if DEFAULT_PATH.exists():
        level3 = gpd.read_file(DEFAULT_PATH, layer="nyko3")
        level3["code"] = level3["code"].astype(str)
    else:
        level3 = make_demo_areas()
    parents = parent_levels(level3, LEVEL_PREFIXES)
    parents["name"] = parents["code"].map(level_names(level3))
    return level3, parents


def plan_patterns(level3: gpd.GeoDataFrame, weeks: list[date]) -> list[PlantedPattern]:
    """Pick the areas of each planted pattern from the layer, deterministically."""
    adjacency = neighbours(level3)
    town = sorted(c for c in level3["code"] if c.startswith("1"))
    suburbs = sorted(c for c in level3["code"] if c[0] in "23")
    centre = town[0]
    seed_area = suburbs[len(suburbs) // 2]
    ring1 = [c for c in adjacency[seed_area] if c != centre][:3]
    ring2 = sorted({n for c in ring1 for n in adjacency[c]} - {seed_area, centre, *ring1})[:3]
    spike_area = town[len(town) // 2]
    improving = sorted(set(suburbs) - {seed_area, *ring1, *ring2})[-1]
    intervention = weeks[60]
    return [
        PlantedPattern("vandalism_cluster", "skadegorelse", (seed_area, *ring1, *ring2),
                       f"Skadegörelse växer från {seed_area} (vecka {iso_week(weeks[52])}) till "
                       f"grannarna {', '.join(ring1)} och sedan {', '.join(ring2)}",
                       (weeks[52], weeks[68], weeks[84])),
        PlantedPattern("persistent_disorder", "ordningsstorning", (centre,),
                       f"Ihållande ordningsstörningar i {centre} hela perioden"),
        PlantedPattern("arson_spike", "anlagd_brand", (spike_area,),
                       f"En vecka med många anlagda bränder i {spike_area} ({iso_week(weeks[80])})",
                       (weeks[80],)),
        PlantedPattern("summer_season", "brand_offentlig_utomhus", tuple(town + suburbs),
                       "Fler bränder utomhus och samlingsplatser under sommarveckorna 23–33"),
        PlantedPattern("improving_after_intervention", "narkotika", (improving,),
                       f"Narkotika minskar i {improving} efter insatsen vecka "
                       f"{iso_week(intervention)}", (intervention,)),
    ]  # fmt: skip


def expected_counts(
    level3: gpd.GeoDataFrame,
    weeks: list[date],
    indicator: str,
    base_per_1000: float,
    patterns: list[PlantedPattern],
) -> np.ndarray:
    """Expected weekly counts (areas × weeks) for one indicator, with the patterns planted."""
    pop = level3["population"].to_numpy(float)
    codes = list(level3["code"])
    lam = np.outer(pop / 1000.0 * base_per_1000, np.ones(len(weeks)))
    iso_weeks = np.array([w.isocalendar()[1] for w in weeks])
    summer = (iso_weeks >= 23) & (iso_weeks <= 33)
    for p in patterns:
        if p.key == "vandalism_cluster" and indicator == "skadegorelse":
            for ring, start in zip((p.areas[:1], p.areas[1:4], p.areas[4:]), p.weeks, strict=True):
                growth = np.clip((np.array(weeks) >= start).cumsum() / 16.0, 0, 1) * PLANTED_EXTRA
                for code in ring:
                    lam[codes.index(code)] += growth
        elif p.key == "persistent_disorder" and indicator == "ordningsstorning":
            lam[codes.index(p.areas[0])] += PLANTED_EXTRA
        elif p.key == "arson_spike" and indicator == "anlagd_brand":
            lam[codes.index(p.areas[0]), weeks.index(p.weeks[0])] += 12.0
        elif p.key == "summer_season" and indicator in ("brand_offentlig_utomhus", "samlingsplats"):
            lam[:, summer] *= 3.0
        elif p.key == "improving_after_intervention" and indicator == "narkotika":
            after = np.array(weeks) >= p.weeks[0]
            lam[codes.index(p.areas[0]), ~after] += PLANTED_EXTRA
    return lam


def load_demo(
    conn: psycopg.Connection,
    *,
    seed: int = DEFAULT_SEED,
    workdir: Path | None = None,
    k: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Load the demo layer, actors and the whole history into an empty database."""
    (n,) = one(conn, "SELECT count(*) FROM lagesbild.delivery")
    if n:
        from lagesbild_geo.errors import ConflictError

        raise ConflictError(
            f"The database already holds {n} deliveries; the demo loads only into an empty one "
            "(lagesbild db down, remove the data folder, lagesbild db up)."
        )
    catalogue = load_catalogue()
    sync_catalogue(conn, catalogue)
    level3, parents = read_demo_layer()
    with conn.transaction():
        import_areas(conn, [parents, level3], source="demo: Lägesby kommun", report={"demo": True})
        publication.refresh(conn, k)
    for actor_id, (kind, name) in ACTORS.items():
        upsert_actor(conn, actor_id, kind, name)

    rng = np.random.default_rng(seed)
    weeks = weeks_of_history()
    patterns = plan_patterns(level3, weeks)
    summary = DemoSummary(patterns=patterns)
    ids: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        plan = list(_deliveries(level3, weeks, patterns, rng, Path(tmp)))
        for step in plan:
            result = ingest_file(
                conn,
                step.path,
                actor_id=step.actor,
                catalogue=catalogue,
                replaces=ids.get(step.replaces) if step.replaces else None,
                today=END_WEEK + timedelta(6),
            )
            ids[step.key] = result.delivery_id
            summary.deliveries += 1
            summary.double_reports += result.double_reports
            if step.decision == "approve":
                change_status(conn, result.delivery_id, "approve", by_whom=REVIEWER, k=k)
                summary.approved += 1
            elif step.decision == "reject":
                change_status(
                    conn, result.delivery_id, "reject", by_whom=REVIEWER, reason=step.reason
                )
                summary.rejected += 1
            else:
                summary.pending += 1
            if step.replaces is not None:
                summary.replaced += 1
            if progress:
                progress(1)
    return summary


@dataclass
class _Step:
    key: str
    actor: str
    path: Path
    decision: str = "approve"  # approve | reject | pending
    reason: str | None = None
    replaces: str | None = None  # key of the step this one corrects


def _deliveries(level3, weeks, patterns, rng, folder: Path):
    """Every delivery of the history in the order the actors would send them."""
    codes = np.array(level3["code"])
    pop = level3["population"].to_numpy(float)
    counts = {
        (actor, ind): rng.poisson(expected_counts(level3, weeks, ind, rate, patterns))
        for actor, rates in {**AGGREGATED, **EVENTS}.items()
        for ind, rate in rates.items()
    }
    blocks = [weeks[i : i + BLOCK_WEEKS] for i in range(0, len(weeks), BLOCK_WEEKS)]
    last = len(blocks) - 1
    double = _double_report_event(patterns, blocks[last - 1], level3)
    for b, block in enumerate(blocks):
        cols = [weeks.index(w) for w in block]
        for actor, rates in AGGREGATED.items():
            rows = [
                {"område": code, "vecka": iso_week(block[j]), "indikator": ind,
                 "antal": int(counts[(actor, ind)][i, c]), "referens": f"{actor[:3].upper()}-"
                 f"{block[j].isocalendar()[0]}-{b:02d}{i:02d}{j}"}
                for ind in rates for i, code in enumerate(codes) for j, c in enumerate(cols)
            ]  # fmt: skip
            path = folder / f"{actor}_{iso_week(block[0])}.csv"
            _write_aggregated(path, rows, excel_style=(actor == "raddningstjansten"))
            decision = "pending" if (b == last and actor == "polisen") else "approve"
            yield _Step(f"{actor}-{b}", actor, path, decision)
            if actor == "raddningstjansten" and b == 12:
                # A correction: the rescue service finds a mistake and delivers the block again.
                fixed = [
                    dict(r, antal=r["antal"] + (1 if k == 0 else 0)) for k, r in enumerate(rows)
                ]
                fixed_path = folder / f"{actor}_{iso_week(block[0])}_rättad.csv"
                _write_aggregated(fixed_path, fixed, excel_style=True)
                yield _Step(
                    f"{actor}-{b}-fix", actor, fixed_path, "approve", replaces=f"{actor}-{b}"
                )
        for actor, rates in EVENTS.items():
            events = _events(level3, rates, counts, actor, cols, block, rng)
            if b == last - 1:
                events.append(dict(double, referens=f"{actor[:3].upper()}-DUBBEL"))
            path = folder / f"{actor}_{iso_week(block[0])}.csv"
            pd.DataFrame(events).to_csv(path, index=False)
            decision = "pending" if b == last else "approve"
            yield _Step(f"{actor}-{b}", actor, path, decision)
        if b == 20:
            # A delivery with the wrong dates (a year back) is rejected by the reviewer.
            wrong = pd.DataFrame(
                _events(level3, EVENTS["vaktbolaget"], counts, "vaktbolaget", cols, block, rng)[:40]
            )
            shifted = pd.to_datetime(wrong["datum"]) - pd.Timedelta(days=364)
            wrong["datum"] = shifted.dt.strftime("%Y-%m-%d")
            path = folder / f"vaktbolaget_{iso_week(block[0])}_fel.csv"
            wrong.to_csv(path, index=False)
            yield _Step(
                f"vaktbolaget-{b}-wrong",
                "vaktbolaget",
                path,
                "reject",
                reason="Fel period: händelserna ligger ett år bakåt, leverera om.",
            )
    # School results once a year, social services every quarter, the safety survey yearly.
    for actor, indicator, iso_weeks, suffix, share, denominators in SHARE_DELIVERIES:
        for week in (w for w in weeks if w.isocalendar()[1] in iso_weeks):
            shares = pd.DataFrame(
                {"område": codes, "vecka": iso_week(week), "indikator": indicator,
                 "nämnare": denominators(pop, rng)}
            )  # fmt: skip
            shares.insert(3, "täljare", rng.binomial(shares["nämnare"], share))
            path = folder / f"{actor}_{iso_week(week)}.{suffix}"
            if suffix == "xlsx":
                shares.to_excel(path, index=False)
            else:
                shares.to_csv(path, index=False)
            yield _Step(f"{actor}-{week}", actor, path)


def _events(level3, rates, counts, actor, cols, block, rng) -> list[dict]:
    events = []
    geoms = level3.geometry.to_numpy()
    for ind in rates:
        if (actor, ind) not in counts:
            continue
        weights = EVENT_HOURS.get(f"{ind}@{actor}") or EVENT_HOURS.get(ind)
        hours = np.array(weights or EVENT_HOURS["default"], float)
        hours /= hours.sum()
        matrix = counts[(actor, ind)]
        for i in range(len(geoms)):
            for j, c in enumerate(cols):
                n = int(matrix[i, c])
                if not n:
                    continue
                xs, ys = _points_in(geoms[i], n, rng)
                days = rng.integers(0, 7, n)
                hrs = rng.choice(24, n, p=hours)
                mins = rng.integers(0, 60, n)
                for k in range(n):
                    day = block[j] + timedelta(days=int(days[k]))
                    events.append({
                        "kategori": ind, "datum": day.isoformat(),
                        "tid": f"{int(hrs[k]):02d}:{int(mins[k]):02d}",
                        "x": round(float(xs[k]), 1), "y": round(float(ys[k]), 1),
                        "referens": f"{actor[:3].upper()}-{day:%y%m%d}-{i:02d}{k:03d}",
                    })  # fmt: skip
    return events


def _points_in(geom, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """n random points inside geom (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    xs: list[float] = []
    ys: list[float] = []
    shapely.prepare(geom)
    while len(xs) < n:
        cx = rng.uniform(minx, maxx, 4 * n)
        cy = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(geom, cx, cy)
        xs.extend(cx[inside])
        ys.extend(cy[inside])
    return np.array(xs[:n]), np.array(ys[:n])


def _double_report_event(patterns, block, level3) -> dict:
    """One vandalism event that both the security and the housing company will report."""
    area = next(p for p in patterns if p.key == "vandalism_cluster").areas[0]
    geom = level3.loc[level3["code"] == area].geometry.iloc[0]
    point = geom.representative_point()
    when = datetime.combine(block[2] + timedelta(days=4), datetime.min.time()) + timedelta(
        hours=22, minutes=15
    )
    return {
        "kategori": "skadegorelse",
        "datum": when.date().isoformat(),
        "tid": when.strftime("%H:%M"),
        "x": round(point.x, 1),
        "y": round(point.y, 1),
    }


def _write_aggregated(path: Path, rows: list[dict], *, excel_style: bool) -> None:
    """Plain UTF-8 CSV, or the semicolon-separated Windows-1252 CSV Swedish Excel writes."""
    frame = pd.DataFrame(rows)
    if excel_style:
        frame.to_csv(path, index=False, sep=";", encoding="cp1252")
    else:
        frame.to_csv(path, index=False)
