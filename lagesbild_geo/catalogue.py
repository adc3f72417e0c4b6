"""The indicator catalogue: a versioned YAML file in the package, loaded into the database.

An indicator's id is what actors write in their files; its unit decides how a value is kept
(count; share as numerator and denominator; rate per 1,000 inhabitants as a count over the
area's population); its owner kind decides who may deliver it (``any`` for the EST event
categories every actor reports, which is where double reporting can happen).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from lagesbild_geo.errors import InputError

UNITS = ("count", "share", "rate_per_1000")
MEASURES = ("direct", "indirect")


@dataclass(frozen=True)
class Indicator:
    id: str
    name_sv: str
    name_en: str
    unit: str
    owner_kind: str
    measure: str
    est_category: bool = False
    strategic: bool = False


@dataclass(frozen=True)
class ActorKind:
    id: str
    name_sv: str
    name_en: str


@dataclass(frozen=True)
class IndicatorCatalogue:
    version: str
    actor_kinds: dict[str, ActorKind]
    indicators: dict[str, Indicator]

    def units(self) -> dict[str, str]:
        return {i.id: i.unit for i in self.indicators.values()}

    def may_deliver(self, actor_kind: str, indicator_id: str) -> bool:
        owner = self.indicators[indicator_id].owner_kind
        return owner in ("any", actor_kind) or actor_kind == "municipality"


def load_catalogue(path: Path | None = None) -> IndicatorCatalogue:
    """Read and check the catalogue (the packaged ``indicators.yml`` unless ``path`` is given)."""
    if path is None:
        text = (resources.files("lagesbild_geo") / "data" / "indicators.yml").read_text("utf-8")
        source = "indicators.yml"
    else:
        text = Path(path).read_text("utf-8")
        source = str(path)
    doc = yaml.safe_load(text)
    kinds = {
        k: ActorKind(id=k, name_sv=v["name_sv"], name_en=v["name_en"])
        for k, v in doc["actor_kinds"].items()
    }
    indicators: dict[str, Indicator] = {}
    for n, entry in enumerate(doc["indicators"], start=1):
        ind = Indicator(**entry)
        where = f"{source}: indicator {n} ({ind.id})"
        if ind.id in indicators:
            raise InputError(f"{where}: duplicate id")
        if ind.unit not in UNITS:
            raise InputError(f"{where}: unit must be one of {', '.join(UNITS)}")
        if ind.measure not in MEASURES:
            raise InputError(f"{where}: measure must be direct or indirect")
        if ind.owner_kind != "any" and ind.owner_kind not in kinds:
            raise InputError(f"{where}: unknown owner_kind {ind.owner_kind!r}")
        indicators[ind.id] = ind
    return IndicatorCatalogue(version=str(doc["version"]), actor_kinds=kinds, indicators=indicators)


def actor_kinds() -> tuple[str, ...]:
    """The ids of the actor kinds, in catalogue order: the one list the CLI and the processes
    offer, so that a kind added to ``indicators.yml`` is accepted everywhere at once."""
    return tuple(load_catalogue().actor_kinds)
