/*
 * Consent banner for the collector's beacon and for clarity-js. No dependencies.
 *
 *   <script defer src="https://analytics.example.org/banner.js"></script>
 *   (or data-banner on the beacon's script tag, which loads this file)
 *
 * Asks once: accept all, reject all (same look, same weight) or customise by category. Remembers the
 * choice in first-party storage for 183 days, then asks again. Every decision is published to the
 * page: our beacon, clarity-js (clarity("consentv2", ...)) and any script listening to the
 * "wa:consent" event obey the same decision. Elements with data-wa-consent-change (or
 * href="#wa-consent") withdraw the choice and ask again. Under Global Privacy Control or Do Not
 * Track it asks nothing: everything optional stays refused.
 */
(function (w, d) {
  "use strict";
  if (w.waConsent) { return; }
  var KEY = "wa_consent", VALID_MS = 183 * 864e5, CHOICE = 5, REMEMBERED = 6;
  var options = w.waBanner || {};
  var words = options.text || w.waBannerText || {};
  var nav = w.navigator;
  var signal = nav.globalPrivacyControl === true ? "gpc" : nav.doNotTrack === "1" || w.doNotTrack === "1" ? "dnt" : "";
  var categories = [
    { id: "necessary", label: "Necessary", fixed: true,
      description: "Needed for the site to work and to remember this choice. Always on." },
    { id: "analytics", label: "Analytics",
      description: "Visits, clicks, scroll depth, heatmaps and session recordings, with anything you type hidden." },
    { id: "marketing", label: "Marketing",
      description: "Measuring campaigns and advertising. Never needed for analytics." }
  ].concat(options.categories || []);
  var api = { state: null, open: function () { show(); }, withdraw: withdraw, on: on };
  var dialog = null, panel = null, change = null, returnTo = null;
  w.waConsent = api;

  function text(key, fallback) { return words[key] || fallback; }
  function node(tag, attrs, content) {
    var el = d.createElement(tag);
    for (var name in attrs) { el.setAttribute(name, attrs[name]); }
    if (content) { el.textContent = content; }
    return el;
  }
  function read() {
    try {
      var saved = JSON.parse(localStorage.getItem(KEY));
      if (saved && saved.v === 1 && saved.c && Date.now() - saved.ts < VALID_MS) { return saved; }
      localStorage.removeItem(KEY);
    } catch (e) { /* storage blocked: ask on every page */ }
    return null;
  }
  function write(saved) {
    try { saved ? localStorage.setItem(KEY, JSON.stringify(saved)) : localStorage.removeItem(KEY); } catch (e) { /* blocked */ }
  }

  /* ---- decisions ---- */
  function decision(choices, source, ts) {
    var granted = [], denied = [];
    categories.forEach(function (c) { (c.fixed || choices[c.id] ? granted : denied).push(c.id); });
    return { analytics: !!choices.analytics, marketing: !!choices.marketing, choices: choices,
      granted: granted, denied: denied, source: source, ts: ts };
  }
  function publish(state) {
    api.state = state;
    if (typeof w.clarity === "function" && typeof state.source === "number") {
      w.clarity("consentv2", { ad_Storage: state.marketing ? "granted" : "denied",
        analytics_Storage: state.analytics ? "granted" : "denied" }, state.source);
    }
    w.dispatchEvent(new CustomEvent("wa:consent", { detail: state }));
  }
  function on(listener) {
    w.addEventListener("wa:consent", function (ev) { listener(ev.detail); });
    if (api.state) { listener(api.state); }
  }
  function choose(choices) {
    var ts = Date.now(), restart = choices.analytics && !(api.state && api.state.analytics) &&
      typeof w.clarity === "function" && w.clarity.v;
    write({ v: 1, ts: ts, c: choices });
    hide();
    /* clarity-js sends no page snapshot on a grant, and the collector drops what came before it
       (consent policy rule 1): end the unconsented page view, queue the grant, start a new page
       view that holds the whole page (clarity-js waits 250 ms the same way when consent ends) */
    if (restart) { w.clarity("stop"); }
    publish(decision(choices, CHOICE, ts));
    if (restart) { setTimeout(function () { w.clarity("start"); }, 250); }
  }
  function withdraw() {
    var before = api.state;
    write(null);
    api.state = null;
    if (before && (before.analytics || before.marketing)) {
      var none = decision({}, CHOICE, Date.now());
      none.withdrawn = true;
      publish(none);
    }
    show();
  }
  function everything(value) {
    var choices = {};
    categories.forEach(function (c) { if (!c.fixed) { choices[c.id] = value; } });
    return choices;
  }

  /* ---- the dialog ---- */
  var CSS = ":where(.wa-banner){position:fixed;z-index:var(--wa-z,2147483000);left:1rem;right:1rem;bottom:1rem;" +
    "box-sizing:border-box;max-width:var(--wa-width,40rem);max-height:calc(100vh - 2rem);overflow:auto;margin:0 auto;" +
    "padding:1rem 1.25rem;background:var(--wa-bg,#fff);color:var(--wa-fg,#1a1a1a);font:var(--wa-font,15px/1.5 system-ui,sans-serif);" +
    "border:1px solid var(--wa-border,#c8c8c8);border-radius:var(--wa-radius,.6rem);box-shadow:var(--wa-shadow,0 .4rem 1.6rem rgba(0,0,0,.22))}" +
    ":where(.wa-banner) h2{margin:0 0 .4rem;font-size:1.1em}:where(.wa-banner) p{margin:0 0 .8rem}" +
    ":where(.wa-banner) a{color:inherit}:where(.wa-banner) fieldset{margin:0 0 .8rem;padding:0;border:0}" +
    ":where(.wa-banner) legend{font-weight:600;margin-bottom:.3rem}" +
    ":where(.wa-category){margin:.4rem 0}:where(.wa-category) label{display:flex;gap:.6rem;align-items:center;font-weight:600}" +
    ":where(.wa-category) small{display:block;padding-left:1.6rem;opacity:.8}:where(#wa-categories) .wa-btn{flex:none;margin-top:.4rem}" +
    ":where(.wa-actions){display:flex;flex-wrap:wrap;gap:.6rem}" +
    ":where(.wa-btn){flex:1 1 8rem;font:inherit;font-weight:600;padding:.6rem 1rem;cursor:pointer;" +
    "border:2px solid var(--wa-accent,#1d4ed8);border-radius:var(--wa-button-radius,.4rem);" +
    "background:var(--wa-button-bg,#1d4ed8);color:var(--wa-button-fg,#fff)}" +
    ":where(.wa-btn,.wa-change,.wa-banner):focus-visible{outline:3px solid var(--wa-focus,#f59e0b);outline-offset:2px}" +
    ":where(.wa-change){position:fixed;z-index:var(--wa-z,2147483000);left:.75rem;bottom:.75rem;cursor:pointer;" +
    "font:var(--wa-font,13px/1.4 system-ui,sans-serif);padding:.3rem .7rem;border:1px solid var(--wa-border,#c8c8c8);" +
    "border-radius:1rem;background:var(--wa-bg,#fff);color:var(--wa-fg,#1a1a1a)}";

  function build() {
    var style = node("style", { id: "wa-banner-style" });
    style.textContent = CSS;
    d.head.appendChild(style);
    dialog = node("div", { "class": "wa-banner", role: "dialog", "aria-modal": "false", "aria-labelledby": "wa-title",
      "aria-describedby": "wa-text", tabindex: "-1", hidden: "" });
    dialog.appendChild(node("h2", { id: "wa-title" }, text("title", "Your privacy choices")));
    var intro = node("p", { id: "wa-text" }, text("text", "We would like to measure how this site is used. " +
      "Nothing is collected unless you agree, and you can change your mind at any time."));
    if (options.policy) {
      intro.appendChild(d.createTextNode(" "));
      intro.appendChild(node("a", { href: options.policy }, text("policy", "Privacy policy")));
    }
    dialog.appendChild(intro);
    panel = node("fieldset", { id: "wa-categories", hidden: "" });
    panel.appendChild(node("legend", {}, text("legend", "Choose what you allow")));
    categories.forEach(function (c) {
      var row = node("div", { "class": "wa-category" }), label = node("label", {});
      var box = node("input", { type: "checkbox", name: c.id, "aria-describedby": "wa-d-" + c.id });
      box.checked = !!c.fixed;
      box.disabled = !!c.fixed;
      label.appendChild(box);
      label.appendChild(d.createTextNode(text(c.id, c.label)));
      row.appendChild(label);
      row.appendChild(node("small", { id: "wa-d-" + c.id }, text(c.id + "Description", c.description)));
      panel.appendChild(row);
    });
    var actions = node("div", { "class": "wa-actions" });
    [
      [actions, "accept", text("accept", "Accept all"), function () { choose(everything(true)); }],
      [actions, "reject", text("reject", "Reject all"), function () { choose(everything(false)); }],
      [actions, "customise", text("customise", "Customise"), function () { expand(true); }],
      [panel, "save", text("save", "Save my choices"), function () {
        var choices = {};
        categories.forEach(function (c) { if (!c.fixed) { choices[c.id] = panel.querySelector("[name=" + c.id + "]").checked; } });
        choose(choices);
      }]
    ].forEach(function (b) {
      var button = node("button", { type: "button", "class": "wa-btn", "data-wa": b[1] }, b[2]);
      button.addEventListener("click", b[3]);
      b[0].appendChild(button);
    });
    var customise = actions.querySelector("[data-wa=customise]");
    customise.setAttribute("aria-controls", "wa-categories");
    customise.setAttribute("aria-expanded", "false");
    dialog.appendChild(panel);
    dialog.appendChild(actions);
    dialog.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && !panel.hidden) { expand(false); }
    });
    d.body.insertBefore(dialog, d.body.firstChild);
  }
  function expand(open) {
    var customise = dialog.querySelector("[data-wa=customise]");
    panel.hidden = !open;
    customise.hidden = open;
    customise.setAttribute("aria-expanded", String(open));
    (open ? panel.querySelector("input:not([disabled])") : customise).focus();
  }
  function show() {
    if (!d.body) { return d.addEventListener("DOMContentLoaded", show); }
    if (!dialog) { build(); }
    var saved = read(), choices = saved ? saved.c : {};
    categories.forEach(function (c) { if (!c.fixed) { panel.querySelector("[name=" + c.id + "]").checked = !!choices[c.id]; } });
    if (change) { change.hidden = true; }
    returnTo = d.activeElement !== d.body ? d.activeElement : null;
    dialog.hidden = false;
    if (!panel.hidden) { expand(false); }
    dialog.focus({ preventScroll: true });
  }
  function hide() {
    if (dialog) { dialog.hidden = true; }
    if (options.changeLink !== false && !d.querySelector("[data-wa-consent-change],a[href='#wa-consent']")) {
      if (!change) {
        change = node("button", { type: "button", "class": "wa-change", "data-wa-consent-change": "" }, text("change", "Privacy choices"));
        d.body.appendChild(change);
      }
      change.hidden = false;
    }
    if (returnTo && returnTo.isConnected) { returnTo.focus(); }
    returnTo = null;
  }

  d.addEventListener("click", function (ev) {
    var trigger = ev.target && ev.target.closest && ev.target.closest("[data-wa-consent-change],a[href='#wa-consent']");
    if (trigger) { ev.preventDefault(); withdraw(); }
  });

  function start() {
    if (signal) {
      api.state = decision({}, signal, Date.now());
      return;
    }
    var saved = read();
    if (saved) {
      publish(decision(saved.c, REMEMBERED, saved.ts));
      hide();
    } else {
      show();
    }
  }
  if (d.readyState === "loading") { d.addEventListener("DOMContentLoaded", start); } else { start(); }
})(window, document);
