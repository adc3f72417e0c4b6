"""Process ``emerging-hotspots``: Esri's 17 emerging hot spot patterns of one indicator."""

from __future__ import annotations

from processes.common import HOT_SPOT_INPUTS, PUBLISH_INPUTS, AnalysisProcessor, metadata

PROCESS_METADATA = metadata(
    "emerging-hotspots",
    {"sv": "Framväxande heta punkter", "en": "Emerging hot spots"},
    {
        "sv": "Hur har varje områdes heta eller kalla punkt utvecklats vecka för vecka? Gi* i "
        "rum och tid, Mann-Kendall på z-serien och Esris 17 mönster (ny, sammanhängande, "
        "tilltagande, ihållande, avtagande, sporadisk, växlande, historisk het/kall punkt).",
        "en": "How has each area's hot or cold spot status developed week by week? Space-time "
        "Gi*, Mann-Kendall on the z-series and Esri's 17 patterns (new, consecutive, "
        "intensifying, persistent, diminishing, sporadic, oscillating, historical hot/cold "
        "spot).",
    },
    [*HOT_SPOT_INPUTS, "time_steps", "alpha", "fdr", *PUBLISH_INPUTS],
    {
        "indicator": "skadegorelse",
        "period_start": "2025-W43",
        "period_end": "2026-W42",
        "time_steps": 1,
        "alpha": 0.1,
        "fdr": True,
    },  # fmt: skip
)


class EmergingHotSpotsProcessor(AnalysisProcessor):
    """Emerging hot spots (:func:`lagesbild_geo.stats.emerging.emerging_hot_spots`)."""

    PROCESS_METADATA = PROCESS_METADATA
