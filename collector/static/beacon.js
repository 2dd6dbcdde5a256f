/*
 * First-party analytics beacon with an optional consent banner. No dependencies.
 *
 *   <script defer src="https://analytics.example.org/beacon.js" data-site="shop" data-banner></script>
 *
 * Speaks the Clarity upload format to the collector's /collect, so the server's consent gate and
 * masking apply to it exactly as to clarity-js. Sends nothing before an explicit choice, nothing at
 * all under Global Privacy Control or Do Not Track, and never reads what people type.
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript || d.querySelector("script[data-site]");
  if (!script || w.wa && w.wa.started) { return; }
  var site = script.getAttribute("data-site");
  var endpoint = script.getAttribute("data-endpoint") || new URL("/collect", script.src).href;
  var VERSION = "wa/1.0.0", KEY = "wa_consent", IDS = "wa_ids", VALID_MS = 183 * 864e5;
  var SESSION_IDLE_MS = 30 * 6e4, FLUSH_MS = 5000, PING_MS = 15000;
  var SOURCE_CHOICE = 5, SOURCE_REMEMBERED = 6;
  var nav = w.navigator;
  var refused = nav.globalPrivacyControl === true || nav.doNotTrack === "1" || w.doNotTrack === "1";
  var queued = (w.wa && w.wa.q) || [];
  var state = { consent: null, ids: null, page: null };

  function now() { return Date.now(); }
  function rid() { return (crypto.getRandomValues(new Uint32Array(1))[0]).toString(36); }
  function store(key, value) { try { value === null ? localStorage.removeItem(key) : localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage off */ } }
  function load(key) { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } }
  function hash(text) {
    var h = 2166136261;
    for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(36);
  }
  function selector(el, withNames) {
    var parts = [];
    for (; el && el.nodeType === 1 && parts.length < 12; el = el.parentElement) {
      var part = el.tagName.toLowerCase(), n = 1, s = el;
      while ((s = s.previousElementSibling)) { if (s.tagName === el.tagName) { n++; } }
      if (withNames && el.id) { part += "#" + el.id; }
      parts.unshift(part + ":" + n);
    }
    return parts.join(">");
  }

  /* ---- ids: only ever written after analytics consent ---- */
  function identities() {
    var ids = load(IDS) || {};
    if (!ids.user) { ids.user = rid(); }
    if (!ids.session || now() - (ids.seen || 0) > SESSION_IDLE_MS) { ids.session = rid(); ids.page = 0; }
    ids.seen = now();
    store(IDS, ids);
    return ids;
  }

  /* ---- page views and uploads ---- */
  function startPage() {
    var ids = state.ids = identities();
    ids.page += 1;
    store(IDS, ids);
    state.page = { num: ids.page, seq: 0, start: 0, t0: performance.now(), events: [], last: now(), scroll: 0 };
    var de = d.documentElement;
    push([1, 1, [location.href], 2, [d.referrer || ""], 3, [d.title]]);
    push([0, 14, screen.width, 15, screen.height]);
    push([11, w.innerWidth, w.innerHeight]);
    push([8, de.scrollWidth, de.scrollHeight]);
    push([47, state.consent.source, state.consent.marketing ? 1 : 0, 1]);
  }
  function time() { return Math.round(performance.now() - state.page.t0); }
  function push(fields) {
    if (!state.page) { return; }
    state.page.events.push([time()].concat(fields));
    if (state.page.events.length >= 50) { flush(false); }
  }
  function flush(end) {
    var page = state.page;
    if (!page || (!page.events.length && !end)) { return; }
    var t = time(), ids = state.ids;
    page.seq += 1;
    var envelope = [VERSION, page.seq, page.start, Math.max(0, t - page.start), site, ids.user, ids.session,
      page.num, end ? 1 : 0, end ? 1 : 0, 0, location.href];
    var body = JSON.stringify({ e: envelope, a: page.events });
    page.events = [];
    page.start = t;
    send(body, end);
  }
  function send(body, urgent) {
    if (urgent && nav.sendBeacon && nav.sendBeacon(endpoint, body)) { return; }
    try { fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" } }); } catch (e) { /* offline */ }
  }
  function endPage() {
    if (!state.page) { return; }
    push([26, "pagehide", 0]);
    flush(true);
    state.page = null;
  }

  /* ---- what is measured ---- */
  function onClick(ev) {
    if (!state.page) { return; }
    var el = ev.target && ev.target.closest ? ev.target : null;
    if (!el) { return; }
    var link = el.closest("a[href]"), rect = el.getBoundingClientRect();
    var href = link ? link.href : null;
    push([9, 0, Math.round(ev.pageX), Math.round(ev.pageY), 0, 0, ev.button, 0, 0, "", href,
      hash(selector(el, true)) + "." + hash(selector(el, false)), ev.isTrusted ? 1 : 0, 0,
      Math.round(rect.width), Math.round(rect.height), el.tagName.toLowerCase(), "", "", 0]);
    if (link) {
      var url = new URL(link.href, location.href);
      if (/\.(pdf|zip|docx?|xlsx?|pptx?|csv|dmg|exe|mp3|mp4)$/i.test(url.pathname) || link.hasAttribute("download")) {
        push([24, "download", url.href]);
      } else if (url.host !== location.host && /^https?:$/.test(url.protocol)) {
        push([24, "outbound", url.href]);
      }
    }
    flush(false);
  }
  var scrollTimer = 0;
  function onScroll() {
    if (!state.page || scrollTimer) { return; }
    scrollTimer = setTimeout(function () {
      scrollTimer = 0;
      if (!state.page) { return; }
      var y = Math.round(w.scrollY);
      if (y > state.page.scroll) { state.page.scroll = y; push([10, 0, Math.round(w.scrollX), y, "", "", 1]); }
    }, 250);
  }
  function onVisibility() {
    if (!state.page) { return; }
    var visible = d.visibilityState === "visible" ? 1 : 0;
    push([28, visible]);
    if (!visible) { flush(false); }
  }
  function onHistory() {
    if (!state.page || state.page.url === location.href) { return; }
    endPage();
    startPage();
    state.page.url = location.href;
  }
  function patchHistory(name) {
    var original = history[name];
    history[name] = function () { var r = original.apply(this, arguments); setTimeout(onHistory, 0); return r; };
  }

  function begin() {
    if (state.page) { return; }
    startPage();
    state.page.url = location.href;
    if (!begin.wired) {
      begin.wired = true;
      d.addEventListener("click", onClick, true);
      w.addEventListener("scroll", onScroll, { passive: true });
      d.addEventListener("visibilitychange", onVisibility);
      w.addEventListener("pagehide", endPage);
      w.addEventListener("popstate", onHistory);
      patchHistory("pushState");
      patchHistory("replaceState");
      setInterval(function () { if (state.page && d.visibilityState === "visible") { push([25, now() - state.page.last]); flush(false); } }, PING_MS);
      setInterval(function () { flush(false); }, FLUSH_MS);
    }
  }

  /* ---- consent ---- */
  function clarityConsent(choice) {
    if (typeof w.clarity === "function") {
      w.clarity("consentv2", { ad_Storage: choice.marketing ? "granted" : "denied", analytics_Storage: choice.analytics ? "granted" : "denied" });
    }
  }
  function decide(analytics, marketing) {
    var choice = { v: 1, analytics: !!analytics, marketing: !!marketing, ts: now() };
    store(KEY, choice);
    apply(choice, SOURCE_CHOICE);
  }
  function apply(choice, source) {
    state.consent = { analytics: choice.analytics, marketing: choice.marketing, source: source };
    clarityConsent(choice);
    hideBanner();
    if (choice.analytics) { begin(); return; }
    if (source === SOURCE_CHOICE) {
      /* the refusal itself reaches the consent ledger, with throwaway ids and no data */
      send(JSON.stringify({ e: [VERSION, 1, 0, 0, site, rid(), rid(), 1, 1, 1, 0, location.origin + "/"], a: [[0, 47, source, choice.marketing ? 1 : 0, 0]] }), true);
    }
  }
  function withdraw() {
    if (state.page) { push([47, SOURCE_CHOICE, 0, 0]); endPage(); }
    store(KEY, null);
    store(IDS, null);
    if (typeof w.clarity === "function") { w.clarity("consent", false); }
    state.consent = null;
    showBanner();
  }

  /* ---- the banner (opt-in with data-banner) ---- */
  var banner = null;
  var CSS = ".wa-banner{position:fixed;inset:auto 1rem 1rem 1rem;max-width:42rem;margin:auto;z-index:2147483647;" +
    "background:var(--wa-bg,#fff);color:var(--wa-fg,#1b1b1b);font:var(--wa-font,15px/1.45 system-ui,sans-serif);" +
    "border:1px solid var(--wa-border,#d0d0d0);border-radius:var(--wa-radius,10px);padding:1rem 1.2rem;" +
    "box-shadow:0 6px 24px rgba(0,0,0,.18)}.wa-banner h2{font-size:1.05em;margin:0 0 .4rem}.wa-banner p{margin:0 0 .8rem}" +
    ".wa-actions{display:flex;gap:.6rem;flex-wrap:wrap}.wa-banner button{flex:1 1 9rem;font:inherit;padding:.55rem .9rem;" +
    "border-radius:6px;border:2px solid var(--wa-accent,#1d4ed8);background:var(--wa-button-bg,#fff);color:var(--wa-accent,#1d4ed8);cursor:pointer}" +
    ".wa-banner button:focus-visible{outline:3px solid var(--wa-focus,#f59e0b);outline-offset:2px}" +
    ".wa-banner fieldset{border:0;margin:0 0 .8rem;padding:0}.wa-banner label{display:block;margin:.25rem 0}";
  function el(tag, attrs, text) {
    var node = d.createElement(tag);
    for (var k in attrs) { node.setAttribute(k, attrs[k]); }
    if (text) { node.textContent = text; }
    return node;
  }
  function showBanner() {
    if (!script.hasAttribute("data-banner") || banner) { return; }
    var t = w.waBannerText || {};
    if (!d.getElementById("wa-style")) { var style = el("style", { id: "wa-style" }); style.textContent = CSS; d.head.appendChild(style); }
    banner = el("section", { "class": "wa-banner", role: "dialog", "aria-modal": "false", "aria-labelledby": "wa-title", "aria-describedby": "wa-text" });
    banner.appendChild(el("h2", { id: "wa-title" }, t.title || "Your privacy choices"));
    banner.appendChild(el("p", { id: "wa-text" }, t.text || "We would like to measure how this site is used (analytics, heatmaps, session recordings with typed text hidden). Nothing is collected unless you agree. You can change your choice at any time."));
    var options = el("fieldset", { hidden: "" });
    options.appendChild(el("legend", {}, t.legend || "Categories"));
    [["necessary", t.necessary || "Necessary (always on)", true], ["analytics", t.analytics || "Analytics", false], ["marketing", t.marketing || "Marketing", false]].forEach(function (c) {
      var label = el("label", {}), box = el("input", { type: "checkbox", name: c[0] });
      if (c[2]) { box.checked = true; box.disabled = true; }
      label.appendChild(box); label.appendChild(d.createTextNode(" " + c[1])); options.appendChild(label);
    });
    banner.appendChild(options);
    var actions = el("div", { "class": "wa-actions" });
    var accept = el("button", { type: "button", "data-wa": "accept" }, t.accept || "Accept all");
    var reject = el("button", { type: "button", "data-wa": "reject" }, t.reject || "Reject all");
    var custom = el("button", { type: "button", "data-wa": "customise", "aria-expanded": "false" }, t.customise || "Customise");
    accept.onclick = function () { decide(true, true); };
    reject.onclick = function () { decide(false, false); };
    custom.onclick = function () {
      if (options.hidden) { options.hidden = false; custom.textContent = t.save || "Save my choices"; custom.setAttribute("aria-expanded", "true"); options.querySelector("input[name=analytics]").focus(); return; }
      decide(options.querySelector("input[name=analytics]").checked, options.querySelector("input[name=marketing]").checked);
    };
    actions.appendChild(accept); actions.appendChild(reject); actions.appendChild(custom);
    banner.appendChild(actions);
    d.body.appendChild(banner);
    accept.focus();
  }
  function hideBanner() { if (banner) { banner.remove(); banner = null; } }

  /* ---- public API: wa("event", name, value), wa("consent", {analytics, marketing}), wa("withdraw") ---- */
  function api(command, a, b) {
    if (command === "event" && state.page) { push(b === undefined ? [24, String(a)] : [24, String(a), String(b)]); }
    else if (command === "consent" && !refused) { decide(a && a.analytics, a && a.marketing); }
    else if (command === "withdraw" || command === "change") { withdraw(); }
  }
  w.wa = api;
  api.started = true;
  d.addEventListener("click", function (ev) {
    var trigger = ev.target && ev.target.closest && ev.target.closest("[data-wa-consent-change]");
    if (trigger) { ev.preventDefault(); withdraw(); }
  });

  function init() {
    if (refused) { return; }
    var choice = load(KEY);
    if (choice && choice.v === 1 && now() - choice.ts < VALID_MS) { apply(choice, SOURCE_REMEMBERED); }
    else { store(KEY, null); showBanner(); }
    queued.forEach(function (args) { api.apply(null, args); });
  }
  if (d.readyState === "loading") { d.addEventListener("DOMContentLoaded", init); } else { init(); }
})(window, document);
