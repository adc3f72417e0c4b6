// The trend map (/karta): one indicator's trend per area from its public trend layer.
// Everything comes from this service: config.json (indicators, tiles) and
// ../collections/trends-<indicator>/items (GeoJSON, CRS84, one feature per area). Text from the data is set with textContent
// only, never as HTML. See lagesbild_geo/server/karta.py.
"use strict";

(function () {
  // The classes of the layer's `trend` field (lagesbild_geo/stats/trends.py).
  const CLASSES = [
    { trend: "increasing", css: "increasing", colour: "#d7301f", sv: "Ökande", en: "increasing" },
    { trend: "decreasing", css: "decreasing", colour: "#2b83ba", sv: "Minskande", en: "decreasing" },
    {
      trend: "no trend", css: "no-trend", colour: "#d9d9d9",
      sv: "Ingen signifikant trend", en: "no significant trend",
    },
  ];
  const OTHER = { colour: "#ffffff" };
  const PAGE = 1000; // the server's largest page (docs/publishing.md)

  const params = new URLSearchParams(window.location.search);
  const select = document.getElementById("indikator");
  const dateLine = document.getElementById("data-date");
  const problem = document.getElementById("problem");
  const mapElement = document.getElementById("map");
  const map = L.map(mapElement, { zoomSnap: 0.25 }).setView([62.0, 16.0], 5);
  map.attributionControl.setPrefix(false);
  let layer = null;
  let fitted = false;
  let shown = 0; // the latest request wins when the selector changes quickly

  fetch("config.json", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`config.json: ${r.status}`))))
    .then(start)
    .catch(fail);

  function start(config) {
    if (config.tiles && params.get("bakgrund") !== "ingen") {
      L.tileLayer(config.tiles.url, {
        attribution: escapeText(config.tiles.attribution || ""),
        maxZoom: 19,
      }).addTo(map);
    }
    for (const indicator of config.indicators) {
      const option = document.createElement("option");
      option.value = indicator.id;
      option.textContent = indicator.name_sv;
      option.title = indicator.name_en;
      option.lang = "sv";
      select.append(option);
    }
    const wanted = params.get("indikator");
    if (wanted && config.indicators.some((i) => i.id === wanted)) select.value = wanted;
    select.disabled = false;
    select.addEventListener("change", () => show(config, select.value));
    legend(null);
    show(config, select.value);
  }

  async function show(config, indicator) {
    const ticket = ++shown;
    document.body.dataset.loaded = "";
    dateLine.textContent = "Läser in … / loading …";
    problem.hidden = true;
    let features;
    try {
      // the areas with a computed trend (the layer has every area; trend null elsewhere)
      features = (await readAll(config.collection, indicator)).filter((f) => f.properties.trend);
    } catch (error) {
      if (ticket === shown) fail(error);
      return;
    }
    if (ticket !== shown) return;
    if (layer) layer.remove();
    layer = L.geoJSON(features, { style, onEachFeature: popup }).addTo(map);
    if (!fitted && features.length) {
      map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      fitted = true;
    }
    legend(features);
    dateLine.textContent = dataDate(features, select.selectedOptions[0].textContent);
    document.body.dataset.loaded = indicator;
    document.body.dataset.features = String(features.length);
  }

  // Every page of the indicator's layer (`collection` names it with {indicator}). The `next`
  // link names the server's public URL; only its query is used, so the page's own origin is
  // asked (a proxy may differ).
  async function readAll(collection, indicator) {
    const base = new URL(collection.replace("{indicator}", indicator), window.location.href);
    let query = new URLSearchParams({ f: "json", limit: String(PAGE) }).toString();
    const features = [];
    for (let guard = 0; query !== null && guard < 100; guard++) {
      const response = await fetch(`${base.pathname}?${query}`, {
        headers: { Accept: "application/geo+json" },
      });
      if (!response.ok) throw new Error(`trends: ${response.status} ${response.statusText}`);
      const page = await response.json();
      features.push(...page.features);
      const next = (page.links || []).find((l) => l.rel === "next");
      query = next && page.features.length ? new URL(next.href).search.slice(1) : null;
    }
    return features;
  }

  function classOf(feature) {
    return CLASSES.find((c) => c.trend === feature.properties.trend) || OTHER;
  }

  function style(feature) {
    return { color: "#555", weight: 0.8, fillColor: classOf(feature).colour, fillOpacity: 0.75 };
  }

  function popup(feature, featureLayer) {
    const p = feature.properties;
    const box = document.createElement("div");
    box.className = "popup";
    const title = document.createElement("h3");
    title.textContent = `${p.area_name || p.area_code} (${p.area_code})`;
    box.append(title);
    const list = document.createElement("dl");
    const cls = classOf(feature);
    row(list, "Indikator", p.indicator_name_sv || p.indicator);
    row(list, "Trend", p.direction_sv || cls.sv || p.trend);
    row(list, "Kendalls tau", number(p.tau, 2));
    row(list, "p", number(p.p, 3));
    row(list, "Lutning/vecka / slope/week", number(p.slope_per_week, 2));
    row(list, "Fönster / window", (p.window_text || "").replace("/", " – "));
    box.append(list);
    featureLayer.bindPopup(box);
    featureLayer.on("mouseover", () => featureLayer.setStyle({ weight: 2.5 }));
    featureLayer.on("mouseout", () => featureLayer.setStyle({ weight: 0.8 }));
  }

  function row(list, label, value) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value === null || value === undefined || value === "" ? "–" : value;
    list.append(dt, dd);
  }

  function number(value, digits) {
    return typeof value === "number" && Number.isFinite(value)
      ? value.toLocaleString("sv-SE", { maximumFractionDigits: digits })
      : null;
  }

  function legend(features) {
    const rows = document.getElementById("legend-rows");
    rows.replaceChildren();
    for (const c of CLASSES) {
      const count = features ? features.filter((f) => f.properties.trend === c.trend).length : 0;
      const item = document.createElement("li");
      item.dataset.trend = c.trend;
      const swatch = document.createElement("span");
      swatch.className = `swatch ${c.css}`;
      const label = document.createElement("span");
      label.textContent = `${c.sv} / ${c.en} (${count})`;
      item.append(swatch, label);
      rows.append(item);
    }
  }

  // "the date of the data": the analysis window of the features and when it was run.
  function dataDate(features, name) {
    if (!features.length) {
      return `${name}: inga trender beräknade än / no trends computed yet.`;
    }
    const windows = [...new Set(features.map((f) => f.properties.window_text))].sort();
    const ends = features.map((f) => f.properties.window_end).filter(Boolean).sort();
    const runs = features.map((f) => f.properties.run_at).filter(Boolean).sort();
    const period = windows.map((w) => (w || "").replace("/", " – ")).join(", ");
    const end = ends.length ? ends[ends.length - 1] : "";
    const run = runs.length ? runs[runs.length - 1].slice(0, 16).replace("T", " ") : "";
    return (
      `${name}: veckor / weeks ${period}` +
      (end ? `, data t.o.m. / up to ${end}` : "") +
      (run ? `; beräknad / computed ${run}` : "")
    );
  }

  function fail(error) {
    problem.textContent = `Kartan kunde inte läsas in / the map could not be loaded: ${error.message}`;
    problem.hidden = false;
    dateLine.textContent = "";
  }

  function escapeText(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }
})();
