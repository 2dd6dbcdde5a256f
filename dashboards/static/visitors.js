// Visitor log and visitor profile: visits newest first (paged), each with its pages, source, device,
// country, duration, goals, a link to its recording and the visitor's profile; a click shows its timeline.
"use strict";
(() => {
  const PAGE = 25;
  const profile = document.getElementById("profile");
  const visitor = profile ? profile.dataset.visitor : "";
  const box = document.getElementById("visits");
  const more = document.getElementById("more");
  let offset = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function timeline(visit, target) {
    const data = await Dash.api("visit_timeline", { visit, limit: 500 });
    target.innerHTML = "";
    const list = el("ol", "timeline");
    for (const row of data.rows) {
      const item = el("li", `kind-${row.kind}`);
      item.append(el("time", "muted", Dash.format(row.at, "datetime").slice(11)), " ",
        el("b", "", row.kind.replace(/_/g, " ")), " ", el("span", "", row.kind === "pageview" ? row.page : row.label),
        row.detail ? el("span", "muted", ` · ${row.detail}`) : "", row.value !== null && row.kind !== "pageview" ? el("span", "muted", ` · ${Dash.format(row.value, "number")}`) : "");
      list.appendChild(item);
    }
    target.appendChild(list);
  }

  function card(row) {
    const article = el("article", "visit"); article.dataset.visit = row.visit;
    const head = el("header");
    head.append(el("time", "", Dash.format(row.started_at, "datetime")), " ",
      el("span", "flag", row.flag), " ", el("span", "", row.country_name), " · ", el("span", "", row.device_label),
      " · ", el("span", "", `${row.browser || "?"} / ${row.os || "?"}`), " · ",
      el("span", "", row.channel_label + (row.source ? ` (${row.source})` : "") + (row.campaign ? ` · ${row.campaign}` : "")));
    const facts = el("p", "facts");
    facts.append(el("span", "", `${row.pageviews} page${row.pageviews === 1 ? "" : "s"}`), " · ",
      el("span", "duration", row.duration_label), row.events ? ` · ${row.events} events` : "",
      row.goals ? ` · ${row.goals} goals` : "", row.orders ? ` · ${row.orders} orders` : "",
      row.revenue ? ` · revenue ${Dash.format(row.revenue, "number")}` : "");
    const links = el("p", "links");
    if (!visitor) {
      const who = el("a", "profile-link", "Visitor profile");
      who.href = `/dashboard/visitor?${Dash.query({ visitor: row.visitor, period: Dash.pageQuery.get("period") || "30d" })}`;
      links.append(who, " ");
    }
    if (row.recording) {
      const replay = el("a", "recording-link", "▶ Recording");
      replay.href = `/dashboard/replay?${Dash.query({ recording: row.recording })}`;
      links.append(replay, " ");
    }
    const show = el("button", "show-timeline", "Timeline"); show.type = "button";
    const detail = el("div", "detail");
    show.addEventListener("click", () => timeline(row.visit, detail).catch((e) => { detail.textContent = e.message; }));
    links.append(show);
    const pages = el("ol", "pages");
    for (const page of row.pages) pages.appendChild(el("li", "", page));
    article.append(head, facts, pages, links, detail);
    return article;
  }

  async function load() {
    const extra = { limit: PAGE, offset: offset || null };
    if (visitor) extra.visitor = visitor;
    const data = await Dash.api("visitor_log", extra);
    if (!offset) box.innerHTML = "";
    if (!offset && !data.rows.length) box.appendChild(el("p", "muted", "No visits in this period."));
    data.rows.forEach((row) => box.appendChild(card(row)));
    offset += data.rows.length;
    more.hidden = data.rows.length < PAGE;
  }

  async function summary() {
    const data = await Dash.api("visitor_profile", { visitor });
    const target = document.getElementById("summary");
    target.innerHTML = "";
    if (!data.rows.length) { target.appendChild(el("p", "muted", "No visits of this visitor in this period.")); return; }
    const s = data.rows[0];
    const list = el("dl", "profile-facts");
    for (const [label, value] of [["Visits", s.visits], ["First visit", Dash.format(s.first_visit, "datetime")],
      ["Last seen", Dash.format(s.last_seen, "datetime")], ["Page views", s.pageviews], ["Time spent", s.duration_label],
      ["Goals", s.goals], ["Orders", s.orders], ["Revenue", Dash.format(s.revenue, "number")], ["Recordings", s.recordings],
      ["Countries", s.countries.join(", ")], ["Devices", s.devices.join(", ")], ["Browsers", s.browsers.join(", ")],
      ["Channels", s.channels.join(", ")]]) {
      list.append(el("dt", "", label), el("dd", "", String(value)));
    }
    target.appendChild(list);
  }

  more.addEventListener("click", () => load().catch((e) => { box.appendChild(el("p", "error", e.message)); }));
  load().catch((e) => { box.textContent = e.message; });
  if (visitor) summary().catch((e) => { document.getElementById("summary").textContent = e.message; });
})();
