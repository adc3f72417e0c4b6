"""A small, deterministic history for the publication tests, stored through ``store`` only
(the area layer through ``ingest.pipeline.import_areas``, which builds its locator).

Sixteen ISO weeks (2026-W01..W16) for the demo
municipality's 60 areas, with every kind of delivery the publication must tell apart:

* police counts (``anlagd_brand``, ``ran``) and a rate (``unga_misstankta_boende``), approved;
* vandalism (``skadegorelse``) as events from the security AND the housing company (two actor
  kinds for one EST category), with each event's hour of the week (so weekday/hour
  breakdowns), approved;
* a share from the education office (``ofullstandiga_betyg_ak9``), approved;
* a pending delivery, a rejected one, a withdrawn one, and a rescue-service delivery replaced
  by a correction; their values (999 and up) must never appear in public.

One cell is planted with a small value: area 1101, week 2026-W07, ``anlagd_brand`` = 3.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.demo.history import ACTORS
from lagesbild_geo.ingest.pipeline import import_areas
from lagesbild_geo.publish import publication
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.store import deliveries as store
from lagesbild_geo.store import reads as queries
from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor

AREAS_FILE = Path(__file__).resolve().parents[1] / "areas" / "lagesby_nyko.gpkg"
FIRST_WEEK = date(2025, 12, 29)  # Monday of 2026-W01
WEEKS = [FIRST_WEEK + timedelta(weeks=i) for i in range(16)]
SMALL_CELL = ("1101", date(2026, 2, 9), "anlagd_brand", "police", 3)
NEVER_PUBLISHED_MIN = 999
REVIEWER = "test-granskare"


def read_areas() -> list[gpd.GeoDataFrame]:
    frames = []
    for layer in ("nyko1", "nyko2", "nyko3"):
        frame = gpd.read_file(AREAS_FILE, layer=layer)
        frame["code"] = frame["code"].astype(str)
        frames.append(frame)
    return frames


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _deliver(conn, actor, name, rows, shape="aggregated"):
    obs = pd.DataFrame(rows)
    new = store.NewDelivery(
        actor_id=actor,
        file_name=name,
        content_sha256=_sha(name),
        shape=shape,
        row_count=len(obs),
        observations=obs,
    )
    delivery_id, _ = store.save_delivery(conn, new)
    return delivery_id


def load(conn, k: int = 5) -> dict:
    """Load catalogue, areas, actors and deliveries; return the ids of what was delivered."""
    sync_catalogue(conn, load_catalogue())
    with conn.transaction():
        import_areas(conn, read_areas(), source="test", report={})
        publication.refresh(conn, k)
    for actor_id, (kind, name) in ACTORS.items():
        upsert_actor(conn, actor_id, kind, name)
    codes = queries.area_codes(conn)
    rng = np.random.default_rng(2026)
    ids: dict[str, int] = {}

    police = []
    for week in WEEKS:
        for code in codes:
            for ind, top in (("anlagd_brand", 14), ("ran", 9), ("unga_misstankta_boende", 12)):
                n = int(rng.integers(0, top))
                if (code, week, ind) == SMALL_CELL[:3]:
                    n = SMALL_CELL[4]
                police.append(
                    {"area_code": code, "week_start": week, "indicator": ind, "numerator": n}
                )
    ids["police"] = _deliver(conn, "polisen", "polis.csv", police)

    for actor in ("vaktbolaget", "bostadsbolaget"):
        rows = []
        for week in WEEKS:
            for code in codes:
                n = int(rng.integers(0, 16))
                rows.append(
                    {
                        "area_code": code,
                        "week_start": week,
                        "indicator": "skadegorelse",
                        "numerator": n,
                        "event_hours": rng.integers(0, 168, size=n).tolist(),
                    }
                )
        ids[actor] = _deliver(conn, actor, f"{actor}.csv", rows, shape="events")

    shares = []
    for week in WEEKS:
        for code in codes:
            den = int(rng.integers(0, 40))
            if den == 0:
                continue
            num = int(rng.integers(0, den + 1))
            shares.append(
                {
                    "area_code": code,
                    "week_start": week,
                    "indicator": "ofullstandiga_betyg_ak9",
                    "numerator": num,
                    "denominator": den,
                }
            )
    ids["education"] = _deliver(conn, "utbildning", "skola.csv", shares)

    def secret_rows(indicator: str, value: int) -> list[dict]:
        return [
            {"area_code": code, "week_start": week, "indicator": indicator, "numerator": value}
            for week in WEEKS[:4]
            for code in codes[:5]
        ]

    ids["rescue_old"] = _deliver(
        conn, "raddningstjansten", "rtj-v1.csv", secret_rows("brand_offentlig_utomhus", 1001)
    )
    for name in ("police", "vaktbolaget", "bostadsbolaget", "education", "rescue_old"):
        change_status(conn, ids[name], "approve", by_whom=REVIEWER, k=k)

    rescue_new = pd.DataFrame(secret_rows("brand_offentlig_utomhus", 7))
    ids["rescue_new"], _ = store.save_delivery(
        conn,
        store.NewDelivery(
            actor_id="raddningstjansten",
            file_name="rtj-v2.csv",
            content_sha256=_sha("rtj-v2"),
            shape="aggregated",
            row_count=len(rescue_new),
            observations=rescue_new,
            replaces_id=ids["rescue_old"],
        ),
    )
    change_status(conn, ids["rescue_new"], "approve", by_whom=REVIEWER, k=k)

    ids["pending"] = _deliver(conn, "polisen", "pending.csv", secret_rows("fordonsstold", 999))
    ids["rejected"] = _deliver(conn, "polisen", "rejected.csv", secret_rows("narkotika", 1002))
    change_status(conn, ids["rejected"], "reject", by_whom=REVIEWER, reason="fel vecka")
    ids["withdrawn"] = _deliver(
        conn, "polisen", "withdrawn.csv", secret_rows("vald_hot_tjansteman", 1003)
    )
    change_status(conn, ids["withdrawn"], "approve", by_whom=REVIEWER, k=k)
    change_status(conn, ids["withdrawn"], "withdraw", by_whom="polisen", actor_id="polisen")
    return ids
