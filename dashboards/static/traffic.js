// Traffic page: figures with the previous period, the time series (uPlot) with the previous period as a
// second line and the site's annotations, two segments side by side, and every breakdown panel.
"use strict";
(() => {
  const LABELS = { visitors: "Visitors", visits: "Visits", pageviews: "Page views", views_per_visit: "Views per visit", bounce_rate: "Bounce rate", visit_duration: "Visit duration" };
  // code columns the readable label columns replace on the page (CSV and API keep both)
  const HIDE = { countries: ["country"], channels: ["channel"], devices: ["device"] };

  async function figures() {
    const data = await Dash.api("overview");
    const box = document.getElementById("figures");
    box.innerHTML = "";
    for (const row of data.rows) {
      const card = document.createElement("div"); card.className = "figure"; card.dataset.metric = row.metric;
      card.innerHTML = `<div class="label"></div><div class="value"></div><div class="change"></div>`;
      card.querySelector(".label").textContent = LABELS[row.metric];
      card.querySelector(".value").textContent = row.display;
      const change = card.querySelector(".change");
      if (row.change === null) { change.textContent = "new"; } else {
        const good = row.metric === "bounce_rate" ? row.change <= 0 : row.change >= 0;
        change.className = `change ${good ? "up" : "down"}`;
        change.textContent = `${row.change >= 0 ? "+" : ""}${row.change}% vs previous`;
      }
      box.appendChild(card);
    }
  }

  const dayStart = (day) => Date.parse(`${day}T00:00:00`) / 1000;

  function markers(notes) {
    return (u) => {
      u.over.querySelectorAll(".annotation-marker").forEach((m) => m.remove());
      for (const note of notes) {
        const x = u.valToPos(dayStart(note.day), "x");
        if (!(x >= 0 && x <= u.over.clientWidth)) continue;
        const marker = document.createElement("div");
        marker.className = "annotation-marker"; marker.dataset.annotation = note.id; marker.title = `${note.day}: ${note.note}`;
        marker.style.cssText = `position:absolute;left:${x}px;top:0;bottom:0;width:0;border-left:2px dashed #f59e0b;`;
        const flag = document.createElement("span"); flag.textContent = "✎"; flag.style.cssText = "position:absolute;top:-2px;left:2px;color:#b45309;font-size:12px";
        marker.appendChild(flag);
        u.over.appendChild(marker);
      }
    };
  }

  async function chart(notes) {
    const data = await Dash.api("timeseries");
    const xs = data.rows.map((r) => Date.parse(r.bucket) / 1000);
    const el = document.getElementById("chart");
    const opts = {
      width: el.clientWidth || 800, height: 260, tzDate: (ts) => new Date(ts * 1000),
      series: [{}, { label: "Visitors", stroke: "#2563eb", fill: "rgba(37,99,235,0.12)", width: 2 },
        { label: "Page views", stroke: "#9333ea", width: 1.5 },
        { label: "Visitors, previous period", stroke: "#94a3b8", width: 1.5, dash: [6, 4] }],
      axes: [{}, { size: 50 }],
      hooks: { draw: [markers(notes)] },
    };
    el.innerHTML = "";
    const plot = new uPlot(opts, [xs, data.rows.map((r) => r.visitors), data.rows.map((r) => r.pageviews),
      data.rows.map((r) => r.previous_visitors)], el);
    el.dataset.previous = String(data.rows.reduce((sum, r) => sum + (r.previous_visitors || 0), 0));
    window.addEventListener("resize", () => plot.setSize({ width: el.clientWidth, height: 260 }));
  }

  // --- annotations ------------------------------------------------------------------------------
  const noteForm = document.getElementById("annotation-form");
  const noteError = document.getElementById("annotation-error");

  function editNote(note) {
    noteForm.elements.id.value = note ? note.id : "";
    noteForm.elements.day.value = note ? note.day : "";
    noteForm.elements.note.value = note ? note.note : "";
    document.getElementById("save-annotation").textContent = note ? "Save annotation" : "Add annotation";
    document.getElementById("cancel-annotation").hidden = !note;
  }

  function listNotes(notes) {
    const list = document.getElementById("annotation-list");
    list.innerHTML = "";
    for (const note of notes) {
      const li = document.createElement("li"); li.dataset.annotation = note.id;
      const text = document.createElement("span"); text.textContent = `${note.day} · ${note.note} (${note.author})`;
      const edit = document.createElement("button"); edit.type = "button"; edit.textContent = "Edit";
      edit.addEventListener("click", () => editNote(note));
      const remove = document.createElement("button"); remove.type = "button"; remove.textContent = "Delete";
      remove.addEventListener("click", async () => {
        await Dash.send("DELETE", `annotations/${note.id}`, { site: Dash.site });
        refreshChart();
      });
      li.append(text, " ", edit, " ", remove);
      list.appendChild(li);
    }
  }

  async function refreshChart() {
    let notes = [];
    try { notes = (await Dash.api("annotations", { limit: 1000 })).rows; } catch (e) { noteError.textContent = e.message; }
    listNotes(notes);
    await chart(notes);
  }

  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    noteError.textContent = "";
    const body = { day: noteForm.elements.day.value, note: noteForm.elements.note.value };
    const id = noteForm.elements.id.value;
    try {
      if (id) await Dash.send("PUT", `annotations/${id}`, { site: Dash.site }, body);
      else await Dash.post("annotations", { site: Dash.site }, body);
      editNote(null);
      await refreshChart();
    } catch (e) { noteError.textContent = e.message; }
  });
  document.getElementById("cancel-annotation").addEventListener("click", () => editNote(null));

  // --- two segments side by side -----------------------------------------------------------------
  async function compare() {
    const a = document.getElementById("compare-a"), b = document.getElementById("compare-b");
    const tbody = document.querySelector("#compare tbody");
    const [left, right] = await Promise.all([Dash.api("overview", { segment: a.value || null }),
      Dash.api("overview", { segment: b.value || null })]);
    document.getElementById("compare-a-name").textContent = a.selectedOptions[0].textContent;
    document.getElementById("compare-b-name").textContent = b.selectedOptions[0].textContent;
    tbody.innerHTML = "";
    left.rows.forEach((row, i) => {
      const tr = tbody.insertRow(); tr.dataset.metric = row.metric;
      tr.insertCell().textContent = LABELS[row.metric];
      for (const value of [row.display, right.rows[i].display]) { const td = tr.insertCell(); td.className = "num"; td.textContent = value; }
    });
  }

  async function setupCompare() {
    const rows = await Dash.segments();
    const a = document.getElementById("compare-a"), b = document.getElementById("compare-b");
    for (const select of [a, b]) {
      for (const row of rows) { const o = document.createElement("option"); o.value = row.id; o.textContent = row.name; select.appendChild(o); }
      select.addEventListener("change", () => compare().catch(() => {}));
    }
    a.value = Dash.pageQuery.get("segment") || "";
    if (rows.length) b.value = rows.find((r) => r.id !== a.value) ? rows.find((r) => r.id !== a.value).id : "";
    await compare();
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
      Dash.table(section, data, { bars: true, hide: ["bounce_rate", ...(HIDE[name] || [])], link: filter ? (row) => Dash.filterLink(filter, row[key]) : null });
    } catch (error) {
      section.querySelector("tbody").innerHTML = "";
      section.querySelector("tbody").insertRow().insertCell().textContent = error.message;
    }
  }

  figures().catch((e) => { document.getElementById("figures").textContent = e.message; });
  refreshChart().catch((e) => { document.getElementById("chart").textContent = e.message; });
  setupCompare().catch((e) => { document.querySelector("#compare tbody").textContent = e.message; });
  realtime().catch(() => {});
  document.querySelectorAll(".grid .panel").forEach(panel);
})();
