// Replay page: a recording's masked payloads decoded by clarity-decode and played by clarity-visualize
// into a sandboxed same-origin iframe (scripts of the recorded page never run), with play/pause,
// speed, skip idle, seek, page by page; favourite and labels are saved through the API.
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
  const IDLE_MS = 2000;

  let pages = [];          // decoded payload lists, one per page view
  let index = 0;           // page being shown
  let events = [];         // merged events of that page
  let cursor = 0;          // next event to render
  let start = 0, end = 0;  // page time of the first and last event
  let time = 0, playing = false, last = 0;

  function fit(width, height) {
    frame.width = width; frame.height = height;
    const scale = Math.min(1, (stage.clientWidth - 2) / width);
    frame.style.transform = `scale(${scale})`;
    stage.style.height = `${Math.ceil(height * scale) + 2}px`;
  }

  function mmss(ms) { const s = Math.max(0, Math.round(ms / 1000)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }

  function show() {
    clock.textContent = `${mmss(time - start)} / ${mmss(end - start)}`;
    seek.value = end > start ? Math.round(1000 * (time - start) / (end - start)) : 0;
    label.textContent = `page ${index + 1} of ${pages.length}`;
  }

  async function open(i, at) {
    index = i;
    const merged = V.merge(pages[i].slice());
    if (!merged.dom) { label.textContent = "this page view has no initial snapshot"; return false; }
    const viewport = merged.events.find((e) => e.event === 11);
    fit(viewport ? viewport.data.width : 1000, viewport ? viewport.data.height : 700);
    await V.setup(frame.contentWindow, { version: merged.envelope.version, dom: merged.dom, onresize: fit, pointer: true });
    events = merged.events.filter((e) => e.time >= merged.dom.time);
    cursor = 0;
    start = merged.dom.time;
    end = events.length ? events[events.length - 1].time : start;
    time = start;
    if (at !== undefined) advance(at);
    show();
    return true;
  }

  function advance(target) {
    const batch = [];
    while (cursor < events.length && events[cursor].time <= target) batch.push(events[cursor++]);
    if (batch.length) V.render(batch);
    time = target;
  }

  async function tick(now) {
    if (!playing) return;
    const speed = Number(document.getElementById("speed").value);
    let target = time + (now - last) * speed;
    last = now;
    if (document.getElementById("skip-idle").checked && cursor < events.length && events[cursor].time - target > IDLE_MS) {
      target = events[cursor].time - 100;
    }
    advance(Math.min(target, end));
    show();
    if (time >= end) {
      if (index + 1 < pages.length && await open(index + 1)) { last = performance.now(); requestAnimationFrame(tick); return; }
      playing = false; playButton.textContent = "Play"; return;
    }
    requestAnimationFrame(tick);
  }

  playButton.addEventListener("click", () => {
    playing = !playing;
    playButton.textContent = playing ? "Pause" : "Play";
    if (playing) { if (time >= end && index + 1 >= pages.length) open(0); last = performance.now(); requestAnimationFrame(tick); }
  });

  seek.addEventListener("input", async () => {
    const target = start + (end - start) * Number(seek.value) / 1000;
    if (target < time) await open(index, target); else advance(target);
    show();
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
    pages = data.pages.map((page) => page.payloads.map((text) => decode(text)));
    const marks = await Dash.api("recordings", { period: "12mo", limit: 1000 }, []).catch(() => null);
    const mine = marks && marks.rows.find((r) => r.recording === recording);
    if (mine) { document.getElementById("favourite").checked = mine.favourite; document.getElementById("labels").value = mine.labels.join(", "); }
    for (let i = 0; i < pages.length; i++) { if (await open(i)) break; }
    player.dataset.ready = "1";
  }
  load().catch((error) => { label.textContent = error.message; player.dataset.ready = "error"; });
})();
