// Replay page: a recording's masked payloads decoded by clarity-decode and played by clarity-visualize into a
// sandboxed same-origin iframe (the recorded page's scripts never run). One clock runs across the pages of the
// visit (page i starts at its offset_ms); beside it the timeline (pages, clicks, custom events, frustration
// signals, errors) jumps to any moment; previous/next walk the filtered list; keys: Space, ←/→, N/P.
"use strict";
(() => {
  const V = window.clarity.visualize;
  const decode = window.clarity.decode.decode;
  const player = document.getElementById("player");
  const recording = player.dataset.recording;
  const frame = document.getElementById("replay-frame");
  const stage = document.getElementById("stage");
  const playButton = document.getElementById("play");
  const seek = document.getElementById("seek");
  const clock = document.getElementById("clock");
  const label = document.getElementById("page-label");
  const list = document.getElementById("timeline");
  const OPTIONS = ["min_duration", "max_duration", "signal", "rage", "favourite", "label", "tag"];
  const IDLE_MS = 2000, STEP_MS = 5000;

  let pages = [];          // {merged, offset, first, last}: one per page view, in order
  let index = -1;          // page shown
  let events = [], cursor = 0;
  let now = 0, total = 0;  // the recording's clock (ms since its first recorded moment) and its length
  let playing = false, last = 0, items = [];

  const mmss = (ms) => { const s = Math.max(0, Math.round(ms / 1000)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; };
  const local = (i, t) => pages[i].first + (t - pages[i].offset);       // recording clock → page time
  const global = (i, t) => pages[i].offset + (t - pages[i].first);      // page time → recording clock

  function fit(width, height) {
    frame.width = width; frame.height = height;
    const scale = Math.min(1, (stage.clientWidth - 2) / width);
    frame.style.transform = `scale(${scale})`;
    stage.style.height = `${Math.ceil(height * scale) + 2}px`;
  }

  function pageAt(t) {
    let found = -1;
    pages.forEach((p, i) => { if (p.merged.dom && p.offset <= t) found = i; });
    return found < 0 ? pages.findIndex((p) => p.merged.dom) : found;
  }

  function show() {
    clock.textContent = `${mmss(now)} / ${mmss(total)}`;
    seek.value = total ? Math.round(1000 * now / total) : 0;
    label.textContent = `page ${index + 1} of ${pages.length}`;
    let current = null;
    for (const li of items) { const past = Number(li.dataset.at) <= now; li.classList.toggle("past", past); li.classList.remove("now"); if (past) current = li; }
    if (current) current.classList.add("now");
  }

  async function open(i) {
    index = i;
    const merged = pages[i].merged;
    const viewport = merged.events.find((e) => e.event === 11);
    fit(viewport ? viewport.data.width : 1000, viewport ? viewport.data.height : 700);
    await V.setup(frame.contentWindow, { version: merged.envelope.version, dom: merged.dom, onresize: fit, pointer: true });
    events = merged.events.filter((e) => e.time >= merged.dom.time);
    cursor = 0;
  }

  function advance(t) {
    const target = local(index, t), batch = [];
    while (cursor < events.length && events[cursor].time <= target) batch.push(events[cursor++]);
    if (batch.length) V.render(batch);
    now = t;
  }

  async function jump(t) {
    t = Math.max(0, Math.min(total, t));
    const i = pageAt(t);
    if (i !== index || t < now) await open(i);
    advance(Math.max(t, pages[i].offset));
    now = t; show();
  }

  async function tick(time) {
    if (!playing) return;
    const speed = Number(document.getElementById("speed").value);
    let target = now + (time - last) * speed;
    last = time;
    if (document.getElementById("skip-idle").checked) {
      const next = cursor < events.length ? global(index, events[cursor].time) : (pages[index + 1] ? pages[index + 1].offset : total);
      if (next - target > IDLE_MS) target = next - 100;
    }
    target = Math.min(target, total);
    const i = pageAt(target);
    if (i !== index) { await open(i); }
    advance(target); show();
    if (now >= total) { playing = false; playButton.textContent = "Play"; return; }
    requestAnimationFrame(tick);
  }

  function toggle() {
    playing = !playing;
    playButton.textContent = playing ? "Pause" : "Play";
    if (playing) { if (now >= total) jump(0); last = performance.now(); requestAnimationFrame(tick); }
  }
  playButton.addEventListener("click", toggle);
  seek.addEventListener("input", () => jump(total * Number(seek.value) / 1000));

  async function timeline() {
    const data = await Dash.api("recording_timeline", { recording, limit: 1000 }, []);
    list.innerHTML = "";
    items = data.rows.map((row) => {
      const li = document.createElement("li");
      li.className = row.kind; li.dataset.at = row.at_ms; li.tabIndex = 0;
      const what = row.kind === "page" ? `→ ${row.label}` : row.kind === "click" ? `click ${row.label}` :
        row.kind === "custom" ? `event ${row.label}${row.detail ? " = " + row.detail : ""}` : `${row.kind.replace("_", " ")} ${row.label || row.detail}`;
      li.innerHTML = `<span class="when"></span><span class="what"></span>`;
      li.querySelector(".when").textContent = mmss(row.at_ms);
      li.querySelector(".what").textContent = what; li.title = `${what} (${row.page})`;
      li.addEventListener("click", () => jump(row.at_ms));
      list.appendChild(li);
      return li;
    });
  }

  async function neighbours() {
    const data = await Dash.api("recordings", { limit: 1000 }, OPTIONS);
    const at = data.rows.findIndex((r) => r.recording === recording);
    const link = (id, row) => {
      const a = document.getElementById(id);
      if (!row) { a.removeAttribute("href"); a.setAttribute("aria-disabled", "true"); return; }
      a.href = `/dashboard/replay?${Dash.query({ recording: row.recording }, OPTIONS)}`;
    };
    link("previous", at > 0 ? data.rows[at - 1] : null);
    link("next", at >= 0 ? data.rows[at + 1] : null);
    const mine = data.rows[at];
    if (mine) { document.getElementById("favourite").checked = mine.favourite; document.getElementById("labels").value = mine.labels.join(", "); }
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    const go = (id) => { const a = document.getElementById(id); if (a.href) location.href = a.href; };
    if (event.key === " ") { event.preventDefault(); toggle(); }
    else if (event.key === "ArrowRight") { event.preventDefault(); jump(now + STEP_MS); }
    else if (event.key === "ArrowLeft") { event.preventDefault(); jump(now - STEP_MS); }
    else if (event.key === "n" || event.key === "N") go("next");
    else if (event.key === "p" || event.key === "P") go("previous");
  });

  async function saveMarks() {
    const labels = document.getElementById("labels").value.split(",").map((s) => s.trim()).filter(Boolean);
    const status = document.getElementById("marks-status");
    try {
      const saved = await Dash.post("recording/marks", { site: Dash.site, recording }, { favourite: document.getElementById("favourite").checked, labels });
      status.textContent = saved.kept ? "saved: kept 13 months" : "saved: kept 30 days";
    } catch (error) { status.textContent = error.message; }
  }
  document.getElementById("save-marks").addEventListener("click", saveMarks);

  async function load() {
    const data = await Dash.api("recording", { recording }, []);
    pages = data.pages.map((page) => {
      const merged = V.merge(page.payloads.map((text) => decode(text)));
      const times = merged.events.map((e) => e.time);
      const lastTime = Math.max(page.first_ms, ...(times.length ? times : [page.first_ms]));
      return { merged, offset: page.offset_ms, first: page.first_ms, last: lastTime };
    });
    if (!pages.some((p) => p.merged.dom)) { label.textContent = "this recording has no page snapshot"; player.dataset.ready = "error"; return; }
    total = Math.max(...pages.map((p) => p.offset + (p.last - p.first)));
    await jump(0);
    await Promise.all([timeline().catch((e) => { list.textContent = e.message; }), neighbours().catch(() => {})]);
    show();
    player.dataset.ready = "1";
  }
  load().catch((error) => { label.textContent = error.message; player.dataset.ready = "error"; });
})();
