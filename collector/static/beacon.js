/*
 * First-party analytics beacon. No dependencies; under 6 KB gzipped (scripts/build_beacon.mjs).
 *
 *   <script defer src="https://analytics.example.org/beacon.js" data-site="shop" data-banner></script>
 *
 * Speaks the Clarity upload format to the collector's POST /collect, so the server's consent gate and
 * masking apply to it exactly as to clarity-js. Sends nothing before an explicit choice (from our
 * banner, loaded by data-banner, or from the site's own consent tool through wa("consent", ...)),
 * nothing at all under Global Privacy Control or Do Not Track, and never reads what people type.
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript || d.querySelector("script[data-site]");
  var prior = w.wa;
  if (!script || prior && prior.started) { return; }
  var site = script.getAttribute("data-site") || "";
  var endpoint = script.getAttribute("data-endpoint") || new URL("/collect", script.src).href;
  var VERSION = "wa/1.1.0", IDS = "wa_ids", EXPLICIT = 5;
  var SESSION_IDLE_MS = 30 * 6e4, ACTIVE_MS = 3e4, FLUSH_MS = 1000, PING_MS = 3e4, MAX_EVENTS = 100;
  var DOWNLOAD = /\.(pdf|zip|gz|tgz|bz2|7z|rar|dmg|exe|msi|pkg|deb|rpm|apk|iso|csv|txt|rtf|docx?|xlsx?|pptx?|odt|ods|odp|epub|mp3|mp4|m4a|mov|avi|wav|webm)$/i;
  var nav = w.navigator;
  var refused = nav.globalPrivacyControl === true || nav.doNotTrack === "1" || w.doNotTrack === "1";
  var consent = null, ids = null, page = null, timer = 0, activeAt = 0, throttled = {};

  function rid() { return crypto.getRandomValues(new Uint32Array(1))[0].toString(36); }
  function read() { try { return JSON.parse(localStorage.getItem(IDS)); } catch (e) { return null; } }
  function write(value) {
    try { value ? localStorage.setItem(IDS, JSON.stringify(value)) : localStorage.removeItem(IDS); } catch (e) { /* blocked */ }
  }
  function cut(value, max) { return String(value).slice(0, max); }
  function hash(value) {
    var h = 2166136261;
    for (var i = 0; i < value.length; i++) { h = Math.imul(h ^ value.charCodeAt(i), 16777619); }
    return (h >>> 0).toString(36);
  }
  /* "alpha.beta" in the field clarity-js uses: alpha names the element by its path with positions (up to
   * the nearest id), beta by tags and ids only, so it survives siblings being added. The values are our
   * own (FNV-1a, base 36): a heatmap groups the beacon's clicks with each other, not with clarity-js's. */
  function selectors(el) {
    var alpha = [], beta = [];
    for (; el && el.nodeType === 1 && alpha.length < 16; el = el.parentElement) {
      var tag = el.tagName.toLowerCase(), n = 1, s = el, id = el.id ? "#" + el.id : "";
      while ((s = s.previousElementSibling)) { if (s.tagName === el.tagName) { n++; } }
      alpha.unshift(tag + id + ":" + n);
      beta.unshift(tag + id);
      if (id) { break; }
    }
    return hash(alpha.join(">")) + "." + hash(beta.join(">"));
  }
  function throttle(name, fn) {
    if (!throttled[name]) { throttled[name] = setTimeout(function () { throttled[name] = 0; fn(); }, 250); }
  }

  /* ---- page views and uploads ---- */
  function startPage(referrer) {
    var now = Date.now();
    ids = ids || read() || {};
    if (!ids.u) { ids.u = rid(); }
    if (!ids.s || now - (ids.t || 0) > SESSION_IDLE_MS) { ids.s = rid(); ids.n = 0; }
    ids.n += 1;
    ids.t = now;
    write(ids);
    var t0 = performance.now();
    page = { n: ids.n, seq: 0, start: 0, t0: t0, tick: t0, engaged: 0, visible: d.visibilityState === "visible",
      url: location.href, events: [], depth: -1, doc: "" };
    activeAt = t0;
    push(consentEvent(consent.source, consent));
    push([1, 2, [cut(referrer, 2048)], 3, [cut(d.title, 255)]]);
    push([0, 14, screen.width, 15, screen.height]);
    push([11, w.innerWidth, w.innerHeight]);
    measureScroll();
  }
  /* Consent 47 as clarity-js sends it, plus two trailing lists: the categories granted and denied */
  function consentEvent(source, choice) {
    return [47, source, choice.marketing ? 1 : 0, choice.analytics ? 1 : 0, choice.granted, choice.denied];
  }
  function time() { return Math.max(0, Math.round(performance.now() - page.t0)); }
  function push(fields) {
    if (!page) { return; }
    page.events.push([time()].concat(fields));
    if (page.events.length >= MAX_EVENTS) { flush(0); } else if (!timer) { timer = setTimeout(flush, FLUSH_MS, 0); }
  }
  function flush(end) {
    if (timer) { clearTimeout(timer); timer = 0; }
    if (!page || !page.events.length && !end) { return; }
    var t = time(), events = page.events, has = function (type) { return events.some(function (e) { return e[1] === type; }); };
    /* the server computes scroll depth per upload, from the viewport sent with it */
    if (has(10) && !has(11)) { events.unshift([events[0][0], 11, w.innerWidth, w.innerHeight]); }
    page.seq += 1;
    ids.t = Date.now();
    write(ids);
    send([VERSION, page.seq, page.start, Math.max(0, t - page.start), site, ids.u, ids.s, page.n, end, end, 0,
      cut(page.url, 2048)], events, end);
    page.events = [];
    page.start = t;
  }
  function send(envelope, events, urgent) {
    var body = JSON.stringify({ e: envelope, a: events });
    try { if (urgent && nav.sendBeacon && nav.sendBeacon(endpoint, body)) { return; } } catch (e) { /* fall back */ }
    if (w.fetch) { fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit" }).catch(function () {}); }
  }
  function endPage(unload, persisted, last) {
    if (!page) { return; }
    account();
    measureScroll();
    push([24, "engagement", "" + Math.round(page.engaged)]);
    if (unload) { push([26, "pagehide", persisted ? 1 : 0]); }
    if (last) { push(last); }
    flush(1);
    page = null;
  }

  /* ---- engagement: time visible with some activity in the last 30 s ---- */
  function account() {
    if (!page) { return; }
    var t = performance.now();
    if (page.visible) { page.engaged += Math.max(0, Math.min(t, activeAt + ACTIVE_MS) - page.tick); }
    page.tick = t;
  }
  function activity() { account(); activeAt = performance.now(); }

  /* ---- what is measured ---- */
  function measureDocument() {
    var de = d.documentElement, size = de.scrollWidth + "x" + de.scrollHeight;
    if (page && size !== page.doc) { page.doc = size; push([8, de.scrollWidth, de.scrollHeight]); }
  }
  function onClick(ev) {
    var el = ev.target;
    if (!page || !el || !el.closest) { return; }
    var rect = el.getBoundingClientRect(), link = el.closest("a[href]");
    var field = /^(INPUT|TEXTAREA|SELECT|OPTION)$/.test(el.tagName) || el.isContentEditable;
    var named = field ? null : el.closest("a,button,summary,label,[role=button]");
    var label = named ? named.textContent.replace(/\s+/g, " ").trim() : "";
    var target = link && link.target, context = { _blank: 1, _parent: 2, _top: 3 }[target] || 0;
    push([9, 0, Math.round(ev.pageX), Math.round(ev.pageY),
      rect.width ? Math.round((ev.clientX - rect.left) / rect.width * 32767) : 0,
      rect.height ? Math.round((ev.clientY - rect.top) / rect.height * 32767) : 0,
      ev.button, field || el.tagName === "BUTTON" ? 0 : 1, context, cut(label, 25), link ? cut(link.href, 2048) : null,
      selectors(el), ev.isTrusted ? 1 : 0, label.length <= 25 ? 1 : 0, Math.round(rect.width), Math.round(rect.height),
      cut(el.tagName.toLowerCase(), 10), typeof el.className === "string" ? cut(el.className, 50) : "", cut(el.id, 25), 0]);
    if (link && /^https?:$/.test(link.protocol)) {
      var where = link.origin + link.pathname;
      if (link.hasAttribute("download") || DOWNLOAD.test(link.pathname)) { push([24, "download", cut(where, 2048)]); }
      else if (link.host !== location.host) { push([24, "outbound", cut(where, 2048)]); }
    }
  }
  function measureScroll() {
    if (!page) { return; }
    var y = Math.round(w.scrollY);
    measureDocument();
    if (y > page.depth) { page.depth = y; push([10, 0, Math.round(w.scrollX), y, "", "", 1]); }
  }
  function onScroll() {
    activity();
    throttle("scroll", measureScroll);
  }
  function onResize() {
    throttle("resize", function () { if (page) { push([11, w.innerWidth, w.innerHeight]); measureDocument(); } });
  }
  function onVisibility() {
    if (!page) { return; }
    var visible = d.visibilityState === "visible";
    account();
    if (visible) { activeAt = performance.now(); }
    page.visible = visible;
    push([28, visible ? 1 : 0]);
    if (!visible) { push([24, "engagement", "" + Math.round(page.engaged)]); flush(0); }
  }
  function onRoute() {
    if (!page || location.href.split("#")[0] === page.url.split("#")[0]) { return; }
    var from = page.url;
    endPage(0);
    startPage(from);
  }
  function wire() {
    if (wire.done) { return; }
    wire.done = 1;
    d.addEventListener("click", onClick, true);
    w.addEventListener("scroll", onScroll, { passive: true });
    w.addEventListener("resize", onResize, { passive: true });
    ["pointerdown", "keydown", "touchstart", "wheel", "mousemove"].forEach(function (name) {
      w.addEventListener(name, activity, { passive: true, capture: true });
    });
    d.addEventListener("visibilitychange", onVisibility);
    w.addEventListener("pagehide", function (ev) { endPage(1, ev.persisted); });
    w.addEventListener("pageshow", function (ev) { if (ev.persisted && consent && !page) { startPage(d.referrer); } });
    w.addEventListener("popstate", onRoute);
    ["pushState", "replaceState"].forEach(function (name) {
      var original = history[name];
      history[name] = function () { var result = original.apply(this, arguments); onRoute(); return result; };
    });
    setInterval(function () {
      var idle = performance.now() - activeAt;
      if (page && page.visible && idle < PING_MS) { push([25, Math.round(idle)]); }
    }, PING_MS);
  }

  /* ---- consent: one decision from the banner or the site's own consent tool ---- */
  function decide(state) {
    if (refused || !state || typeof state.source !== "number") { return; }
    var before = consent, marketing = !!state.marketing, analytics = !!state.analytics;
    var choice = { source: state.source, analytics: analytics, marketing: marketing,
      granted: state.granted || ["necessary"].concat(analytics ? ["analytics"] : [], marketing ? ["marketing"] : []),
      denied: state.denied || [].concat(analytics ? [] : ["analytics"], marketing ? [] : ["marketing"]) };
    if (analytics) {
      consent = choice;
      wire();
      if (!page) { startPage(d.referrer); } else if (before.marketing !== marketing) { push(consentEvent(state.source, choice)); }
      return;
    }
    consent = null;
    if (page) {
      endPage(0, 0, consentEvent(state.source, choice));
      ids = null;
      write(null);
    } else if (state.source === EXPLICIT && !state.withdrawn) {
      /* a refusal reaches the consent ledger too: throwaway ids, no URL, no data */
      send([VERSION, 1, 0, 0, site, rid(), rid(), 1, 1, 1, 0, ""], [[0].concat(consentEvent(EXPLICIT, choice))], 1);
    }
  }
  function identify(id) {
    if (!page || !id || !w.crypto || !crypto.subtle) { return; }
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(String(id))).then(function (digest) {
      var hex = Array.prototype.map.call(new Uint8Array(digest), function (b) { return (b + 256).toString(16).slice(1); });
      push([34, "userId", [hex.join("")]]);
    });
  }

  /* ---- public API: wa("event", name, value?), wa("identify", id), wa("consent", {analytics, marketing}, source?),
   * wa("withdraw") ---- */
  function api(command, a, b) {
    if (command === "event" && page) { push(b === undefined ? [24, cut(a, 255)] : [24, cut(a, 255), cut(b, 255)]); }
    else if (command === "identify") { identify(a); }
    else if (command === "consent") {
      var choice = typeof a === "object" && a ? a : { analytics: !!a, marketing: !!a };
      decide({ analytics: !!choice.analytics, marketing: !!choice.marketing, source: typeof b === "number" ? b : EXPLICIT });
    }
    else if (command === "withdraw") {
      if (w.waConsent) { w.waConsent.withdraw(); } else { decide({ analytics: false, source: EXPLICIT, withdrawn: true }); }
    }
  }
  api.started = true;
  api.version = VERSION;
  w.wa = api;
  if (script.hasAttribute("data-banner") && !w.waConsent) {
    var banner = d.createElement("script");
    banner.src = new URL("/banner.js", script.src).href;
    d.head.appendChild(banner);
  }
  w.addEventListener("wa:consent", function (ev) { decide(ev.detail); });
  if (w.waConsent && w.waConsent.state) { decide(w.waConsent.state); }
  (prior && prior.q || []).forEach(function (args) { api.apply(null, args); });
})(window, document);
