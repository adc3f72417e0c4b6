// The reviewer's page: lists, opens and decides deliveries through the JSON API.
//
// The API key lives in this tab's sessionStorage and travels only in the X-API-Key header of
// requests to this service (no cookie: nothing is sent unless this script sends it, so no
// CSRF). Every text that comes from the API is inserted with textContent, never as HTML: a
// file name is whatever the actor named the file.
"use strict";

(() => {
  const STORAGE_KEY = "lagesbild.granskning.api-key";
  // Relative to /granskning/, so that the page also works behind a proxy's path prefix.
  const DELIVERIES = "../deliveries";
  const IDENTITY = "identity";
  const NOT_A_REVIEWER =
    "Nyckeln tillhör inte en granskare: den kan inte användas för att granska leveranser. " +
    "/ The key is not a reviewer's.";
  const WRONG_KEY =
    "Fel nyckel: den är okänd, har gått ut eller har återkallats. " +
    "/ Wrong key: unknown, expired or revoked.";
  const UNREACHABLE =
    "Tjänsten svarar inte. Försök igen om en stund. / The service does not answer.";
  const STATUSES = {
    pending: "Väntar på granskning / pending",
    approved: "Godkänd / approved",
    rejected: "Avvisad / rejected",
    withdrawn: "Återkallad av aktören / withdrawn",
    replaced: "Ersatt av en rättelse / replaced",
  };

  const $ = (id) => document.getElementById(id);
  let actorKinds = {};
  let opened = null; // the delivery shown in the detail section
  let opener = null; // the button that opened it (focus returns there)

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // -- talking to the API --------------------------------------------------------------------

  async function call(method, path, body) {
    const headers = {
      Accept: "application/json",
      "X-API-Key": sessionStorage.getItem(STORAGE_KEY) || "",
    };
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, UNREACHABLE);
    }
    let doc = null;
    try {
      doc = await response.json();
    } catch {
      doc = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, explain(response.status, doc));
    }
    return doc;
  }

  function explain(status, doc) {
    if (status === 401) return WRONG_KEY;
    if (status === 403) return NOT_A_REVIEWER;
    const said = doc && typeof doc.description === "string" ? doc.description : "";
    const problems = doc && Array.isArray(doc.problems) ? doc.problems : [];
    const lines = problems.map((p) =>
      [p.file, p.row && `rad ${p.row}`, p.column && `kolumn ${p.column}`, p.reason]
        .filter(Boolean)
        .join(", ")
    );
    return [`Tjänsten svarade ${status}. ${said}`.trim(), ...lines].join("\n");
  }

  const deliveryPath = (id) => `${DELIVERIES}/${encodeURIComponent(id)}`;

  // -- messages ------------------------------------------------------------------------------

  function showError(text) {
    const box = $("message");
    box.textContent = text;
    box.hidden = false;
  }

  function clearError() {
    $("message").textContent = "";
    $("message").hidden = true;
  }

  function announce(text) {
    $("status").textContent = text;
  }

  // A 401 or 403 means the key must not be used again: forget it and every delivery shown.
  function fail(error) {
    if (error.status === 401 || error.status === 403) {
      logout();
    }
    showError(error.message);
  }

  // -- login ---------------------------------------------------------------------------------

  async function login() {
    clearError();
    try {
      const me = await call("GET", IDENTITY);
      actorKinds = me.actor_kinds || {};
      $("who-name").textContent = me.name;
      $("who").hidden = false;
      $("login").hidden = true;
      $("app").hidden = false;
      await refresh();
    } catch (error) {
      fail(error);
    }
  }

  function logout() {
    sessionStorage.removeItem(STORAGE_KEY);
    for (const id of ["pending-rows", "decided-rows", "indicator-rows", "flag-rows",
                      "detail-facts", "summary-facts", "who-name"]) {
      $(id).replaceChildren();
    }
    opened = null;
    $("detail").hidden = true;
    $("app").hidden = true;
    $("who").hidden = true;
    $("login").hidden = false;
    $("key").value = "";
    announce("");
  }

  // -- formatting ----------------------------------------------------------------------------

  function cell(tag, text, className) {
    const element = document.createElement(tag);
    element.textContent = text === null || text === undefined ? "–" : String(text);
    if (className) element.className = className;
    return element;
  }

  function kindCell(kind) {
    const td = document.createElement("td");
    const names = actorKinds[kind];
    td.textContent = names ? names.sv : kind || "–";
    if (names) {
      const en = document.createElement("span");
      en.className = "en";
      en.lang = "en";
      en.textContent = names.en;
      td.append(" ", en);
    }
    return td;
  }

  function weeks(d) {
    if (!d.first_week) return "–";
    return d.first_week === d.last_week ? d.first_week : `${d.first_week} – ${d.last_week}`;
  }

  // A time with a zone (received, decided) in the municipality's time.
  function when(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleString("sv-SE", {
      timeZone: "Europe/Stockholm",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  // An hour of the events (the database's local timestamp without a zone): shown as given.
  function hour(text) {
    return text ? String(text).replace("T", " ").slice(0, 16) : "–";
  }

  function number(value) {
    return typeof value === "number" ? value.toLocaleString("sv-SE") : value;
  }

  // The summary's weeks and areas: a count, or a list of weeks, codes or {code, name}.
  function listed(value) {
    if (!Array.isArray(value)) return number(value);
    const names = value.map((v) =>
      v && typeof v === "object" ? [v.code ?? v.id, v.name].filter(Boolean).join(" ") : v
    );
    return `${value.length}: ${names.join(", ")}`;
  }

  // A list item carries the count (its double_reports are left empty); a document both.
  function flagCount(d) {
    if (typeof d.double_report_count === "number") return d.double_report_count;
    if (Array.isArray(d.double_reports)) return d.double_reports.length;
    return null;
  }

  function fileButton(d) {
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = d.file_name;
    button.addEventListener("click", () => open(d.id, button));
    td.append(button);
    return td;
  }

  function facts(list, pairs) {
    list.replaceChildren();
    for (const [sv, en, value] of pairs) {
      const dt = document.createElement("dt");
      dt.textContent = sv;
      const english = document.createElement("span");
      english.className = "en";
      english.lang = "en";
      english.textContent = en;
      dt.append(" ", english);
      list.append(dt, cell("dd", value));
    }
  }

  // -- the lists -----------------------------------------------------------------------------

  async function refresh() {
    const [pending, approved, rejected] = await Promise.all(
      ["pending", "approved", "rejected"].map((status) =>
        call("GET", `${DELIVERIES}?status=${status}`)
      )
    );
    const waiting = pending.deliveries || [];
    // A list item without its flags: the delivery's own document has them.
    await Promise.all(
      waiting
        .filter((d) => flagCount(d) === null)
        .map(async (d) => {
          d.double_reports = (await call("GET", deliveryPath(d.id))).double_reports;
        })
    );
    showPending(waiting);
    const decided = [...(approved.deliveries || []), ...(rejected.deliveries || [])];
    decided.sort((a, b) => String(b.reviewed_at).localeCompare(String(a.reviewed_at)));
    showDecided(decided);
  }

  function showPending(deliveries) {
    const rows = deliveries.map((d) => {
      const tr = document.createElement("tr");
      tr.dataset.id = d.id;
      const flags = flagCount(d);
      tr.append(
        cell("td", d.id),
        kindCell(d.actor_kind),
        fileButton(d),
        cell("td", weeks(d)),
        cell("td", number(d.row_count), "number"),
        cell("td", when(d.received_at)),
        cell("td", flags, flags ? "number flagged" : "number")
      );
      return tr;
    });
    $("pending-rows").replaceChildren(...rows);
    $("pending-count").textContent = String(rows.length);
    $("pending-table").hidden = rows.length === 0;
    $("pending-empty").hidden = rows.length > 0;
  }

  function showDecided(deliveries) {
    const rows = deliveries.map((d) => {
      const tr = document.createElement("tr");
      tr.dataset.id = d.id;
      tr.append(
        cell("td", d.id),
        kindCell(d.actor_kind),
        fileButton(d),
        cell("td", weeks(d)),
        cell("td", STATUSES[d.status] || d.status),
        cell("td", d.reviewed_by),
        cell("td", when(d.reviewed_at)),
        cell("td", d.review_reason)
      );
      return tr;
    });
    $("decided-rows").replaceChildren(...rows);
    $("decided-count").textContent = String(rows.length);
    $("decided-table").hidden = rows.length === 0;
    $("decided-empty").hidden = rows.length > 0;
  }

  // -- one delivery --------------------------------------------------------------------------

  async function open(id, button) {
    clearError();
    let d;
    try {
      d = await call("GET", deliveryPath(id));
    } catch (error) {
      fail(error);
      return;
    }
    opened = d;
    opener = button;
    $("detail-title").textContent = `Leverans ${d.id}: ${d.file_name}`;
    facts($("detail-facts"), [
      ["Status", "Status", STATUSES[d.status] || d.status],
      ["Aktör", "Actor", d.actor_id],
      ["Aktörstyp", "Actor kind", actorKinds[d.actor_kind]?.sv || d.actor_kind],
      ["Mottagen", "Received", when(d.received_at)],
      ["Rader", "Rows", number(d.row_count)],
      ["Veckor", "Weeks", weeks(d)],
      ["Ersätter leverans", "Replaces delivery", d.replaces],
      ["Beslut av", "Decided by", d.reviewed_by],
      ["Beslut", "Decided", when(d.reviewed_at)],
      ["Skäl", "Reason", d.review_reason],
    ]);
    const summary = d.summary || {};
    facts($("summary-facts"), [
      ["Veckor", "Weeks", listed(summary.weeks)],
      ["Områden", "Areas", listed(summary.areas)],
      ["Summa", "Total", number(summary.total)],
    ]);
    $("indicator-rows").replaceChildren(
      ...(summary.indicators || []).map((i) => {
        const tr = document.createElement("tr");
        tr.append(
          cell("td", i.name_sv ? `${i.name_sv} (${i.id})` : i.id),
          cell("td", number(i.cells), "number"),
          cell("td", number(i.total), "number")
        );
        return tr;
      })
    );
    const flags = Array.isArray(d.double_reports) ? d.double_reports : [];
    $("flag-rows").replaceChildren(
      ...flags.map((f) => {
        const tr = document.createElement("tr");
        tr.append(
          cell("td", f.area_name ? `${f.area_name} (${f.area_code})` : f.area_code),
          cell("td", f.indicator),
          cell("td", hour(f.hour_start)),
          cell("td", f.other_delivery),
          kindCell(f.other_actor_kind),
          cell("td", number(f.n_this), "number"),
          cell("td", number(f.n_other), "number")
        );
        return tr;
      })
    );
    $("flags-table").hidden = flags.length === 0;
    $("flags-none").hidden = flags.length > 0;
    $("decision").hidden = d.status !== "pending";
    $("reason").value = "";
    $("reject").disabled = true;
    $("detail").hidden = false;
    $("detail-title").focus();
  }

  function close() {
    opened = null;
    $("detail").hidden = true;
    if (opener && opener.isConnected) opener.focus();
  }

  async function decide(action, body) {
    if (!opened) return;
    const id = opened.id;
    clearError();
    for (const b of ["approve", "reject"]) $(b).disabled = true;
    try {
      const d = await call("POST", `${deliveryPath(id)}/${action}`, body);
      close();
      announce(`Leverans ${id}: ${STATUSES[d.status] || d.status}.`);
      await refresh();
      $("tab-pending").focus();
    } catch (error) {
      fail(error);
      // Refused: show what is true now. A conflict (another reviewer decided first) leaves
      // nothing to decide here; any other refusal keeps the reason typed.
      if (error.status !== 401 && error.status !== 403) {
        if (error.status === 409) close();
        await refresh().catch(fail);
      }
    } finally {
      $("approve").disabled = false;
      $("reject").disabled = $("reason").value.trim() === "";
    }
  }

  // -- tabs (arrow keys move between them, as in the WAI-ARIA tabs pattern) ----------------

  function selectTab(tab) {
    for (const t of document.querySelectorAll('[role="tab"]')) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !selected;
    }
  }

  function tabKeys(event) {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    const at = tabs.indexOf(event.currentTarget);
    const next = { ArrowRight: 1, ArrowLeft: -1, Home: -at, End: tabs.length - 1 - at }[
      event.key
    ];
    if (next === undefined) return;
    event.preventDefault();
    const tab = tabs[(at + next + tabs.length) % tabs.length];
    selectTab(tab);
    tab.focus();
  }

  // -- wiring --------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key").value.trim();
      // A header value must be printable ASCII; anything else cannot be a key.
      if (!/^[\x21-\x7e]+$/.test(key)) {
        showError(WRONG_KEY);
        return;
      }
      sessionStorage.setItem(STORAGE_KEY, key);
      $("key").value = "";
      login();
    });
    $("logout").addEventListener("click", () => {
      logout();
      clearError();
      $("key").focus();
    });
    $("close").addEventListener("click", close);
    $("approve").addEventListener("click", () => decide("approve"));
    $("reason").addEventListener("input", () => {
      $("reject").disabled = $("reason").value.trim() === "";
    });
    $("reject").addEventListener("click", () => {
      const reason = $("reason").value.trim();
      if (reason) decide("reject", { reason });
    });
    for (const tab of document.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => selectTab(tab));
      tab.addEventListener("keydown", tabKeys);
    }
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("detail").hidden) close();
    });
    if (sessionStorage.getItem(STORAGE_KEY)) login();
  });
})();
