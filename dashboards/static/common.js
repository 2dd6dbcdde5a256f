// Shared helpers of the dashboard pages: API calls with the page's query, tables, filters.
"use strict";
const Dash = (() => {
  const body = document.body;
  const site = body.dataset.site;
  const csrf = body.dataset.csrf;
  const pageQuery = new URLSearchParams(body.dataset.query || "");
  // filters, and the session selectors: a saved segment, a funnel step's drop-off
  const COMMON = ["site", "period", "from", "to", "page", "source", "channel", "country", "device", "browser", "os",
    "segment", "funnel", "step", "dropped"];

  function query(extra, keep) {
    const q = new URLSearchParams();
    for (const name of COMMON.concat(keep || [])) { if (pageQuery.get(name)) q.set(name, pageQuery.get(name)); }
    for (const [k, v] of Object.entries(extra || {})) { if (v === null || v === "") q.delete(k); else q.set(k, v); }
    return q;
  }

  async function api(path, extra, keep) {
    const response = await fetch(`/dashboard/api/v1/${path}?${query(extra, keep)}`, { credentials: "same-origin" });
    if (response.status === 401) { location.href = "/dashboard/login?next=" + encodeURIComponent(location.pathname + location.search); }
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  async function send(method, path, params, payload) {
    const response = await fetch(`/dashboard/api/v1/${path}?${new URLSearchParams(params)}`, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }
  const post = (path, params, payload) => send("POST", path, params, payload);

  // The segment picker of the controls: the site's saved segments, the current one selected.
  async function segments() {
    const data = await api("segments", { limit: 1000, segment: null, funnel: null, step: null, dropped: null });
    return data.rows;
  }
  const picker = document.getElementById("segment-select");
  if (picker) {
    segments().then((rows) => {
      for (const row of rows) {
        const option = document.createElement("option"); option.value = row.id; option.textContent = row.name;
        if (row.id === picker.dataset.current) option.selected = true;
        picker.appendChild(option);
      }
      picker.dataset.ready = "1";
    }).catch(() => { picker.dataset.ready = "1"; });
  }

  const fmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  function format(value, type) {
    if (value === null || value === undefined) return "–";
    if (type === "integer" || type === "number") return fmt.format(value);
    if (type === "boolean") return value ? "★" : "";
    if (type === "datetime") return String(value).replace("T", " ").slice(0, 16);
    if (Array.isArray(value)) return value.join(", ");
    if (value === "") return "(none)";
    return String(value);
  }

  function filterLink(name, value) {
    const q = new URLSearchParams(location.search);
    q.set(name, value);
    return `${location.pathname}?${q}`;
  }

  // A table of a panel's rows; `filter` makes the first column a link that sets that filter.
  function table(section, data, options) {
    const opts = options || {};
    const columns = data.columns.filter((c) => !(opts.hide || []).includes(c.name));
    const tbody = section.querySelector("tbody");
    const thead = section.querySelector("thead") || section.querySelector("table").createTHead();
    thead.innerHTML = "";
    const head = thead.insertRow();
    for (const c of columns) { const th = document.createElement("th"); th.textContent = c.name.replace(/_/g, " "); if (c.type === "integer" || c.type === "number") th.className = "num"; th.title = c.description; head.appendChild(th); }
    tbody.innerHTML = "";
    if (!data.rows.length) { const td = tbody.insertRow().insertCell(); td.colSpan = columns.length; td.className = "muted"; td.textContent = "No data"; return; }
    const measure = columns.find((c, i) => i > 0 && (c.type === "integer" || c.type === "number")) || columns[1];
    const max = Math.max(...data.rows.map((r) => Number(r[measure && measure.name]) || 0), 1);
    for (const row of data.rows) {
      const tr = tbody.insertRow();
      columns.forEach((c, i) => {
        const td = tr.insertCell();
        const text = format(row[c.name], c.type);
        if (i === 0 && opts.link) {
          const a = document.createElement("a"); a.href = opts.link(row); a.textContent = text; td.appendChild(a);
        } else { td.textContent = text; }
        if (c.type === "string" || c.type === "array") td.title = text;  // cells are cut to one line: the whole value on hover
        if (c.type === "integer" || c.type === "number") td.className = "num";
        if (i === 0 && opts.bars) { const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = `${Math.round(100 * (Number(row[measure.name]) || 0) / max)}%`; td.appendChild(bar); }
      });
    }
  }

  // Controls: auto-submit selects, custom dates, removable filter chips, no empty parameters.
  const form = document.getElementById("controls");
  if (form) {
    form.querySelectorAll("[data-autosubmit]").forEach((el) => el.addEventListener("change", () => {
      const custom = form.querySelector(".custom");
      if (el.name === "period" && el.value === "custom") { custom.hidden = false; return; }
      form.requestSubmit();
    }));
    form.querySelectorAll("[data-drop]").forEach((chip) => chip.addEventListener("click", (event) => {
      event.preventDefault();
      for (const name of chip.dataset.drop.split(" ")) { const input = form.querySelector(`[name="${name}"]`); if (input) input.value = ""; }
      form.requestSubmit();
    }));
    form.addEventListener("submit", () => {
      form.querySelectorAll("input, select").forEach((el) => { if (!el.value || (el.type === "checkbox" && !el.checked)) el.disabled = true; });
    });
  }
  return { site, csrf, pageQuery, api, post, send, segments, table, format, filterLink, query };
})();
