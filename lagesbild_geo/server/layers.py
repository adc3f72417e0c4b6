"""The per-indicator layers: ``situation-<id>``, ``hotspots-<id>`` and ``trends-<id>`` for every
indicator of the catalogue, added to the configuration when the server's configuration is
built (:func:`lagesbild_geo.server.config.build_config`), not written by hand in
``pygeoapi-config.yml``.

Why a layer per indicator (issue 14, item 2; /work's CONTRACT14): what the weekly meeting looks
at is one indicator's situation, hot spots and trend. The stacked ``hotspots`` and ``trends``
hold every indicator on every area, so the layer as it opens in QGIS draws 16 polygons on each
area, and a client-side filter in QGIS 3.22 downloads everything to keep a sixteenth. A layer
per indicator has one feature per area (feature id = the area code), so it opens as a
meaningful map in QGIS 3.22 and GDAL 3.6 with no filter, and the layers of one kind share one
schema, so one SLD per kind styles every indicator's layer. (One column per indicator in one
layer, like the wide ``situation``, would need an SLD per indicator and 100+ fields.)

Each layer reads one table or view of schema ``publish`` restricted to its indicator (the
provider's ``fixed`` option, applied in the page, the count and the single item:
:class:`lagesbild_geo.server.provider.PublishProvider`):

* ``situation-<id>``: ``publish.situation_by_indicator`` (migration 0029), the long figures the
  refresh pivots into the wide ``situation``, kept and written in the same transaction;
* ``hotspots-<id>`` / ``trends-<id>``: the views ``publish.hotspots_by_area`` /
  ``publish.trends_by_area``, the columns of the stacked layers for every current area (NULL
  where the indicator's result was not computed).

Their first page carries the values a client types fields from (``sample_first``: see
:meth:`lagesbild_geo.server.statements.Statements.page`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The layer kinds: collection prefix -> (the stacked collection whose provider settings are
#: copied, the table or view read, the numeric columns the first page should carry).
KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "situation": (
        "situation", "situation_by_indicator",
        ("population", "last4", "prev12_mean", "change_pct"),
    ),
    "hotspots": (
        "hotspots", "hotspots_by_area",
        ("value", "z", "p", "bin", "run_id", "publication_version"),
    ),
    "trends": (
        "trends", "trends_by_area",
        ("weeks", "tau", "z", "p", "slope_per_week", "run_id", "publication_version", "q"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class IndicatorName:
    """What a layer's metadata says of its indicator (``publish.indicators``)."""

    id: str
    name_sv: str
    name_en: str
    unit: str


UNIT_SV = {
    "count": "antal",
    "share": "andel i procent",
    "rate_per_1000": "antal per 1 000 invånare",
}
UNIT_EN = {"count": "count", "share": "share in %", "rate_per_1000": "rate per 1,000 inhabitants"}


def collection_id(kind: str, indicator: str) -> str:
    """``situation-skadegorelse``: the contract's collection id.

    >>> collection_id("trends", "skadegorelse")
    'trends-skadegorelse'
    """
    return f"{kind}-{indicator}"


def tables() -> dict[str, str]:
    """Layer kind -> the table or view its layers read."""
    return {kind: table for kind, (_, table, _) in KINDS.items()}


def _metadata(kind: str, ind: IndicatorName) -> dict:
    unit_sv, unit_en = UNIT_SV.get(ind.unit, ind.unit), UNIT_EN.get(ind.unit, ind.unit)
    if kind == "situation":
        return {
            "title": {
                "sv": f"Lägesbild: {ind.name_sv} – senaste fyra veckorna mot de tolv före",
                "en": f"Situation: {ind.name_en} – the last four weeks against the twelve before",
            },
            "description": {
                "sv": f"{ind.name_sv} ({unit_sv}): ett objekt per område, fram till "
                "indikatorns referensvecka (reference_week): summan av de fyra senaste "
                "veckorna (last4), veckomedelvärdet för de tolv veckorna före (prev12_mean) "
                "och förändringen i procent (change_pct), räknat på de publicerade, skyddade "
                "veckovärdena. value_status: ok, protected (skyddat) eller no_data (ingen "
                "levererad vecka under en av perioderna). Samma värden som lagret situation.",
                "en": f"{ind.name_en} ({unit_en}): one feature per area, up to the "
                "indicator's reference week (reference_week): the total of the last four "
                "weeks (last4), the weekly mean of the twelve weeks before (prev12_mean) and "
                "the change in % (change_pct), computed from the published, protected weekly "
                "values. value_status: ok, protected or no_data (no delivered week in one of "
                "the periods). The figures of the situation layer.",
            },
            "keywords": {
                "sv": ["lägesbild", "EST", "veckomöte", ind.name_sv],
                "en": ["situation picture", "EST", "weekly meeting", ind.name_en],
            },
        }
    if kind == "hotspots":
        return {
            "title": {"sv": f"Heta punkter: {ind.name_sv}", "en": f"Hot spots: {ind.name_en}"},
            "description": {
                "sv": f"{ind.name_sv}: ett objekt per område med Getis-Ord Gi* (z, p, "
                "konfidensklass bin ±3/±2/±1 för 99/95/90 %, label_sv) från den senast "
                "sparade körningen, samma fält som lagret hotspots. Tomt (null) där inget "
                "beräknats. Räknas om efter varje granskning som ändrar indikatorns data.",
                "en": f"{ind.name_en}: one feature per area with Getis-Ord Gi* (z, p, "
                "confidence bin ±3/±2/±1 for 99/95/90 %, label_en) from the latest saved run, "
                "the fields of the hotspots layer. Null where nothing was computed. "
                "Recomputed after every review that changes the indicator's data.",
            },
            "keywords": {
                "sv": ["heta punkter", "Getis-Ord", "EST", ind.name_sv],
                "en": ["hot spots", "Getis-Ord", "EST", ind.name_en],
            },
        }
    return {
        "title": {"sv": f"Trend: {ind.name_sv}", "en": f"Trend: {ind.name_en}"},
        "description": {
            "sv": f"{ind.name_sv}: ett objekt per område med Mann-Kendall-trend (trend: "
            "increasing, decreasing, no trend; direction_sv), Kendalls tau, z, p, q (FDR) och "
            "Theil-Sen-lutning per vecka över fönstret window_text, samma fält som lagret "
            "trends. Tomt (null) där ingen trend beräknats. Lagret som kommunens webbkarta "
            "visar (GeoJSON, CRS84).",
            "en": f"{ind.name_en}: one feature per area with the Mann-Kendall trend (trend: "
            "increasing, decreasing, no trend; direction_en), Kendall's tau, z, p, q (FDR) and "
            "the Theil-Sen slope per week over window_text, the fields of the trends layer. "
            "Null where no trend was computed. The layer the city web map embeds (GeoJSON, "
            "CRS84).",
        },
        "keywords": {
            "sv": ["trender", "Mann-Kendall", "webbkarta", ind.name_sv],
            "en": ["trends", "Mann-Kendall", "web map", ind.name_en],
        },
    }


def resources(stacked: dict[str, dict], indicators: list[IndicatorName]) -> dict[str, dict]:
    """The per-indicator collections, kind by kind and each kind in ``indicators``' order.

    ``stacked``: the configuration's resources; each kind copies its stacked collection's
    provider (connection, pool, CRS list, storage CRS) and extents, and reads its own table
    with the area code as feature id and the indicator fixed. A kind whose stacked collection
    the configuration does not have is left out.
    """
    out: dict[str, dict] = {}
    for kind, (source, table, first) in KINDS.items():
        template = stacked.get(source)
        if template is None:
            continue
        provider = next(p for p in template["providers"] if p.get("type") == "feature")
        for ind in indicators:
            out[collection_id(kind, ind.id)] = {
                "type": "collection",
                **_metadata(kind, ind),
                "links": [],
                "extents": {"spatial": dict(template["extents"]["spatial"])},
                "providers": [
                    {
                        **provider,
                        "table": table,
                        "id_field": "area_code",
                        "fixed": {"indicator": ind.id},
                        "sample_first": list(first),
                    }
                ],
            }
    return out


def wide_situation_first(indicators: list[IndicatorName]) -> list[str]:
    """The numeric columns of the wide ``situation`` (publish._refresh_situation makes them),
    for its ``sample_first``: the areas with the most figures open the layer.

    >>> wide_situation_first([IndicatorName("ran", "Rån", "Robbery", "count")])
    ['population', 'ran_last4', 'ran_prev12_mean', 'ran_change_pct']
    """
    columns = ["population"]
    for ind in indicators:
        columns += [f"{ind.id}_last4", f"{ind.id}_prev12_mean", f"{ind.id}_change_pct"]
    return columns


def with_layers(config_resources: dict[str, dict], indicators: list[IndicatorName]) -> dict:
    """The resources with the per-indicator collections after the stacked ``trends`` (the
    order of /collections), or at the end when there is none; the wide ``situation`` with
    its first page ordered like theirs (:func:`wide_situation_first`)."""
    wide = config_resources.get("situation")
    if wide is not None and indicators:
        for provider in wide["providers"]:
            if provider.get("type") == "feature" and provider.get("table") == "situation":
                provider["sample_first"] = wide_situation_first(indicators)
    generated = resources(config_resources, indicators)
    if not generated:
        return dict(config_resources)
    out: dict[str, dict] = {}
    anchor = "trends" if "trends" in config_resources else None
    for name, resource in config_resources.items():
        if name in generated:
            continue  # a hand-written one of the same id is replaced
        out[name] = resource
        if name == anchor:
            out.update(generated)
    if anchor is None:
        out.update(generated)
    return out
