// Segments page: the site's saved segments (apply, edit, delete) and the editor of one segment.
"use strict";
(() => {
  const NUMBER_FIELDS = ["pageviews", "duration", "actions"];
  const EQUALITY_FIELDS = ["visitor_type"];  // new, returning, returningCustomer
  const STRING_OPS = [["is", "is"], ["is_not", "is not"], ["contains", "contains"], ["not_contains", "does not contain"],
    ["prefix", "starts with"], ["matches", "matches pattern"], ["not_matches", "does not match pattern"]];
  const NUMBER_OPS = [["is", "="], ["is_not", "≠"], ["gt", ">"], ["gte", "≥"], ["lt", "<"], ["lte", "≤"]];
  const form = document.getElementById("segment-form");
  const rows = document.getElementById("conditions");
  const template = document.getElementById("condition-row");
  const error = document.getElementById("segment-error");
  const list = document.getElementById("segment-list");

  function fillOps(tr, op) {
    const field = tr.querySelector("[name=field]").value;
    const select = tr.querySelector("[name=op]");
    select.innerHTML = "";
    const ops = NUMBER_FIELDS.includes(field) ? NUMBER_OPS : EQUALITY_FIELDS.includes(field) ? STRING_OPS.slice(0, 2) : STRING_OPS;
    for (const [value, label] of ops) {
      const option = document.createElement("option"); option.value = value; option.textContent = label; select.appendChild(option);
    }
    if (op) select.value = op;
  }

  function addRow(condition) {
    const tr = template.content.firstElementChild.cloneNode(true);
    rows.appendChild(tr);
    const c = condition || { field: "country", op: "is", value: "" };
    tr.querySelector("[name=field]").value = c.field;
    fillOps(tr, c.op);
    tr.querySelector("[name=value]").value = c.value;
    tr.querySelector("[name=field]").addEventListener("change", () => fillOps(tr));
    tr.querySelector("[data-remove]").addEventListener("click", () => tr.remove());
  }

  function edit(segment) {
    form.elements.id.value = segment ? segment.id : "";
    form.elements.name.value = segment ? segment.name : "";
    const definition = segment ? JSON.parse(segment.definition) : { match: "all", conditions: [] };
    form.elements.match.value = definition.match;
    rows.innerHTML = "";
    const flat = definition.conditions.filter((c) => !c.conditions);
    (flat.length ? flat : [null]).forEach(addRow);
    document.getElementById("editor-title").textContent = segment ? `Edit “${segment.name}”` : "New segment";
    error.textContent = "";
  }

  function definition() {
    const conditions = [...rows.querySelectorAll("tr")].map((tr) => ({
      field: tr.querySelector("[name=field]").value, op: tr.querySelector("[name=op]").value,
      value: tr.querySelector("[name=value]").value,
    }));
    return { match: form.elements.match.value, conditions };
  }

  async function load() {
    const data = await Dash.api("segments", { limit: 1000, segment: null }, []);
    const tbody = list.querySelector("tbody");
    tbody.innerHTML = "";
    if (!data.rows.length) { tbody.insertRow().insertCell().textContent = "No segment yet: define one below."; return; }
    for (const segment of data.rows) {
      const tr = tbody.insertRow(); tr.dataset.segment = segment.id;
      const name = tr.insertCell(); name.textContent = segment.name; name.className = "segment-name";
      const conditions = tr.insertCell(); conditions.className = "muted";
      const d = JSON.parse(segment.definition);
      conditions.textContent = d.conditions.map((c) => c.conditions ? "(group)" : `${c.field} ${c.op} ${c.value}`).join(d.match === "all" ? " AND " : " OR ");
      const actions = tr.insertCell();
      const apply = document.createElement("a"); apply.textContent = "Apply to traffic"; apply.className = "apply";
      apply.href = `/dashboard/traffic?${Dash.query({ segment: segment.id })}`;
      const change = document.createElement("button"); change.type = "button"; change.textContent = "Edit";
      change.addEventListener("click", () => edit(segment));
      const remove = document.createElement("button"); remove.type = "button"; remove.textContent = "Delete";
      remove.addEventListener("click", async () => {
        if (!window.confirm(`Delete the segment “${segment.name}”?`)) return;
        await Dash.send("DELETE", `segments/${segment.id}`, { site: Dash.site });
        load();
      });
      actions.append(apply, " ", change, " ", remove);
    }
  }

  document.getElementById("add-condition").addEventListener("click", () => addRow());
  document.getElementById("new-segment").addEventListener("click", () => edit(null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const id = form.elements.id.value;
    const body = { name: form.elements.name.value, definition: definition() };
    try {
      const saved = id ? await Dash.send("PUT", `segments/${id}`, { site: Dash.site }, body)
        : await Dash.post("segments", { site: Dash.site }, body);
      form.elements.id.value = saved.id;
      document.getElementById("editor-title").textContent = `Edit “${saved.name}”`;
      await load();
    } catch (e) { error.textContent = e.message; }
  });
  edit(null);
  load().catch((e) => { list.querySelector("tbody").innerHTML = ""; list.querySelector("tbody").insertRow().insertCell().textContent = e.message; });
})();
