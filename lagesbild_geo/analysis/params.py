"""The inputs of the analysis processes: defaults, limits, checks and the Swedish labels.

:func:`parse_params` turns the JSON inputs of a process (or of ``lagesbild analyse``) into a
:class:`Params`, or raises :class:`~lagesbild_geo.errors.InputError` with a message that says
what to change (HTTP 400). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lagesbild_geo import weeks
from lagesbild_geo.errors import InputError
from lagesbild_geo.stats import emerging, hotspots, trends

PROCESSES = ("hotspots", "emerging-hotspots", "trends", "early-warning")
ACTOR_KINDS = ("police", "rescue", "security", "housing", "education", "social", "municipality")
#: Default length of the period (weeks, ending at the newest published week).
DEFAULT_WEEKS = {"hotspots": 4, "emerging-hotspots": 52, "trends": 52}
MAX_WEEKS = 520
MAX_PERMUTATIONS = 9999
#: Fewest weeks with data each method needs (Mann-Kendall: trends.MIN_SERIES_LENGTH).
MIN_WEEKS = {"hotspots": 1, "emerging-hotspots": trends.MIN_SERIES_LENGTH,
             "trends": trends.MIN_SERIES_LENGTH}  # fmt: skip

BIN_LABELS = {
    3: ("Het punkt, 99 % konfidens", "Hot spot, 99 % confidence"),
    2: ("Het punkt, 95 % konfidens", "Hot spot, 95 % confidence"),
    1: ("Het punkt, 90 % konfidens", "Hot spot, 90 % confidence"),
    0: ("Inte statistiskt signifikant", "Not statistically significant"),
    -1: ("Kall punkt, 90 % konfidens", "Cold spot, 90 % confidence"),
    -2: ("Kall punkt, 95 % konfidens", "Cold spot, 95 % confidence"),
    -3: ("Kall punkt, 99 % konfidens", "Cold spot, 99 % confidence"),
}
_PATTERN_WORDS = {"New": "Ny", "Consecutive": "Sammanhängande", "Intensifying": "Tilltagande",
                  "Persistent": "Ihållande", "Diminishing": "Avtagande", "Sporadic": "Sporadisk",
                  "Oscillating": "Växlande", "Historical": "Historisk"}  # fmt: skip
#: Esri's 17 emerging hot spot patterns in Swedish.
PATTERN_SV = {emerging.NO_PATTERN: "Inget mönster"} | {
    f"{en} {kind} Spot": f"{sv} {'het' if kind == 'Hot' else 'kall'} punkt"
    for en, sv in _PATTERN_WORDS.items()
    for kind in ("Hot", "Cold")
}
TREND_LABELS = {
    "increasing": ("Ökande", "Increasing"),
    "decreasing": ("Minskande", "Decreasing"),
    "no trend": ("Ingen signifikant trend", "No significant trend"),
}


@dataclass(frozen=True)
class Params:
    """Everything a run depends on, with defaults filled in (echoed in the provenance)."""

    process: str
    indicators: tuple[str, ...]
    period_start: date | None = None
    period_end: date | None = None
    actor_kinds: tuple[str, ...] = ACTOR_KINDS
    measure: str = "count"
    weights: str = "queen"
    distance_m: float | None = None
    k_neighbours: int = 8
    permutations: int = hotspots.DEFAULT_PERMUTATIONS
    seed: int = hotspots.DEFAULT_SEED
    alpha: float = 0.05
    fdr: bool = False
    time_steps: int = emerging.DEFAULT_TIME_STEPS
    seasonal: bool = False
    hamed_rao: bool = False
    recent_weeks: int = 1
    baseline_weeks: int = 26
    guard_weeks: int = 2
    publish: bool = False


def _week(value, name: str) -> date:
    """Monday of an ISO week given as ``2026-W05`` (or any date in it, ``2026-02-02``)."""
    text = str(value).strip()
    try:
        return weeks.monday_of(text)
    except ValueError:
        raise InputError(f"{name} {text!r} is not an ISO week like 2026-W05") from None


_KIND_WORDS = {int: "a whole number", float: "a number"}


def _number(inputs: dict, name: str, kind, low, high, default):
    value = inputs.get(name, default)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or (kind is int and float(value) != int(value)):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {_KIND_WORDS[kind]}, got {value!r}") from None
    if not low <= number <= high:
        raise InputError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _flag(inputs: dict, name: str, default: bool) -> bool:
    value = inputs.get(name, default)
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {value!r}")
    return value


def _choice(inputs: dict, name: str, options: tuple[str, ...], default: str) -> str:
    value = inputs.get(name, default)
    if value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def parse_params(process: str, inputs: dict) -> Params:
    """Check the caller's inputs; every mistake is an :class:`InputError` saying what to change."""
    if process not in PROCESSES:
        raise InputError(f"Unknown process {process!r}; use one of {', '.join(PROCESSES)}")
    if not isinstance(inputs, dict):
        raise InputError("inputs must be a JSON object")
    raw = inputs.get("indicators", inputs.get("indicator"))
    names = [raw] if isinstance(raw, str) else raw
    if not names or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError("Name the indicator to analyse: input 'indicator' (e.g. 'skadegorelse')")
    if process in ("hotspots", "emerging-hotspots") and len(names) != 1:
        raise InputError(f"{process} analyses one indicator at a time; got {len(names)}")
    kinds = inputs.get("actor_kinds") or list(ACTOR_KINDS)
    kinds = [kinds] if isinstance(kinds, str) else kinds
    unknown = [k for k in kinds if k not in ACTOR_KINDS]
    if unknown:
        raise InputError(
            f"Unknown actor kind(s) {', '.join(map(str, unknown))}; use {', '.join(ACTOR_KINDS)}"
        )
    start = inputs.get("period_start")
    end = inputs.get("period_end")
    params = Params(
        process=process,
        indicators=tuple(dict.fromkeys(names)),
        period_start=None if start is None else _week(start, "period_start"),
        period_end=None if end is None else _week(end, "period_end"),
        actor_kinds=tuple(sorted(set(kinds), key=ACTOR_KINDS.index)),
        measure=_choice(inputs, "measure", ("count", "rate"), "count"),
        weights=_choice(inputs, "weights", ("queen", "distance_band", "knn"), "queen"),
        distance_m=_number(inputs, "distance_m", float, 1.0, 100_000.0, None),
        k_neighbours=_number(inputs, "k_neighbours", int, 1, 100, 8),
        permutations=_number(inputs, "permutations", int, 0, MAX_PERMUTATIONS, 999),
        seed=_number(inputs, "seed", int, 0, 2**63 - 1, hotspots.DEFAULT_SEED),
        alpha=_number(inputs, "alpha", float, 0.001, 0.5, 0.10 if "hot" in process else 0.05),
        fdr=_flag(inputs, "fdr", process == "emerging-hotspots"),
        time_steps=_number(inputs, "time_steps", int, 0, 52, emerging.DEFAULT_TIME_STEPS),
        seasonal=_flag(inputs, "seasonal", False),
        hamed_rao=_flag(inputs, "hamed_rao", False),
        recent_weeks=_number(inputs, "recent_weeks", int, 1, 13, 1),
        baseline_weeks=_number(inputs, "baseline_weeks", int, 4, 156, 26),
        guard_weeks=_number(inputs, "guard_weeks", int, 0, 13, 2),
        publish=_flag(inputs, "publish", False),
    )
    if params.period_start and params.period_end and params.period_start > params.period_end:
        raise InputError(
            f"period_start {weeks.iso_week(params.period_start)} is after period_end "
            f"{weeks.iso_week(params.period_end)}"
        )
    if params.weights == "distance_band" and params.distance_m is None:
        raise InputError("weights 'distance_band' needs distance_m (metres), e.g. 2000")
    if params.process == "early-warning" and params.measure != "count":
        raise InputError("early-warning tests whole weekly counts; use measure 'count'")
    if params.publish and params.process == "early-warning":
        raise InputError("early-warning results are not a published layer; leave publish false")
    return params
