// Heatmaps page, per layout (device class): a recorded view of the page of that layout rendered by
// clarity-visualize in a sandboxed iframe, with clicks, element areas (clicks per element and their share), scroll
// reach or attention (seconds in view per band, the average fold) drawn over it; rage and dead click markers.
// "Compare" shows the previous period, another layout or another segment (saved segments, or all visits) side by side.
"use strict";
(() => {
  const V = window.clarity.visualize;
  const decode = window.clarity.decode.decode;
  const status = document.getElementById("heatmap-status");
  const pageSelect = document.getElementById("page-select");
  const mode = document.getElementById("mode");
  const compare = document.getElementById("compare");
  const page = Dash.pageQuery.get("page") || "";
  const PALETTE = [[0, 0, 255], [0, 255, 255], [0, 255, 0], [255, 255, 0], [255, 0, 0]];

  function colour(alpha) {
    const t = Math.min(alpha / 255, 0.999) * (PALETTE.length - 1);
    const i = Math.floor(t), f = t - i, a = PALETTE[i], b = PALETTE[i + 1];
    return a.map((v, k) => Math.round(v + (b[k] - v) * f));
  }

  // One heatmap: a stage (iframe + canvas) for a query (layout, period).
  function Stage(stage, frame, extra) {
    let overlay = null, width = 0, height = 0, data = null;
    // heatmap panels and the snapshot take the layout; the click signals take it as the device filter
    const api = (panel) => {
      const params = Object.assign({}, extra);
      if (!(panel === "snapshot" || panel.startsWith("heatmap_"))) { params.device = params.layout; delete params.layout; }
      return Dash.api(panel, params);
    };

    function canvas() {
      if (overlay) overlay.remove();
      overlay = document.createElement("canvas");
      overlay.className = "heatmap-overlay"; overlay.id = stage.id === "stage" ? "heatmap-overlay" : `heatmap-overlay-${stage.id}`;
      overlay.width = width; overlay.height = height;
      Object.assign(overlay.style, { position: "absolute", left: "0", top: "0", pointerEvents: "none", transformOrigin: "0 0", transform: frame.style.transform });
      stage.appendChild(overlay);
      return overlay.getContext("2d");
    }

    function clicks(cells) {
      const ctx = canvas();
      const max = Math.max(1, ...cells.map((c) => c.clicks));
      const radius = Math.max(12, width / 60);
      for (const c of cells) {
        const x = c.x * width, y = c.y * width;
        const g = ctx.createRadialGradient(x, y, 0, x, y, radius);
        g.addColorStop(0, "rgba(0,0,0,1)"); g.addColorStop(1, "rgba(0,0,0,0)");
        ctx.globalAlpha = Math.min(1, 0.25 + c.clicks / max); ctx.fillStyle = g;
        ctx.fillRect(x - radius, y - radius, radius * 2, radius * 2);
      }
      const image = ctx.getImageData(0, 0, width, height), px = image.data;
      for (let i = 0; i < px.length; i += 4) {
        const a = px[i + 3]; if (!a) continue;
        const [r, g, b] = colour(a); px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = Math.min(210, 60 + a);
      }
      ctx.putImageData(image, 0, 0);
    }

    function areas(rows) {
      const ctx = canvas();
      const max = Math.max(1, ...rows.map((r) => r.clicks));
      ctx.font = "bold 13px system-ui";
      for (const r of rows) {
        const x = r.left * width, y = r.top * width, w = Math.max(r.width * width, 8), h = Math.max(r.height * width, 8);
        ctx.fillStyle = `hsla(${Math.round(240 - 240 * r.clicks / max)}, 90%, 50%, 0.35)`; ctx.fillRect(x, y, w, h);
        ctx.strokeStyle = "#111"; ctx.lineWidth = 1; ctx.strokeRect(x, y, w, h);
        const text = `${r.share}%`; const tw = ctx.measureText(text).width + 8;
        ctx.fillStyle = "#111"; ctx.fillRect(x, y - 16, tw, 16); ctx.fillStyle = "#fff"; ctx.fillText(text, x + 4, y - 4);
      }
    }

    function bands(rows, value, label, fold) {
      const ctx = canvas();
      const max = Math.max(1e-9, ...rows.map((r) => r[value]));
      const step = rows.length > 1 ? rows[1].depth - rows[0].depth : 5;
      for (const r of rows) {
        const top = r.depth / 100 * height, bottom = Math.min(100, r.depth + step) / 100 * height;
        ctx.fillStyle = `hsla(${Math.round(240 - 240 * r[value] / max)}, 100%, 50%, 0.42)`;
        ctx.fillRect(0, top, width, bottom - top);
      }
      ctx.fillStyle = "#111"; ctx.font = "bold 14px system-ui";
      for (const r of rows) if (r.depth % 25 === 0 && r.depth > 0) { const y = r.depth / 100 * height; ctx.fillRect(0, y, width, 1); ctx.fillText(label(r), 8, y - 4); }
      if (fold) { const y = fold / 100 * height; ctx.fillStyle = "#dc2626"; ctx.fillRect(0, y - 1, width, 3); ctx.fillText(`average fold (${fold}%)`, width - 190, y - 6); }
    }

    function markers(rows, colourName) {
      const ctx = overlay.getContext("2d");
      ctx.strokeStyle = colourName; ctx.lineWidth = 3; ctx.globalAlpha = 1;
      for (const r of rows) { ctx.beginPath(); ctx.arc(r.x * width, r.y * width, 14, 0, 2 * Math.PI); ctx.stroke(); }
    }

    async function load() {
      const snapshot = await api("snapshot");
      const decoded = snapshot.payloads.map((text) => decode(text));
      const resize = decoded.flatMap((d) => d.resize || [])[0];
      frame.width = resize ? resize.data.width : 1000; frame.height = resize ? resize.data.height : 700;
      await V.html(decoded, frame.contentWindow);
      const root = frame.contentDocument.documentElement;
      width = root.scrollWidth; height = Math.min(root.scrollHeight, 16000);
      frame.height = height;
      fit();
      const names = ["heatmap_clicks", "heatmap_areas", "heatmap_scroll", "heatmap_attention", "rage_clicks", "dead_clicks"];
      const results = await Promise.all(names.map((p) => api(p)));
      data = Object.fromEntries(names.map((n, i) => [n, results[i]]));
      draw();
      stage.dataset.ready = "1";
      return data;
    }

    // scale the recorded page to the stage's width (again when the stage is resized, e.g. by Compare)
    function fit() {
      if (!width) return;
      const scale = Math.min(1, (stage.clientWidth - 2) / width);
      frame.style.transform = `scale(${scale})`;
      if (overlay) overlay.style.transform = frame.style.transform;
      stage.style.height = `${Math.ceil(Math.min(height * scale, window.innerHeight * 0.78))}px`;
    }

    function draw() {
      if (!data) return;
      if (mode.value === "scroll") bands(data.heatmap_scroll.rows, "share", (r) => `${r.share}% reached ${r.depth}%`);
      else if (mode.value === "attention") { const rows = data.heatmap_attention.rows; bands(rows, "seconds", (r) => `${r.seconds} s in view at ${r.depth}%`, rows.length ? rows[0].fold : 0); }
      else if (mode.value === "areas") areas(data.heatmap_areas.rows);
      else clicks(data.heatmap_clicks.rows);
      markers(data.rage_clicks.rows, "#dc2626"); markers(data.dead_clicks.rows, "#4b5563");
    }
    return { load, draw, fit, get data() { return data; } };
  }

  async function pages() {
    const data = await Dash.api("top_pages", { page: null, limit: 50 });
    pageSelect.innerHTML = "";
    for (const row of data.rows) {
      const option = document.createElement("option");
      option.value = option.textContent = row.page; option.selected = row.page === page;
      pageSelect.appendChild(option);
    }
    pageSelect.addEventListener("change", () => { location.href = Dash.filterLink("page", pageSelect.value); });
    return data.rows.length ? data.rows[0].page : "";
  }

  async function layouts() {
    const data = await Dash.api("heatmap_layouts");
    const wanted = Dash.pageQuery.get("layout") || Dash.pageQuery.get("device") || (data.rows[0] && data.rows[0].layout) || "desktop";
    const box = document.getElementById("layouts");
    box.innerHTML = "";
    for (const row of data.rows) {
      const a = document.createElement("a");
      a.href = Dash.filterLink("layout", row.layout); a.className = "chip"; a.dataset.layout = row.layout;
      a.textContent = `${row.layout} · ${row.pageviews} views · ${row.clicks} clicks`;
      if (row.layout === wanted) a.style.fontWeight = "700";
      box.appendChild(a); box.appendChild(document.createTextNode(" "));
    }
    for (const row of data.rows) if (row.layout !== wanted) { const o = document.createElement("option"); o.value = `layout:${row.layout}`; o.textContent = `${row.layout} layout`; compare.appendChild(o); }
    return wanted;
  }

  // the saved segments (and all visits, when a segment is chosen) as things to compare with
  async function segmentChoices() {
    const current = Dash.pageQuery.get("segment") || "";
    const rows = await Dash.segments().catch(() => []);
    const choices = (current ? [{ id: "", name: "all visits" }] : []).concat(rows.filter((r) => r.id !== current));
    for (const row of choices) {
      const o = document.createElement("option"); o.value = `segment:${row.id}`;
      o.textContent = row.id ? `segment ${row.name}` : row.name; o.dataset.name = o.textContent; compare.appendChild(o);
    }
    compare.dataset.ready = "1";
  }

  async function render() {
    const first = await pages();
    if (!page) { if (first) location.replace(Dash.filterLink("page", first)); else status.textContent = "no page views in this period"; return; }
    const layout = await layouts();
    segmentChoices();  // fills Compare meanwhile: the map does not wait for the segment list
    const main = Stage(document.getElementById("stage"), document.getElementById("page-frame"), { layout });
    const data = await main.load();
    mode.addEventListener("change", () => { main.draw(); if (second) second.draw(); });
    Dash.table(document.querySelector('[data-panel="heatmap_areas"]'), data.heatmap_areas, { hide: ["layout", "element", "left", "top", "width", "height"] });
    Dash.table(document.querySelector('[data-panel="heatmap_scroll"]'), data.heatmap_scroll, { hide: ["layout"] });
    Dash.table(document.querySelector('[data-panel="rage_clicks"]'), data.rage_clicks, { hide: ["page", "element", "x", "y"] });
    Dash.table(document.querySelector('[data-panel="dead_clicks"]'), data.dead_clicks, { hide: ["page", "element", "x", "y"] });
    const total = data.heatmap_clicks.rows.reduce((n, c) => n + c.clicks, 0);
    const fold = data.heatmap_attention.rows.length ? ` · fold at ${data.heatmap_attention.rows[0].fold}%` : "";
    status.textContent = `${layout}: ${total} clicks${fold}`;
    let second = null;
    compare.addEventListener("change", async () => {
      const holder = document.getElementById("compare-card");
      document.querySelector(".stages").classList.toggle("compare", !!compare.value);
      holder.hidden = !compare.value;
      main.fit();
      if (!compare.value) return;
      let extra = { layout }, title = "";
      if (compare.value === "previous") {
        extra = { layout, period: "custom", from: data.heatmap_clicks.previous.from, to: data.heatmap_clicks.previous.to };
        title = `previous period ${extra.from} – ${extra.to}`;
      } else if (compare.value.startsWith("segment:")) {
        extra = { layout, segment: compare.value.slice(8) || null };
        title = compare.selectedOptions[0].dataset.name;
      } else { extra = { layout: compare.value.slice(7) }; title = `${extra.layout} layout`; }
      holder.querySelector("h2 span").textContent = title;
      const stage = document.getElementById("stage-compare");
      stage.querySelectorAll(".heatmap-overlay").forEach((c) => c.remove());
      delete stage.dataset.ready;
      second = Stage(stage, document.getElementById("page-frame-compare"), extra);
      try { await second.load(); } catch (error) {
        holder.querySelector("h2 span").textContent = `${title}: ${error.message}`; stage.dataset.ready = "error";
      }
    });
  }
  render().catch((error) => { status.textContent = error.message; document.getElementById("stage").dataset.ready = "error"; });
})();
