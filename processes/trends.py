"""Process ``trends``: Mann-Kendall trend and Theil-Sen slope per area and indicator."""

from __future__ import annotations

from processes.common import (
    PERIOD_INPUTS,
    PUBLISH_INPUTS,
    AnalysisProcessor,
    metadata,
)

PROCESS_METADATA = metadata(
    "trends",
    {"sv": "Trender (Mann-Kendall)", "en": "Trends (Mann-Kendall)"},
    {
        "sv": "Ökar eller minskar en indikator i varje område? Mann-Kendall-test och "
        "Theil-Sen-lutning (per vecka) per område och indikator. Klasserna har kontrollerad "
        "andel falska upptäckter (FDR, q-värde) över alla områden × indikatorer, rått p "
        "bredvid; valfritt säsongsjusterat eller korrigerat för autokorrelation (Hamed-Rao).",
        "en": "Is an indicator increasing or decreasing in each area? Mann-Kendall test and "
        "Theil-Sen slope (per week) per area and indicator. The classes control the false "
        "discovery rate (FDR, q-value) across all areas × indicators, raw p beside; "
        "optionally seasonal or corrected for autocorrelation (Hamed-Rao).",
    },
    [
        "indicators",
        "indicator",
        *PERIOD_INPUTS,
        "measure",
        "alpha",
        "fdr",
        "seasonal",
        "hamed_rao",
        *PUBLISH_INPUTS,
    ],  # fmt: skip
    {
        "indicators": ["skadegorelse", "narkotika"],
        "period_start": "2025-W43",
        "period_end": "2026-W42",
        "alpha": 0.05,
    },  # fmt: skip
)


class TrendsProcessor(AnalysisProcessor):
    """Mann-Kendall trends (:func:`lagesbild_geo.stats.trends.mann_kendall`)."""

    PROCESS_METADATA = PROCESS_METADATA
