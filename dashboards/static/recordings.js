// Recordings page: the replayable visits of the filtered list as cards (duration, pages, clicks, device, country,
// frustration tags); each opens the replay with the list's filters, so previous/next there walk this list.
"use strict";
(() => {
  const OPTIONS = ["min_duration", "max_duration", "signal", "rage", "favourite", "label", "tag"];
  const TAGS = { rage_click: "rage click", dead_click: "dead click", quick_back: "quick back", excessive_scroll: "excessive scroll", js_error: "JS error" };
  const section = document.querySelector('[data-panel="recordings"]');
  const box = section.querySelector(".cards");

  function duration(seconds) {
    const s = Math.round(seconds);
    return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
  }

  function card(row) {
    const a = document.createElement("a");
    a.className = "rec"; a.href = `/dashboard/replay?${Dash.query({ recording: row.recording }, OPTIONS)}`;
    a.innerHTML = `<div class="top"><span class="duration"></span><span class="when muted"></span></div><div class="meta"></div><div class="entry"></div><div class="tags"></div>`;
    a.querySelector(".duration").textContent = duration(row.duration) + (row.favourite ? " ★" : "");
    a.querySelector(".when").textContent = Dash.format(row.started_at, "datetime");
    a.querySelector(".meta").textContent = [`${row.pageviews} page${row.pageviews === 1 ? "" : "s"}`, `${row.clicks} click${row.clicks === 1 ? "" : "s"}`,
      row.device, row.browser, row.country || "country unknown"].join(" · ");
    const entry = a.querySelector(".entry"); entry.textContent = row.entry_page; entry.title = row.entry_page;
    const tags = a.querySelector(".tags");
    for (const tag of row.tags) {
      const span = document.createElement("span"); span.className = `tag ${tag}`;
      const count = row[{ rage_click: "rage_clicks", dead_click: "dead_clicks", quick_back: "quick_backs", excessive_scroll: "excessive_scrolls", js_error: "js_errors" }[tag]];
      span.textContent = `${TAGS[tag]} ×${count}`; tags.appendChild(span);
    }
    for (const mark of row.labels) { const span = document.createElement("span"); span.className = "tag"; span.textContent = mark; tags.appendChild(span); }
    return a;
  }

  Dash.api("recordings", {}, OPTIONS).then((data) => {
    box.innerHTML = "";
    if (!data.rows.length) box.innerHTML = `<p class="muted">No recording matches. Visits recorded by our beacon alone have nothing to replay.</p>`;
    data.rows.forEach((row) => box.appendChild(card(row)));
    section.dataset.ready = "1";
  }).catch((error) => { box.textContent = error.message; section.dataset.ready = "error"; });
})();
