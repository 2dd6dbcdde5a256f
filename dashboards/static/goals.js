// Goals page: every goal with its figures (goal_conversions), one goal by a dimension (goal_breakdown),
// and the form that creates or changes a goal.
"use strict";
(() => {
  const section = document.querySelector('[data-panel="goal_conversions"]');
  const form = document.getElementById("goal-form");
  const error = document.getElementById("goal-error");
  const breakdown = document.getElementById("breakdown");
  const by = document.getElementById("breakdown-by");
  let goals = {};
  let chosen = null;
  let shown = 0; // the newest breakdown request; an older answer that arrives later is dropped

  function button(label, onClick) {
    const b = document.createElement("button"); b.type = "button"; b.textContent = label;
    b.addEventListener("click", onClick); return b;
  }

  async function load() {
    const [data, stored] = await Promise.all([Dash.api("goal_conversions", { limit: 1000 }), Defs.list("goals")]);
    goals = Object.fromEntries(stored.goals.map((g) => [g.id, g]));
    Dash.table(section, data, { hide: ["goal", "kind"], link: (row) => `#goal-${row.goal}` });
    if (!data.rows.length) return;
    const head = section.querySelector("thead tr"); head.appendChild(document.createElement("th"));
    section.querySelectorAll("tbody tr").forEach((tr, i) => {
      const row = data.rows[i];
      tr.dataset.goal = row.goal;
      tr.querySelector("a").addEventListener("click", (event) => { event.preventDefault(); show(row.goal, row.name); });
      const cell = tr.insertCell(); cell.className = "row-actions";
      cell.append(button("Edit", () => edit(row.goal)), " ", button("Delete", () => remove(row.goal, row.name)));
    });
    if (chosen && goals[chosen]) show(chosen, goals[chosen].name);
  }

  async function show(id, name) {
    chosen = id;
    breakdown.hidden = false;
    document.getElementById("breakdown-title").textContent = name;
    const params = { goal: id, by: by.value, limit: 50 };
    document.getElementById("breakdown-csv").href = `/dashboard/api/v1/goal_breakdown.csv?${Dash.query(params)}`;
    const request = ++shown;
    const data = await Dash.api("goal_breakdown", params);
    if (request === shown) Dash.table(breakdown, data, { bars: true });
  }
  by.addEventListener("change", () => { if (chosen) show(chosen, goals[chosen].name).catch(fail); });

  function edit(id) {
    const goal = goals[id];
    form.reset();
    Defs.fill(form, { ...goal, id: goal.id });
    form.querySelector('[name="kind"]').dispatchEvent(new Event("change"));
    document.getElementById("goal-form-title").textContent = `Edit goal “${goal.name}”`;
    document.getElementById("goal-cancel").hidden = false;
    form.scrollIntoView({ behavior: "smooth" });
  }

  async function remove(id, name) {
    if (!confirm(`Delete the goal “${name}”?`)) return;
    await Defs.remove("goals", id).catch(fail);
    if (chosen === id) { chosen = null; breakdown.hidden = true; }
    await load();
  }

  function reset() {
    form.reset(); form.querySelector('[name="id"]').value = "";
    document.getElementById("goal-form-title").textContent = "New goal";
    document.getElementById("goal-cancel").hidden = true;
    Defs.showFor(form, form.querySelector('[name="kind"]').value);
  }

  function fail(e) { error.textContent = e.message; }

  form.querySelector('[name="kind"]').addEventListener("change", (e) => Defs.showFor(form, e.target.value));
  document.getElementById("goal-cancel").addEventListener("click", reset);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const kind = form.querySelector('[name="kind"]').value;
    const payload = { name: form.querySelector('[name="name"]').value.trim(), revenue: Number(form.querySelector('[name="revenue"]').value || 0) };
    if (kind === "duration" || kind === "pages") Object.assign(payload, { kind, value: Number(form.querySelector('[name="value"]').value) });
    else Object.assign(payload, Defs.action(form));
    const id = form.querySelector('[name="id"]').value;
    try {
      const saved = id ? await Defs.update("goals", id, payload) : await Defs.create("goals", payload);
      reset();
      chosen = saved.id;
      await load();
    } catch (e) { fail(e); }
  });
  reset();
  load().catch((e) => { section.querySelector("tbody").innerHTML = ""; section.querySelector("tbody").insertRow().insertCell().textContent = e.message; });
})();
