/*
 * First-party analytics beacon. No dependencies; under 6 KB gzipped (scripts/build_beacon.mjs).
 *
 *   <script defer src="https://analytics.example.org/beacon.js" data-site="shop" data-banner></script>
 *
 * Speaks the Clarity upload format to the collector's POST /collect, so the server's consent gate and
 * masking apply to it exactly as to clarity-js. Sends nothing before an explicit choice (from our
 * banner, loaded by data-banner, or from the site's own consent tool through wa("consent", ...)),
 * nothing at all under Global Privacy Control or Do Not Track, and never reads what people type.
 * With clarity-js on the page it reports under clarity-js's user, session and page ids and sends only
 * what clarity-js lacks, so one person stays one visitor (docs/beacon.md, "One visitor model").
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript || d.querySelector("script[data-site]");
  var prior = w.wa;
  if (!script || prior && prior.started) { return; }
  var site = script.getAttribute("data-site") || "";
  var endpoint = script.getAttribute("data-endpoint") || new URL("/collect", script.src).href;
  var VERSION = "wa/1.2.0", IDS = "wa_ids", EXPLICIT = 5;
  var SESSION_IDLE_MS = 30 * 6e4, ACTIVE_MS = 3e4, FLUSH_MS = 1000, PING_MS = 3e4, MAX_EVENTS = 100;
  var DOWNLOAD = /\.(pdf|zip|t?gz|bz2|7z|rar|dmg|exe|msi|pkg|deb|rpm|apk|iso|csv|txt|rtf|(doc|xls|ppt)x?|od[tsp]|epub|mp[34]|m4a|mov|avi|wav|webm)$/i;
  var nav = w.navigator, root = d.documentElement;
  var refused = nav.globalPrivacyControl === true || nav.doNotTrack === "1" || w.doNotTrack === "1";
  var consent = null, ids = null, page = null, timer = 0, activeAt = 0, throttled = {}, errors = 0;
  /* clarity-js on the page (its snippet defines window.clarity first): follow its page views */
  var follow = 0, watching = 0, observer = new MutationObserver(function () { changed(1); });

  function rid() { return crypto.getRandomValues(new Uint32Array(1))[0].toString(36); }
  function read() { try { return JSON.parse(localStorage.getItem(IDS)); } catch (e) { return null; } }
  function write(value) {
    try { value ? localStorage.setItem(IDS, JSON.stringify(value)) : localStorage.removeItem(IDS); } catch (e) { /* blocked */ }
  }
  function cut(value, max) { return String(value).slice(0, max); }
  /* clarity-js's string hash (core/hash.ts), so both clients name an element alike */
  function hash(value) {
    var a = 5381, b = 5381;
    for (var i = 0; i < value.length; i += 2) {
      a = ((a << 5) + a) ^ value.charCodeAt(i);
      if (i + 1 < value.length) { b = ((b << 5) + b) ^ value.charCodeAt(i + 1); }
    }
    return Math.abs(a + b * 11579).toString(36);
  }
  /* clarity-js's "beta" selector (layout/selector.ts): the path of tags with their usable classes and
   * position among same-tag siblings, or "#id"; ids and classes with digits or state words are skipped */
  function usable(v) { return v && !/\d|load|active|fixed|visible|focus|show|collaps|animat/i.test(v); }
  function selector(el) {
    var tag = el.tagName, parent = el.parentElement, n = 1, s = el, id = el.getAttribute("id");
    if (tag === "HTML") { return tag; }
    if (!parent) { return ""; }
    if (usable(id)) { return "#" + id; }
    while ((s = s.previousElementSibling)) { if (s.tagName === tag) { n++; } }
    var classes = tag === "BODY" ? "" : (el.getAttribute("class") || "").split(/\s+/).filter(usable).join(".");
    return selector(parent) + ">" + tag + (classes ? "." + classes : "") + ":nth-of-type(" + n + ")";
  }
  function throttle(name, fn) {
    if (!throttled[name]) { throttled[name] = setTimeout(function () { throttled[name] = 0; fn(); }, 250); }
  }

  /* ---- page views and uploads ---- */
  /* A page view of our own ids, or (data given) clarity-js's page view: its ids and its clock, with upload
   * numbers from 1001 so none poses as the page's first upload, and only what clarity-js does not send */
  function startPage(referrer, data) {
    var now = Date.now(), t = performance.now(), t0 = t;
    if (data) {
      t0 -= +w.clarity("time") || 0;
    } else {
      ids = ids || read() || {};
      if (!ids.u) { ids.u = rid(); }
      if (!ids.s || now - (ids.t || 0) > SESSION_IDLE_MS) { ids.s = rid(); ids.n = 0; }
      ids.n += 1;
      ids.t = now;
      write(ids);
      data = { userId: ids.u, sessionId: ids.s, pageNum: ids.n };
    }
    page = { u: data.userId, s: data.sessionId, n: data.pageNum, seq: follow ? 1000 : 0, t0: t0, tick: activeAt = t,
      engaged: 0, visible: d.visibilityState === "visible", url: location.href, events: [], y: -99 };
    page.start = time();
    /* the decision holds from the page's start when it was made before it */
    push(consentEvent(consent.source, consent), Math.max(0, Math.round(consent.at - t0)));
    push([1, 2, [cut(referrer, 2048)], 3, [cut(d.title, 255)]]);
    push([0, 14, screen.width, 15, screen.height]);
    push([11, w.innerWidth, w.innerHeight]);
    measureScroll();
  }
  function join(data) {
    if (consent && data && !(page && page.u === data.userId && page.s === data.sessionId && page.n === data.pageNum)) {
      endPage(0);
      startPage("", data);
    }
  }
  function begin(referrer) {
    if (follow) { w.clarity("metadata", join, false); } else { startPage(referrer); }
  }
  /* Consent 47 as clarity-js sends it, plus two trailing lists: the categories granted and denied */
  function consentEvent(source, choice) {
    return [47, source, choice.marketing ? 1 : 0, choice.analytics ? 1 : 0, choice.granted, choice.denied];
  }
  function time() { return Math.max(0, Math.round(performance.now() - page.t0)); }
  /* following clarity-js, leave out what it sends itself (types below 30 but Custom) */
  function push(fields, at) {
    if (!page || follow && fields[0] < 30 && fields[0] !== 24) { return; }
    page.events.push([at === undefined ? time() : at].concat(fields));
    if (page.events.length >= MAX_EVENTS) { flush(0); } else if (!timer) { timer = setTimeout(flush, FLUSH_MS, 0); }
  }
  function flush(end) {
    if (timer) { clearTimeout(timer); timer = 0; }
    if (!page || !page.events.length && !end) { return; }
    var t = time(), events = page.events, has = function (type) { return events.some(function (e) { return e[1] === type; }); };
    /* the server computes scroll depth per upload, from the viewport sent with it */
    if (has(10) && !has(11)) { events.unshift([events[0][0], 11, w.innerWidth, w.innerHeight]); }
    /* and heatmaps place clicks by the document size sent with them */
    if (has(9) && !has(8)) { events.unshift([events[0][0]].concat(documentSize())); }
    page.seq += 1;
    if (!follow) { ids.t = Date.now(); write(ids); }
    send([VERSION, page.seq, page.start, Math.max(0, t - page.start), site, page.u, page.s, page.n, end, end, 0,
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
    engagement();
    changed(2);
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
  function engagement() { push([24, "engagement", "" + Math.round(page.engaged)]); }

  /* ---- what is measured ---- */
  function documentSize() { return [8, root.scrollWidth, root.scrollHeight]; }
  function measureDocument() {
    var size = documentSize();
    if (page && size + "" !== page.doc) { page.doc = size + ""; push(size); }
  }
  function onClick(ev) {
    var el = ev.target;
    if (!page || !el || !el.closest) { return; }
    var rect = el.getBoundingClientRect(), link = el.closest("a[href]");
    measureDocument();
    var field = /^(INPUT|TEXTAREA|SELECT|OPTION)$/.test(el.tagName) || el.isContentEditable;
    var named = field ? null : el.closest("a,button,summary,label,[role=button]");
    var label = named ? named.textContent.replace(/\s+/g, " ").trim() : "";
    var target = link && link.target, context = { _blank: 1, _parent: 2, _top: 3 }[target] || 0;
    push([9, 0, Math.round(ev.pageX), Math.round(ev.pageY),
      rect.width ? Math.round((ev.clientX - rect.left) / rect.width * 32767) : 0,
      rect.height ? Math.round((ev.clientY - rect.top) / rect.height * 32767) : 0,
      ev.button, field || el.tagName === "BUTTON" ? 0 : 1, context, cut(label, 25), link ? cut(link.href, 2048) : null,
      hash(selector(el)), ev.isTrusted ? 1 : 0, label.length <= 25 ? 1 : 0, Math.round(rect.width), Math.round(rect.height),
      cut(el.tagName.toLowerCase(), 10), cut(el.getAttribute("class") || "", 50), cut(el.id, 25), 0]);
    watch();
    if (link && /^https?:$/.test(link.protocol)) {
      var where = link.origin + link.pathname;
      if (link.hasAttribute("download") || DOWNLOAD.test(link.pathname)) { push([24, "download", cut(where, 2048)]); }
      else if (link.host !== location.host) { push([24, "outbound", cut(where, 2048)]); }
    }
  }
  /* what a click did, for the dead-click rule: Mutation 6 with 1 (the DOM changed) or 2 (the page view
   * ended) when that happens within 1 s; no such event means nothing happened */
  function watch() {
    clearTimeout(watching);
    observer.observe(root, { childList: true, subtree: true, attributes: true });
    watching = setTimeout(function () { observer.disconnect(); watching = 0; }, 1000);
  }
  function changed(kind) {
    if (watching) { clearTimeout(watching); observer.disconnect(); watching = 0; push([6, kind]); }
  }
  /* JavaScript errors as clarity-js's ScriptError 31: message (masked on the server), line, column, no stack
   * (stacks carry URLs and values), the script's address (the server strips sensitive parameters); 5 a page
   * load. Following clarity-js, only unhandled rejections: it reports the others itself */
  function onError(ev) {
    var error = ev.reason || ev.error || ev;
    if (page && errors++ < 5 && (!follow || ev.type !== "error")) {
      push([31, cut(error.message || error, 255), ev.lineno || 0, ev.colno || 0, "", cut(ev.filename || "", 2048)]);
    }
  }
  /* every position 20 px or more from the last one sent (at most 4 a second, like clarity-js): the server's
   * excessive-scrolling rule and attention map read the positions, scroll depth is their maximum */
  function measureScroll() {
    if (!page) { return; }
    var y = Math.round(w.scrollY);
    measureDocument();
    if (Math.abs(y - page.y) > 19) { page.y = y; push([10, 0, Math.round(w.scrollX), y, "", "", 1]); }
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
    if (!visible) { engagement(); flush(0); }
  }
  function onRoute() {
    if (!page || location.href.split("#")[0] === page.url.split("#")[0]) { return; }
    var from = page.url;
    endPage(0);
    /* clarity-js starts its next page view itself; join() follows it */
    if (!follow) { startPage(from); }
  }
  function wire() {
    if (wire.done) { return; }
    wire.done = 1;
    follow = typeof w.clarity === "function";
    /* called now (if clarity-js runs) and again after the first upload of each of its page views */
    if (follow) { w.clarity("metadata", join, false, true); }
    w.addEventListener("error", onError);
    w.addEventListener("unhandledrejection", onError);
    d.addEventListener("click", onClick, true);
    w.addEventListener("scroll", onScroll, { passive: true });
    w.addEventListener("resize", onResize, { passive: true });
    ["pointerdown", "keydown", "touchstart", "wheel", "mousemove"].forEach(function (name) {
      w.addEventListener(name, activity, { passive: true, capture: true });
    });
    d.addEventListener("visibilitychange", onVisibility);
    w.addEventListener("pagehide", function (ev) { endPage(1, ev.persisted); });
    w.addEventListener("pageshow", function (ev) { if (ev.persisted && consent && !page) { begin(d.referrer); } });
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
    var choice = { source: state.source, analytics: analytics, marketing: marketing, at: performance.now(),
      /* the server derives the built-in categories from the two flags; the lists add the banner's own */
      granted: state.granted || [], denied: state.denied || [] };
    if (analytics) {
      consent = choice;
      wire();
      if (!page) { begin(d.referrer); } else if (before.marketing !== marketing) { push(consentEvent(state.source, choice)); }
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
      var hex = [].map.call(new Uint8Array(digest), function (b) { return (b + 256).toString(16).slice(1); });
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
