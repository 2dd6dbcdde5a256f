// Traffic page: figures with the previous period, the time series (uPlot) and every breakdown panel.
"use strict";
(() => {
  const LABELS = { visitors: "Visitors", visits: "Visits", pageviews: "Page views", views_per_visit: "Views per visit", bounce_rate: "Bounce rate", visit_duration: "Visit duration" };

  function duration(seconds) { const s = Math.round(seconds); return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`; }

  async function figures() {
    const data = await Dash.api("overview");
    const box = document.getElementById("figures");
    box.innerHTML = "";
    for (const row of data.rows) {
      const card = document.createElement("div"); card.className = "figure"; card.dataset.metric = row.metric;
      const value = row.metric === "visit_duration" ? duration(row.value) : Dash.format(row.value, "number") + (row.metric === "bounce_rate" ? "%" : "");
      card.innerHTML = `<div class="label"></div><div class="value"></div><div class="change"></div>`;
      card.querySelector(".label").textContent = LABELS[row.metric];
      card.querySelector(".value").textContent = value;
      const change = card.querySelector(".change");
      if (row.change === null) { change.textContent = "new"; } else {
        const good = row.metric === "bounce_rate" ? row.change <= 0 : row.change >= 0;
        change.className = `change ${good ? "up" : "down"}`;
        change.textContent = `${row.change >= 0 ? "+" : ""}${row.change}% vs previous`;
      }
      box.appendChild(card);
    }
  }

  async function chart() {
    const data = await Dash.api("timeseries");
    const xs = data.rows.map((r) => Date.parse(r.bucket) / 1000);
    const el = document.getElementById("chart");
    const opts = {
      width: el.clientWidth || 800, height: 260, tzDate: (ts) => new Date(ts * 1000),
      series: [{}, { label: "Visitors", stroke: "#2563eb", fill: "rgba(37,99,235,0.12)", width: 2 },
        { label: "Page views", stroke: "#9333ea", width: 1.5 }],
      axes: [{}, { size: 50 }],
    };
    el.innerHTML = "";
    const plot = new uPlot(opts, [xs, data.rows.map((r) => r.visitors), data.rows.map((r) => r.pageviews)], el);
    window.addEventListener("resize", () => plot.setSize({ width: el.clientWidth, height: 260 }));
  }

  async function realtime() {
    const data = await Dash.api("realtime");
    document.getElementById("realtime-visitors").textContent = data.rows[0].visitors;
  }

  async function panel(section) {
    const name = section.dataset.panel;
    const filter = section.dataset.filter;
    const key = section.dataset.key;
    try {
      const data = await Dash.api(name);
      Dash.table(section, data, { bars: true, hide: ["bounce_rate"], link: filter ? (row) => Dash.filterLink(filter, row[key]) : null });
    } catch (error) {
      section.querySelector("tbody").innerHTML = "";
      section.querySelector("tbody").insertRow().insertCell().textContent = error.message;
    }
  }

  figures().catch((e) => { document.getElementById("figures").textContent = e.message; });
  chart().catch((e) => { document.getElementById("chart").textContent = e.message; });
  realtime().catch(() => {});
  document.querySelectorAll(".grid .panel").forEach(panel);
})();
