// Heatmaps page: the latest recorded view of a page rendered by clarity-visualize in a sandboxed iframe,
// with click density (page coordinates normalised by the document width) or scroll reach drawn over it,
// and the rage and dead clicks of the page.
"use strict";
(() => {
  const V = window.clarity.visualize;
  const decode = window.clarity.decode.decode;
  const frame = document.getElementById("page-frame");
  const stage = document.getElementById("stage");
  const status = document.getElementById("heatmap-status");
  const pageSelect = document.getElementById("page-select");
  const mode = document.getElementById("mode");
  const page = Dash.pageQuery.get("page") || "";
  const PALETTE = [[0, 0, 255], [0, 255, 255], [0, 255, 0], [255, 255, 0], [255, 0, 0]];
  let overlay = null;

  function colour(alpha) {
    const t = Math.min(alpha / 255, 0.999) * (PALETTE.length - 1);
    const i = Math.floor(t), f = t - i, a = PALETTE[i], b = PALETTE[i + 1];
    return a.map((v, k) => Math.round(v + (b[k] - v) * f));
  }

  function canvasOver(width, height) {
    if (overlay) overlay.remove();
    overlay = document.createElement("canvas");
    overlay.id = "heatmap-overlay";
    overlay.width = width; overlay.height = height;
    Object.assign(overlay.style, { position: "absolute", left: "0", top: "0", pointerEvents: "none", transformOrigin: "0 0", transform: frame.style.transform });
    stage.appendChild(overlay);
    return overlay.getContext("2d");
  }

  function drawClicks(cells, width, height) {
    const ctx = canvasOver(width, height);
    const max = Math.max(1, ...cells.map((c) => c.clicks));
    const radius = Math.max(12, width / 60);
    for (const c of cells) {
      const x = c.x * width, y = c.y * width;
      const g = ctx.createRadialGradient(x, y, 0, x, y, radius);
      g.addColorStop(0, "rgba(0,0,0,1)"); g.addColorStop(1, "rgba(0,0,0,0)");
      ctx.globalAlpha = Math.min(1, 0.25 + c.clicks / max);
      ctx.fillStyle = g;
      ctx.fillRect(x - radius, y - radius, radius * 2, radius * 2);
    }
    const image = ctx.getImageData(0, 0, width, height);
    const px = image.data;
    for (let i = 0; i < px.length; i += 4) {
      const a = px[i + 3];
      if (!a) continue;
      const [r, g, b] = colour(a);
      px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = Math.min(210, 60 + a);
    }
    ctx.putImageData(image, 0, 0);
  }

  function drawScroll(rows, width, height) {
    const ctx = canvasOver(width, height);
    for (let i = 0; i < rows.length - 1; i++) {
      const top = rows[i].depth / 100 * height, bottom = rows[i + 1].depth / 100 * height;
      ctx.fillStyle = `hsla(${Math.round(rows[i].share * 2.4)}, 100%, 50%, 0.45)`;
      ctx.fillRect(0, top, width, bottom - top);
    }
    ctx.fillStyle = "#111"; ctx.font = "bold 14px system-ui";
    for (const row of rows) if (row.depth % 25 === 0 && row.depth > 0) {
      const y = row.depth / 100 * height;
      ctx.fillRect(0, y, width, 1); ctx.fillText(`${row.share}% reached ${row.depth}%`, 8, y - 4);
    }
  }

  function markers(rows, colourName, width) {
    const ctx = overlay.getContext("2d");
    ctx.strokeStyle = colourName; ctx.lineWidth = 3;
    for (const r of rows) { ctx.beginPath(); ctx.arc(r.x * width, r.y * width, 14, 0, 2 * Math.PI); ctx.stroke(); }
  }

  async function pages() {
    const data = await Dash.api("top_pages", { page: null, limit: 50 });
    pageSelect.innerHTML = "";
    for (const row of data.rows) {
      const option = document.createElement("option");
      option.value = option.textContent = row.page;
      option.selected = row.page === page;
      pageSelect.appendChild(option);
    }
    pageSelect.addEventListener("change", () => { location.href = Dash.filterLink("page", pageSelect.value); });
    return data.rows.length ? data.rows[0].page : "";
  }

  function deviceLinks() {
    const box = document.createElement("span");
    for (const device of ["", "desktop", "mobile", "tablet"]) {
      const a = document.createElement("a");
      const q = new URLSearchParams(location.search);
      if (device) q.set("device", device); else q.delete("device");
      a.href = `${location.pathname}?${q}`; a.textContent = device || "all devices"; a.className = "chip";
      if ((Dash.pageQuery.get("device") || "") === device) a.style.fontWeight = "700";
      box.appendChild(a); box.appendChild(document.createTextNode(" "));
    }
    document.querySelector(".stage-card h2").appendChild(box);
  }

  async function render() {
    const first = await pages();
    if (!page) { if (first) location.replace(Dash.filterLink("page", first)); else status.textContent = "no page views in this period"; return; }
    deviceLinks();
    const snapshot = await Dash.api("snapshot");
    const decoded = snapshot.payloads.map((text) => decode(text));
    const resize = decoded.flatMap((d) => d.resize || [])[0];
    frame.width = resize ? resize.data.width : 1000;
    frame.height = resize ? resize.data.height : 700;
    await V.html(decoded, frame.contentWindow);
    const root = frame.contentDocument.documentElement;
    const width = root.scrollWidth, height = Math.min(root.scrollHeight, 16000);
    frame.height = height;
    const scale = Math.min(1, (stage.clientWidth - 2) / width);
    frame.style.transform = `scale(${scale})`;
    stage.style.height = `${Math.ceil(Math.min(height * scale, window.innerHeight * 0.78))}px`;
    const [clicks, scroll, rage, dead] = await Promise.all(
      ["heatmap_clicks", "heatmap_scroll", "rage_clicks", "dead_clicks"].map((p) => Dash.api(p)));
    const draw = () => {
      if (mode.value === "scroll") drawScroll(scroll.rows, width, height); else drawClicks(clicks.rows, width, height);
      markers(rage.rows, "#dc2626", width); markers(dead.rows, "#4b5563", width);
    };
    draw();
    mode.addEventListener("change", draw);
    Dash.table(document.querySelector('[data-panel="heatmap_scroll"]'), scroll);
    Dash.table(document.querySelector('[data-panel="rage_clicks"]'), rage, { hide: ["page", "element", "x", "y"] });
    Dash.table(document.querySelector('[data-panel="dead_clicks"]'), dead, { hide: ["page", "element", "x", "y"] });
    const total = clicks.rows.reduce((n, c) => n + c.clicks, 0);
    status.textContent = `${total} clicks`;
    document.getElementById("stage").dataset.ready = "1";
  }
  render().catch((error) => { status.textContent = error.message; document.getElementById("stage").dataset.ready = "error"; });
})();
