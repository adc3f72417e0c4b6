"""Process ``early-warning``: is last week's count unusually high against its own baseline?"""

from __future__ import annotations

from processes.common import (
    PERIOD_INPUTS,
    AnalysisProcessor,
    metadata,
)

PROCESS_METADATA = metadata(
    "early-warning",
    {"sv": "Tidig varning", "en": "Early warning"},
    {
        "sv": "Är den senaste veckans (eller veckornas) antal ovanligt högt jämfört med "
        "områdets egen baslinje? Poisson- eller negativ binomialtest, flaggor kontrollerade "
        "för andelen falska larm (FDR) över alla områden och indikatorer.",
        "en": "Is the latest week's (or weeks') count unusually high against the area's own "
        "baseline? Poisson or negative binomial test, flags controlled for the false "
        "discovery rate across all areas and indicators.",
    },
    [
        "indicators",
        "indicator",
        *PERIOD_INPUTS,
        "alpha",
        "recent_weeks",
        "baseline_weeks",
        "guard_weeks",
    ],  # fmt: skip
    {
        "indicators": ["skadegorelse", "anlagd_brand"],
        "period_end": "2026-W42",
        "recent_weeks": 1,
        "baseline_weeks": 26,
        "guard_weeks": 2,
    },  # fmt: skip
)


class EarlyWarningProcessor(AnalysisProcessor):
    """Early warning (:func:`lagesbild_geo.stats.early_warning.early_warning`)."""

    PROCESS_METADATA = PROCESS_METADATA
