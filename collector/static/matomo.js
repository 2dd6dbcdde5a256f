/*
 * A small _paq-compatible tracker for the collector's Matomo tracking API (/matomo.php).
 *
 * The standard Matomo snippet runs unchanged with only its tracker URL changed. It speaks the
 * wire format of matomo.js 5.x (sendBeacon POST with the parameters in the query, GET image as the
 * fallback, bulk JSON), keeps the same first-party cookies (_pk_id, _pk_ses, _pk_ref and the
 * mtm_* consent cookies, named as matomo.js names them, so visitors keep their ids) and honours the
 * consent calls: nothing is sent before setConsentGiven under requireConsent, and no cookie is
 * written before consent under requireCookieConsent or disableCookies.
 * Written for this project (no registry ships Matomo's tracker); MIT-style, no dependencies.
 */
(function (window, document) {
  'use strict';
  if (window.Matomo && window.Matomo.collectorTracker) { return; }

  var nav = window.navigator;
  var CAMPAIGN_NAMES = ['mtm_campaign', 'matomo_campaign', 'pk_campaign', 'pk_cpn', 'piwik_campaign', 'utm_campaign'];
  var CAMPAIGN_KEYWORDS = ['mtm_kwd', 'mtm_keyword', 'matomo_kwd', 'pk_kwd', 'pk_keyword', 'piwik_kwd', 'utm_term'];
  var DOWNLOAD_EXTENSIONS = /\.(7z|aac|apk|arc|arj|asf|asx|avi|azw3|bin|csv|deb|dmg|doc|docx|epub|exe|flv|gif|gz|gzip|hqx|ico|iso|jar|jpe?g|js|md5|mobi|mp2|mp3|mp4|mpe?g|mov|msi|msp|odb|odf|odg|ods|odt|ogg|ogv|pdf|phps|png|ppt|pptx|qtm?|ra|ram|rar|rpm|rtf|sea|sit|svg|tar|tbz|tbz2|tgz|torrent|txt|wav|webm|webp|wma|wmv|wpd|xls|xlsx|xml|xz|z|zip)$/i;
  var APPLY_FIRST = ['addTracker', 'forgetCookieConsentGiven', 'requireCookieConsent', 'disableCookies',
    'setTrackerUrl', 'setAPIUrl', 'setCookiePath', 'setCookieDomain', 'setDomains', 'setUserId', 'setVisitorId',
    'setSiteId', 'alwaysUseSendBeacon', 'disableAlwaysUseSendBeacon', 'enableLinkTracking',
    'setCookieConsentGiven', 'requireConsent', 'setConsentGiven'];

  /* SHA-1 of a string, only to name cookies exactly as matomo.js does (_pk_id.<site>.<hash>). */
  function sha1(text) {
    var utf8 = unescape(encodeURIComponent(text)), words = [], i, j;
    for (i = 0; i < utf8.length; i++) { words[i >> 2] |= utf8.charCodeAt(i) << (24 - (i % 4) * 8); }
    words[utf8.length >> 2] |= 0x80 << (24 - (utf8.length % 4) * 8);
    words[(((utf8.length + 8) >> 6) + 1) * 16 - 1] = utf8.length * 8;
    var h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0], w = [];
    function rotl(n, s) { return (n << s) | (n >>> (32 - s)); }
    for (i = 0; i < words.length; i += 16) {
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
      for (j = 0; j < 80; j++) {
        w[j] = j < 16 ? (words[i + j] | 0) : rotl(w[j - 3] ^ w[j - 8] ^ w[j - 14] ^ w[j - 16], 1);
        var f = j < 20 ? ((b & c) | (~b & d)) + 0x5A827999 : j < 40 ? (b ^ c ^ d) + 0x6ED9EBA1
          : j < 60 ? ((b & c) | (b & d) | (c & d)) + 0x8F1BBCDC : (b ^ c ^ d) + 0xCA62C1D6;
        var t = (rotl(a, 5) + f + e + w[j]) | 0;
        e = d; d = c; c = rotl(b, 30); b = a; a = t;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0; h[4] = (h[4] + e) | 0;
    }
    var hex = '';
    for (i = 0; i < 5; i++) { hex += ('00000000' + (h[i] >>> 0).toString(16)).slice(-8); }
    return hex;
  }

  function readCookie(name) {
    var match = new RegExp('(^|;)[ ]*' + name.replace(/\./g, '\\.') + '=([^;]*)').exec(document.cookie);
    return match ? decodeURIComponent(match[2]) : '';
  }

  function queryParam(url, names) {
    var query = (url.split('#')[0].split('?')[1] || '') + '&' + (url.split('#')[1] || '');
    for (var n = 0; n < names.length; n++) {
      var match = new RegExp('(?:^|&)' + names[n] + '=([^&]*)', 'i').exec(query);
      if (match && match[1]) { try { return decodeURIComponent(match[1].replace(/\+/g, ' ')); } catch (e) { return match[1]; } }
    }
    return '';
  }

  function randomHex(length) {
    var out = '', bytes = new Uint8Array(length / 2);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) { out += ('0' + bytes[i].toString(16)).slice(-2); }
    return out;
  }

  function pageViewId() {
    var chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', out = '';
    for (var i = 0; i < 6; i++) { out += chars.charAt(Math.floor(Math.random() * chars.length)); }
    return out;
  }

  function encode(params) {
    var parts = [];
    for (var key in params) {
      if (Object.prototype.hasOwnProperty.call(params, key) && params[key] !== undefined && params[key] !== null) {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(params[key]));
      }
    }
    return parts.join('&');
  }

  function Tracker(trackerUrl, siteId) {
    var self = this;
    var state = {
      trackerUrl: trackerUrl || '', siteId: siteId || '', customUrl: '', referrer: document.referrer || '',
      title: '', userId: '', visitorId: '', dimensions: {}, pageViewId: '', cookiePath: '/', cookieDomain: '',
      cookiesDisabled: false, consentRequired: false, consentGiven: false, cookieConsentRequired: false,
      beacon: true, method: 'GET', linkTracking: false, sentSomething: false, queue: [], ecommerceItems: {},
      ecommerceView: null, heartBeatDelay: 0, heartBeatTimer: null, doNotTrack: false, optedOut: false
    };

    function cookieName(base) {
      var domain = state.cookieDomain || document.domain;
      return '_pk_' + base + '.' + state.siteId + '.' + sha1(domain + (state.cookiePath || '/')).slice(0, 4);
    }

    function setCookie(name, value, seconds) {
      var expires = seconds === undefined ? '' : ';expires=' + new Date(new Date().getTime() + seconds * 1000).toUTCString();
      document.cookie = name + '=' + encodeURIComponent(value) + expires + ';path=' + (state.cookiePath || '/')
        + (state.cookieDomain ? ';domain=' + state.cookieDomain : '') + ';SameSite=Lax';
    }

    function deleteCookie(name) { setCookie(name, '', -86400); }

    function cookiesAllowed() { return !state.cookiesDisabled && nav.cookieEnabled !== false; }

    function deletePkCookies() {
      ['id', 'ses', 'ref', 'cvar'].forEach(function (base) { deleteCookie(cookieName(base)); });
    }

    /* _pk_id holds "<16 hex visitor id>.<created unix seconds>." for 13 months, as matomo.js writes it. */
    function visitorIdCookie() {
      var value = readCookie(cookieName('id'));
      return /^[0-9a-f]{16}\./.test(value) ? value.split('.') : null;
    }

    function ensureVisitorId() {
      var stored = visitorIdCookie();
      if (!state.visitorId) { state.visitorId = stored ? stored[0] : randomHex(16); }
      var created = stored ? stored[1] : String(Math.floor(new Date().getTime() / 1000));
      var isNew = !stored;
      if (cookiesAllowed()) {
        setCookie(cookieName('id'), state.visitorId + '.' + created + '.', 33955200);
        setCookie(cookieName('ses'), '1', 1800);
      }
      return isNew;
    }

    function campaign(url) {
      var name = queryParam(url, CAMPAIGN_NAMES), keyword = queryParam(url, CAMPAIGN_KEYWORDS);
      if (name && cookiesAllowed()) {
        setCookie(cookieName('ref'), JSON.stringify([name, keyword, Math.floor(new Date().getTime() / 1000),
          state.referrer.slice(0, 1024)]), 15768000);
      }
      if (!name && cookiesAllowed()) {
        try {
          var stored = JSON.parse(readCookie(cookieName('ref')) || 'null');
          if (stored && stored[0]) { name = stored[0]; keyword = stored[1]; }
        } catch (e) { name = ''; }
      }
      return { name: name, keyword: keyword };
    }

    function clientHints() {
      var data = nav.userAgentData;
      if (!data || !data.brands) { return undefined; }
      return JSON.stringify({ fullVersionList: data.brands, mobile: !!data.mobile, platform: data.platform || '' });
    }

    function pageUrl() { return state.customUrl || window.location.href; }

    function buildRequest(params) {
      var now = new Date(), isNew = false, cookieId = '';
      if (cookiesAllowed()) { isNew = ensureVisitorId(); cookieId = state.visitorId; }
      var url = pageUrl(), found = campaign(url);
      var base = {
        idsite: state.siteId, rec: 1, r: String(Math.random()).slice(2, 8), h: now.getHours(), m: now.getMinutes(),
        s: now.getSeconds(), url: url, urlref: state.referrer || undefined, _id: cookieId, _idn: isNew || !cookieId ? 1 : 0,
        send_image: 0, _rcn: found.name || undefined, _rck: found.keyword || undefined, uid: state.userId || undefined,
        pv_id: state.pageViewId || undefined, uadata: clientHints(), cookie: nav.cookieEnabled ? 1 : 0,
        res: (window.screen ? window.screen.width + 'x' + window.screen.height : undefined)
      };
      for (var id in state.dimensions) {
        if (Object.prototype.hasOwnProperty.call(state.dimensions, id)) { base['dimension' + id] = state.dimensions[id]; }
      }
      var merged = {};
      for (var key in params) { if (Object.prototype.hasOwnProperty.call(params, key)) { merged[key] = params[key]; } }
      for (key in base) { if (!(key in merged)) { merged[key] = base[key]; } }
      return merged;
    }

    function transmit(query) {
      var url = state.trackerUrl;
      if (!url) { return; }
      if (state.method === 'POST') {
        if (state.beacon && nav.sendBeacon && nav.sendBeacon(url, new Blob([query], { type: 'application/x-www-form-urlencoded; charset=utf-8' }))) { return; }
        var xhr = new XMLHttpRequest();
        xhr.open('POST', url, true);
        xhr.withCredentials = true;
        xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8');
        xhr.send(query);
        return;
      }
      var full = url + (url.indexOf('?') < 0 ? '?' : '&') + query;
      if (state.beacon && nav.sendBeacon && full.length <= 2000
          && nav.sendBeacon(full, new Blob([], { type: 'application/x-www-form-urlencoded; charset=utf-8' }))) { return; }
      new Image(1, 1).src = full.replace('send_image=0', 'send_image=1');
    }

    function blocked() {
      return state.optedOut || !!readCookie('mtm_consent_removed') || (state.doNotTrack && (nav.doNotTrack === '1' || window.doNotTrack === '1'));
    }

    function send(params) {
      if (blocked()) { return; }
      if (state.consentRequired && !state.consentGiven) { state.queue.push(params); return; }
      var request = buildRequest(params);
      if (state.consentRequired) { request.consent = 1; }
      state.sentSomething = true;
      transmit(encode(request));
    }

    function sendBulk(list) {
      if (blocked() || !list.length) { return; }
      if (state.consentRequired && !state.consentGiven) { state.queue = state.queue.concat(list); return; }
      var requests = list.map(function (params) {
        var request = buildRequest(params);
        if (state.consentRequired) { request.consent = 1; }
        return '?' + encode(request);
      });
      state.sentSomething = true;
      var body = JSON.stringify({ requests: requests, send_image: 0 });
      if (!(nav.sendBeacon && nav.sendBeacon(state.trackerUrl, new Blob([body], { type: 'application/x-www-form-urlencoded; charset=utf-8' })))) {
        var xhr = new XMLHttpRequest();
        xhr.open('POST', state.trackerUrl, true);
        xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8');
        xhr.send(body);
      }
    }

    function performance() {
      var timing = window.performance && window.performance.getEntriesByType && window.performance.getEntriesByType('navigation')[0];
      if (!timing) { return {}; }
      function ms(a, b) { return a > 0 && b >= a ? Math.round(b - a) : undefined; }
      return {
        pf_net: ms(timing.startTime, timing.connectEnd), pf_srv: ms(timing.requestStart, timing.responseStart),
        pf_tfr: ms(timing.responseStart, timing.responseEnd), pf_dm1: ms(timing.responseEnd, timing.domInteractive),
        pf_dm2: ms(timing.domInteractive, timing.domComplete), pf_onl: ms(timing.loadEventStart, timing.loadEventEnd)
      };
    }

    function flushQueue() {
      var queued = state.queue;
      state.queue = [];
      queued.forEach(function (params) { send(params); });
    }

    function heartBeat() {
      if (state.heartBeatTimer) { clearTimeout(state.heartBeatTimer); }
      if (!state.heartBeatDelay) { return; }
      state.heartBeatTimer = setTimeout(function () {
        if (document.visibilityState !== 'hidden') { self.ping(); }
        heartBeat();
      }, state.heartBeatDelay * 1000);
    }

    function linkClick(event) {
      var node = event.target;
      while (node && node.nodeName !== 'A' && node.nodeName !== 'AREA') { node = node.parentNode; }
      if (!node || !node.href || /matomo_ignore|piwik_ignore/.test(node.className || '')) { return; }
      var href = node.href, path = href.split('#')[0].split('?')[0];
      var isDownload = node.hasAttribute('download') || DOWNLOAD_EXTENSIONS.test(path) || /matomo_download|piwik_download/.test(node.className || '');
      var external = node.hostname && node.hostname !== window.location.hostname && /^https?:/.test(href);
      if (isDownload) { self.trackLink(href, 'download'); } else if (external || /matomo_link|piwik_link/.test(node.className || '')) { self.trackLink(href, 'link'); }
    }

    /* ---- the public API, as in matomo.js ---- */
    this.setTrackerUrl = function (url) { state.trackerUrl = url; };
    this.getTrackerUrl = function () { return state.trackerUrl; };
    this.setAPIUrl = function () {};
    this.setSiteId = function (id) { state.siteId = String(id); };
    this.getSiteId = function () { return state.siteId; };
    this.setCustomUrl = function (url) { state.customUrl = url; };
    this.setReferrerUrl = function (url) { state.referrer = url; };
    this.setDocumentTitle = function (title) { state.title = title; };
    this.setUserId = function (uid) { state.userId = uid ? String(uid) : ''; };
    this.resetUserId = function () { state.userId = ''; };
    this.getUserId = function () { return state.userId; };
    this.setVisitorId = function (id) { if (/^[0-9a-f]{16}$/i.test(id)) { state.visitorId = id.toLowerCase(); } };
    this.getVisitorId = function () { if (cookiesAllowed()) { ensureVisitorId(); } return state.visitorId; };
    this.setCustomDimension = function (id, value) { if (+id > 0) { state.dimensions[+id] = String(value); } };
    this.getCustomDimension = function (id) { return state.dimensions[+id]; };
    this.deleteCustomDimension = function (id) { delete state.dimensions[+id]; };
    this.setCookiePath = function (path) { state.cookiePath = path; };
    this.setCookieDomain = function (domain) { state.cookieDomain = domain; };
    this.setDomains = function () {};
    this.setRequestMethod = function (method) { state.method = String(method).toUpperCase() === 'POST' ? 'POST' : 'GET'; };
    this.alwaysUseSendBeacon = function () { state.beacon = true; };
    this.disableAlwaysUseSendBeacon = function () { state.beacon = false; };
    this.setDoNotTrack = function (on) { state.doNotTrack = on !== false; };
    this.enableLinkTracking = function () {
      if (state.linkTracking) { return; }
      state.linkTracking = true;
      document.addEventListener('click', linkClick, true);
    };
    this.enableHeartBeatTimer = function (seconds) { state.heartBeatDelay = Math.max(+seconds || 15, 1); heartBeat(); };
    this.disableHeartBeatTimer = function () { state.heartBeatDelay = 0; heartBeat(); };

    this.trackPageView = function (customTitle) {
      state.pageViewId = pageViewId();
      var params = { action_name: customTitle || state.title || document.title };
      var perf = performance();
      for (var key in perf) { if (perf[key] !== undefined) { params[key] = perf[key]; } }
      if (state.ecommerceView) {
        var view = state.ecommerceView;
        params._pks = view.sku; params._pkn = view.name; params._pkc = view.category; params._pkp = view.price;
        state.ecommerceView = null;
      }
      send(params);
      heartBeat();
    };
    this.trackEvent = function (category, action, name, value) {
      if (!category || !action) { return; }
      send({ e_c: category, e_a: action, e_n: name, e_v: value, ca: 1 });
    };
    this.trackSiteSearch = function (keyword, category, count) {
      send({ search: keyword, search_cat: category || undefined, search_count: count === undefined ? undefined : count });
    };
    this.trackGoal = function (goalId, revenue) { send({ idgoal: goalId, revenue: revenue }); };
    this.trackLink = function (url, type) { var p = {}; p[type === 'download' ? 'download' : 'link'] = url; send(p); };
    this.ping = function () { send({ ping: 1 }); };
    this.trackContentImpression = function (name, piece, target) {
      sendBulk([{ c_n: name, c_p: piece || 'Unknown', c_t: target, ca: 1 }]);
    };
    this.trackContentInteraction = function (interaction, name, piece, target) {
      send({ c_i: interaction, c_n: name, c_p: piece || 'Unknown', c_t: target, ca: 1 });
    };

    this.addEcommerceItem = function (sku, name, category, price, quantity) {
      if (sku) { state.ecommerceItems[sku] = [String(sku), name || '', category || '', price || 0, quantity || 1]; }
    };
    this.removeEcommerceItem = function (sku) { delete state.ecommerceItems[sku]; };
    this.clearEcommerceCart = function () { state.ecommerceItems = {}; };
    this.getEcommerceItems = function () { return JSON.parse(JSON.stringify(state.ecommerceItems)); };
    this.setEcommerceView = function (sku, name, category, price) {
      state.ecommerceView = { sku: sku || '', name: name || '', category: category || '', price: price || 0 };
    };
    function items() { var list = []; for (var sku in state.ecommerceItems) { list.push(state.ecommerceItems[sku]); } return JSON.stringify(list); }
    this.trackEcommerceCartUpdate = function (grandTotal) { send({ idgoal: 0, revenue: grandTotal, ec_items: items() }); };
    this.trackEcommerceOrder = function (orderId, grandTotal, subTotal, tax, shipping, discount) {
      if (!orderId) { return; }
      send({ idgoal: 0, ec_id: orderId, revenue: grandTotal, ec_st: subTotal, ec_tx: tax, ec_sh: shipping, ec_dt: discount, ec_items: items() });
      state.ecommerceItems = {};
    };

    /* consent: nothing leaves the page before setConsentGiven when requireConsent is on */
    this.requireConsent = function () {
      state.consentRequired = true;
      state.consentGiven = !!readCookie('mtm_consent');
      if (!state.consentGiven) { state.cookiesDisabled = true; }
    };
    this.setConsentGiven = function () {
      state.consentGiven = true;
      state.optedOut = false;
      deleteCookie('mtm_consent_removed');
      var sentBefore = state.sentSomething;
      var cookieless = state.cookiesDisabled;
      flushQueue();
      if (cookieless && !state.cookieConsentRequired) {
        state.cookiesDisabled = false;
        if (state.sentSomething || sentBefore) { self.ping(); }
      }
    };
    this.rememberConsentGiven = function (hours) {
      setCookie('mtm_consent', String(new Date().getTime()), hours ? hours * 3600 : 946080000);
      self.setConsentGiven();
    };
    this.forgetConsentGiven = function () {
      deleteCookie('mtm_consent');
      setCookie('mtm_consent_removed', String(new Date().getTime()), 946080000);
      state.consentGiven = false;
      state.queue = [];
      deletePkCookies();
      state.cookiesDisabled = true;
    };
    this.optUserOut = this.forgetConsentGiven;
    this.forgetUserOptOut = function () { deleteCookie('mtm_consent_removed'); state.optedOut = false; };
    this.isUserOptedOut = function () { return blocked(); };
    this.hasConsent = function () { return !state.consentRequired || state.consentGiven; };
    this.isConsentRequired = function () { return state.consentRequired; };
    this.requireCookieConsent = function () {
      if (readCookie('mtm_cookie_consent')) { return; }
      state.cookieConsentRequired = true;
      state.cookiesDisabled = true;
    };
    this.setCookieConsentGiven = function () {
      state.cookieConsentRequired = false;
      if (state.cookiesDisabled) {
        state.cookiesDisabled = false;
        if (state.sentSomething) { self.ping(); }
      }
    };
    this.rememberCookieConsentGiven = function (hours) {
      setCookie('mtm_cookie_consent', String(new Date().getTime()), hours ? hours * 3600 : 946080000);
      self.setCookieConsentGiven();
    };
    this.forgetCookieConsentGiven = function () {
      deleteCookie('mtm_cookie_consent');
      deletePkCookies();
      state.cookieConsentRequired = true;
      state.cookiesDisabled = true;
    };
    this.disableCookies = function () { state.cookiesDisabled = true; deletePkCookies(); };
  }

  function apply(tracker, call) {
    if (typeof call === 'function') { call.apply(tracker, []); return; }
    if (!call || !call.length) { return; }
    var method = call[0], args = Array.prototype.slice.call(call, 1);
    if (typeof method === 'function') { method.apply(tracker, args); return; }
    if (typeof tracker[method] === 'function') { tracker[method].apply(tracker, args); }
  }

  var tracker = new Tracker();
  var queued = window._paq && window._paq.length !== undefined ? window._paq : [];
  var first = [], rest = [];
  for (var i = 0; i < queued.length; i++) {
    (queued[i] && APPLY_FIRST.indexOf(queued[i][0]) >= 0 ? first : rest).push(queued[i]);
  }
  first.sort(function (a, b) { return APPLY_FIRST.indexOf(a[0]) - APPLY_FIRST.indexOf(b[0]); });
  window._paq = { push: function () { for (var n = 0; n < arguments.length; n++) { apply(tracker, arguments[n]); } return 0; } };
  first.concat(rest).forEach(function (call) { apply(tracker, call); });

  window.Matomo = window.Piwik = {
    collectorTracker: true,
    getTracker: function (url, site) { return new Tracker(url, site); },
    getAsyncTracker: function () { return tracker; }
  };
})(window, document);
