"""The inputs of the analysis processes: defaults, limits, checks and the Swedish labels.

:func:`parse_params` turns the JSON inputs of a process (or of ``lagesbild analyse``) into a
:class:`Params`, or raises :class:`~lagesbild_geo.errors.InputError` with a message that says
what to change (HTTP 400). Nothing here touches the database.

Every default and limit is written here once: the defaults are the fields of :class:`Params`
(taken from the statistics modules' own constants), the limits are :data:`LIMITS`, the
choices :data:`CHOICES`, and :func:`input_schema` gives the JSON schema the processes publish
in the OpenAPI document from the same values, so the document and the check cannot disagree.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import date

from lagesbild_geo import weeks
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import InputError
from lagesbild_geo.stats import early_warning, emerging, hotspots, trends

PROCESSES = ("hotspots", "emerging-hotspots", "trends", "early-warning")
#: Default length of the period (weeks, ending at the newest published week).
DEFAULT_WEEKS = {"hotspots": 4, "emerging-hotspots": 52, "trends": 52}
MAX_WEEKS = 520
MAX_PERMUTATIONS = 9999
#: Fewest weeks with data each method needs (Mann-Kendall: trends.MIN_SERIES_LENGTH).
MIN_WEEKS = {"hotspots": 1, "emerging-hotspots": trends.MIN_SERIES_LENGTH,
             "trends": trends.MIN_SERIES_LENGTH}  # fmt: skip
#: Numeric inputs: (type, smallest, largest), both ends allowed.
LIMITS: dict[str, tuple[type, float, float]] = {
    "distance_m": (float, 1.0, 100_000.0),
    "k_neighbours": (int, 1, 100),
    "permutations": (int, 0, MAX_PERMUTATIONS),
    "seed": (int, 0, 2**63 - 1),
    "alpha": (float, 0.001, 0.5),
    "time_steps": (int, 0, 52),
    "recent_weeks": (int, 1, 13),
    "baseline_weeks": (int, early_warning.MIN_BASELINE_WEEKS, 156),
    "guard_weeks": (int, 0, 13),
}
#: Inputs that take one of a few words.
CHOICES = {
    "measure": ("count", "rate"),
    "weights": ("queen", "distance_band", "knn"),
    # the published, protected cells (anyone), or the exact counts the caller may read
    "source": ("published", "exact"),
}
#: Inputs that are true or false.
FLAGS = ("fdr", "seasonal", "hamed_rao", "publish")


@functools.cache
def actor_kinds() -> tuple[str, ...]:
    """The actor kinds of the indicator catalogue, in its order (the order of the provenance)."""
    return tuple(load_catalogue().actor_kinds)


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
    """Everything a run depends on, with defaults filled in (echoed in the provenance).

    The field defaults are the inputs' defaults; ``alpha`` and ``fdr`` have a default per
    process (:func:`default`).
    """

    process: str
    indicators: tuple[str, ...]
    period_start: date | None = None
    period_end: date | None = None
    actor_kinds: tuple[str, ...] = dataclasses.field(default_factory=actor_kinds)
    source: str = "published"
    measure: str = "count"
    weights: str = "queen"
    distance_m: float | None = None
    k_neighbours: int = 8
    permutations: int = hotspots.DEFAULT_PERMUTATIONS
    seed: int = hotspots.DEFAULT_SEED
    alpha: float = trends.DEFAULT_ALPHA
    fdr: bool = False
    time_steps: int = emerging.DEFAULT_TIME_STEPS
    seasonal: bool = False
    hamed_rao: bool = False
    recent_weeks: int = early_warning.DEFAULT_RECENT_WEEKS
    baseline_weeks: int = early_warning.DEFAULT_BASELINE_WEEKS
    guard_weeks: int = early_warning.DEFAULT_GUARD_WEEKS
    publish: bool = False


_FIELDS = {f.name: f for f in dataclasses.fields(Params)}


def default(name: str, process: str):
    """The default of input ``name`` in ``process``: the hot-spot methods test at 0.10 (as
    Esri's tools do), the others at 0.05; emerging hot spots and trends correct for many tests."""
    if name == "alpha":
        return emerging.DEFAULT_ALPHA if "hot" in process else Params.alpha
    if name == "fdr":  # many tests at once: areas x weeks, or areas x indicators
        return process in ("emerging-hotspots", "trends")
    return _FIELDS[name].default


def input_schema(name: str, process: str) -> dict:
    """The JSON schema of an input of ``process`` (the actor kinds, a number, a choice or a
    flag), from the same limits and defaults that :func:`parse_params` applies."""
    if name == "actor_kinds":
        return {"type": "array", "items": {"type": "string", "enum": list(actor_kinds())}}
    value = default(name, process)
    if name in LIMITS:
        kind, low, high = LIMITS[name]
        schema: dict[str, object] = {
            "type": "integer" if kind is int else "number",
            "minimum": low,
            "maximum": high,
        }
    elif name in CHOICES:
        schema = {"type": "string", "enum": list(CHOICES[name])}
    elif name in FLAGS:
        schema = {"type": "boolean"}
    else:
        raise KeyError(f"{name} has no schema here")
    return schema if value is None else schema | {"default": value}


def _week(value, name: str) -> date:
    """Monday of an ISO week given as ``2026-W05`` (or any date in it, ``2026-02-02``)."""
    text = str(value).strip()
    try:
        return weeks.monday_of(text)
    except ValueError:
        raise InputError(f"{name} is not an ISO week like 2026-W05") from None


_KIND_WORDS = {int: "a whole number", float: "a number"}


def _number(inputs: dict, name: str, process: str):
    kind, low, high = LIMITS[name]
    value = inputs.get(name, default(name, process))
    if value is None:
        return None
    try:
        if isinstance(value, bool) or (kind is int and float(value) != int(value)):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {_KIND_WORDS[kind]}") from None
    if not low <= number <= high:
        raise InputError(f"{name} must be between {low} and {high}")
    return number


def _flag(inputs: dict, name: str, process: str) -> bool:
    value = inputs.get(name, default(name, process))
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false")
    return value


def _choice(inputs: dict, name: str, process: str) -> str:
    options = CHOICES[name]
    value = inputs.get(name, default(name, process))
    if value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}")
    return value


_CHECKS = (
    dict.fromkeys(LIMITS, _number) | dict.fromkeys(CHOICES, _choice) | dict.fromkeys(FLAGS, _flag)
)


def parse_params(process: str, inputs: dict) -> Params:
    """Check the caller's inputs; every mistake is an :class:`InputError` saying what to change."""
    if process not in PROCESSES:
        raise InputError(f"Unknown process; use one of {', '.join(PROCESSES)}")
    if not isinstance(inputs, dict):
        raise InputError("inputs must be a JSON object")
    raw = inputs.get("indicators", inputs.get("indicator"))
    names = [raw] if isinstance(raw, str) else raw
    if not names:
        raise InputError("Name the indicator to analyse: input 'indicator' (e.g. 'skadegorelse')")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(
            "Input 'indicator' (or 'indicators') must be the catalogue id as text, "
            "e.g. 'skadegorelse' (or a list of them)"
        )
    if process in ("hotspots", "emerging-hotspots") and len(names) != 1:
        raise InputError(f"{process} analyses one indicator at a time; got {len(names)}")
    known = actor_kinds()
    kinds = inputs.get("actor_kinds") or list(known)
    kinds = [kinds] if isinstance(kinds, str) else kinds
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise InputError(
            f"actor_kinds: {len(unknown)} unknown actor kind(s); use {', '.join(known)}"
        )
    start = inputs.get("period_start")
    end = inputs.get("period_end")
    params = Params(
        process=process,
        indicators=tuple(dict.fromkeys(names)),
        period_start=None if start is None else _week(start, "period_start"),
        period_end=None if end is None else _week(end, "period_end"),
        actor_kinds=tuple(sorted(set(kinds), key=known.index)),
        # checked in the order of the fields: the first mistake is the one reported
        **{name: _CHECKS[name](inputs, name, process) for name in _FIELDS if name in _CHECKS},
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
    if params.publish and params.source == "exact":
        raise InputError(
            "A run on exact data cannot be saved as a public layer: run it on source "
            "'published' to save it, or leave publish false"
        )
    return params
