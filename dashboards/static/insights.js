// Insights page: each frustration signal with its share of visits and the previous period (a card that opens the
// recordings with that signal), their trend (uPlot) and where they happen (pages, elements, error messages).
"use strict";
(() => {
  const NAMES = { rage_click: "Rage clicks", dead_click: "Dead clicks", quick_back: "Quick backs", excessive_scroll: "Excessive scrolling", js_error: "JavaScript errors" };
  const COLOURS = { rage_click: "#dc2626", dead_click: "#4b5563", quick_back: "#d97706", excessive_scroll: "#7c3aed", js_error: "#0891b2" };

  async function cards() {
    const data = await Dash.api("insights");
    const box = document.getElementById("signals");
    box.innerHTML = "";
    for (const row of data.rows) {
      const card = document.createElement("a");
      card.className = "figure signal"; card.dataset.signal = row.signal;
      card.href = `/dashboard/recordings?${Dash.query({ signal: row.signal })}`;
      card.title = `Open the recordings with ${NAMES[row.signal].toLowerCase()}`;
      card.innerHTML = `<div class="label"></div><div class="value"></div><div class="share muted"></div><div class="change"></div>`;
      card.style.borderTop = `3px solid ${COLOURS[row.signal]}`;
      card.querySelector(".label").textContent = NAMES[row.signal];
      card.querySelector(".value").textContent = Dash.format(row.occurrences, "integer");
      card.querySelector(".share").textContent =
        `${row.sessions} ${row.sessions === 1 ? "visit" : "visits"} · ${row.visit_share}% of visits`;
      const change = card.querySelector(".change");
      if (row.change === null) change.textContent = row.occurrences ? "new" : "–";
      else { change.className = `change ${row.change <= 0 ? "up" : "down"}`; change.textContent = `${row.change >= 0 ? "+" : ""}${row.change}% vs previous`; }
      box.appendChild(card);
    }
  }

  async function chart() {
    const data = await Dash.api("insights_trend");
    const el = document.getElementById("chart");
    const signals = Object.keys(NAMES);
    const opts = {
      width: el.clientWidth || 800, height: 220, tzDate: (ts) => new Date(ts * 1000),
      series: [{}].concat(signals.map((s) => ({ label: NAMES[s], stroke: COLOURS[s], width: 2 }))),
      axes: [{}, { size: 40 }],
    };
    el.innerHTML = "";
    const plot = new uPlot(opts, [data.rows.map((r) => Date.parse(r.bucket) / 1000)].concat(signals.map((s) => data.rows.map((r) => r[s]))), el);
    window.addEventListener("resize", () => plot.setSize({ width: el.clientWidth, height: 220 }));
  }

  async function panel(section) {
    const name = section.dataset.panel;
    try {
      const data = await Dash.api(name, { limit: 20 });
      const heatmap = (row) => `/dashboard/heatmaps?${Dash.query({ page: row.page })}`;
      Dash.table(section, data, { hide: ["element", "x", "y"], bars: name !== "js_errors", link: name === "js_errors" ? null : heatmap });
    } catch (error) {
      section.querySelector("tbody").innerHTML = "";
      section.querySelector("tbody").insertRow().insertCell().textContent = error.message;
    }
  }

  Promise.all([cards(), chart(), ...Array.from(document.querySelectorAll(".grid .panel")).map(panel)])
    .then(() => { document.body.dataset.ready = "1"; })
    .catch((error) => { document.getElementById("signals").textContent = error.message; document.body.dataset.ready = "error"; });
})();
