"""The flow corpus (tests/data/flow, made by its make.py): what the stages find together.

Repeats: the police's counts (``base_counts.csv``) and the security company's events
(``base_events.csv``) delivered again in other files are refused as already delivered
(delivery 1, the base), or as repeating cells that would be counted twice. Mixed: a problem
of a later stage (ownership, placing) is reported beside those of the earlier ones.
"""

from tests.ingest.corpus import Case

_COUNTS = {"actor": "polisen", "before": ("flow/base_counts.csv",)}
_EVENTS = {"actor": "vaktbolaget", "before": ("flow/base_events.csv",)}
_AGAIN = "already delivered as delivery 1 (pending)"
_REPEAT = "repeat delivery 1 (pending) exactly"
_CELLS = "(area × week × indicator)"

CASES = [
    Case("flow/same_counts_semicolon_cp1252.csv", _AGAIN, **_COUNTS),
    Case("flow/same_counts_columns_and_rows_reordered.csv", _AGAIN, **_COUNTS),
    Case("flow/same_counts_dates_for_weeks.csv", _AGAIN, **_COUNTS),
    Case("flow/same_counts_english_names_bom.csv", _AGAIN, **_COUNTS),
    Case("flow/same_counts.xlsx", _AGAIN, **_COUNTS),
    Case("flow/repeat_counts_superset.csv", f"16 of its 20 counts {_CELLS} {_REPEAT}", **_COUNTS),
    Case("flow/repeat_counts_subset.csv", f"all 8 of its counts {_CELLS} {_REPEAT}", **_COUNTS),
    Case("flow/same_events_shuffled.csv", _AGAIN, **_EVENTS),
    Case("flow/same_events_other_columns.csv", _AGAIN, **_EVENTS),
    Case("flow/repeat_events_superset.csv", f"5 of its 6 counts {_CELLS} {_REPEAT}", **_EVENTS),
    Case(
        "flow/mixed_duplicate_and_police_indicator.csv",
        "indicator 'anlagd_brand' is delivered by police; actor 'vaktbolaget' is security",
        row=4,
        column="indikator",
        actor="vaktbolaget",
    ),
    Case(
        "flow/mixed_two_period_columns_and_police_indicator.csv",
        "is delivered by police",
        row=2,
        column="indikator",
        actor="vaktbolaget",
    ),
    Case(
        "flow/mixed_unknown_columns_and_police_indicator.csv",
        "is delivered by police",
        row=3,
        column="indikator",
        actor="vaktbolaget",
    ),
    Case(
        "flow/mixed_police_indicator_and_outside.csv",
        "outside every area",
        row=4,
        actor="vaktbolaget",
    ),
    Case(
        "flow/mixed_personnummer_and_police_indicator.csv",
        "is delivered by police",
        row=3,
        column="indikator",
        hidden=("811218-9876", "8112189876"),
        actor="vaktbolaget",
    ),
]
