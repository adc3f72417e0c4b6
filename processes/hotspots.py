"""Process ``hotspots``: Getis-Ord Gi* hot and cold spots of one indicator over a period."""

from __future__ import annotations

from processes.common import HOT_SPOT_INPUTS, PUBLISH_INPUTS, AnalysisProcessor, metadata

PROCESS_METADATA = metadata(
    "hotspots",
    {"sv": "Heta punkter (Getis-Ord Gi*)", "en": "Hot spots (Getis-Ord Gi*)"},
    {
        "sv": "Var är en indikator samlad i grupper av områden med höga (heta punkter) eller "
        "låga (kalla punkter) värden under en period? Gi* per område med z-värde, p-värde, "
        "permutations-p och konfidensklass ±3/±2/±1 (99/95/90 %), valfritt FDR-korrigerad. "
        "Räknas på de publicerade, skyddade veckovärdena.",
        "en": "Where is an indicator clustered into groups of areas with high (hot spots) or "
        "low (cold spots) values over a period? Gi* per area with z-score, p-value, "
        "permutation p and confidence bin ±3/±2/±1 (99/95/90 %), optionally FDR-corrected. "
        "Computed on the published, protected weekly values.",
    },
    [*HOT_SPOT_INPUTS, "permutations", "seed", "alpha", "fdr", *PUBLISH_INPUTS],
    {
        "indicator": "skadegorelse",
        "period_start": "2026-W39",
        "period_end": "2026-W42",
        "weights": "queen",
        "permutations": 999,
        "seed": 1,
        "fdr": False,
    },  # fmt: skip
)


class HotSpotsProcessor(AnalysisProcessor):
    """Gi* hot spots (:func:`lagesbild_geo.stats.hotspots.gi_star`)."""

    PROCESS_METADATA = PROCESS_METADATA
