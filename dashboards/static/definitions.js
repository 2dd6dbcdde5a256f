// Stored definitions (goals, funnels): calls to /dashboard/api/v1/definitions/<kind> with the CSRF token,
// and the show/hide of form fields that depend on a kind select.
"use strict";
const Defs = (() => {
  async function call(method, kind, id, payload) {
    const path = `/dashboard/api/v1/definitions/${kind}${id ? "/" + encodeURIComponent(id) : ""}`;
    const response = await fetch(`${path}?${new URLSearchParams({ site: Dash.site })}`, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": Dash.csrf },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  // Elements with data-for="kind1 kind2" are shown only for those kinds; [data-label=kind] spans likewise.
  function showFor(root, kind) {
    root.querySelectorAll("[data-for]").forEach((el) => { el.hidden = !el.dataset.for.split(" ").includes(kind); });
    root.querySelectorAll("[data-label]").forEach((el) => el.classList.toggle("shown", el.dataset.label === kind));
  }

  // The fields of an action (page, event, custom event, Matomo goal) from inputs named like the API's fields.
  function action(root) {
    const get = (name) => { const el = root.querySelector(`[name="${name}"]`); return el ? el.value.trim() : ""; };
    const kind = get("kind");
    if (kind === "event") return { kind, event_category: get("event_category"), event_action: get("event_action"), event_name: get("event_name") };
    if (kind === "page") return { kind, match: get("match"), value: get("value") };
    return { kind, value: get("value") };
  }

  function fill(root, values) {
    for (const [name, value] of Object.entries(values)) {
      const el = root.querySelector(`[name="${name}"]`);
      if (!el) continue;
      if (el.type === "checkbox") el.checked = Boolean(value); else el.value = value;
    }
  }

  return {
    list: (kind) => call("GET", kind),
    create: (kind, payload) => call("POST", kind, "", payload),
    update: (kind, id, payload) => call("PUT", kind, id, payload),
    remove: (kind, id) => call("DELETE", kind, id),
    showFor, action, fill,
  };
})();
