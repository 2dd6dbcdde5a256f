// Funnels page: pick a funnel, see its steps (the funnel panel) as bars and a table whose drop-offs open
// the recordings and the visitor log of the visits that left there; create, change or delete funnels.
"use strict";
(() => {
  const VISITOR_LOG = "/dashboard/visitors";
  const section = document.querySelector('[data-panel="funnel"]');
  const select = document.getElementById("funnel-select");
  const form = document.getElementById("funnel-form");
  const stepsList = document.getElementById("funnel-steps");
  const template = document.getElementById("funnel-step");
  const error = document.getElementById("funnel-error");
  let funnels = {};

  function addStep(values) {
    const item = template.content.firstElementChild.cloneNode(true);
    const kind = item.querySelector('[name="kind"]');
    kind.addEventListener("change", () => Defs.showFor(item, kind.value));
    item.querySelector(".remove").addEventListener("click", () => item.remove());
    stepsList.appendChild(item);
    Defs.fill(item, values || {});
    Defs.showFor(item, kind.value);
    return item;
  }

  function reset() {
    form.reset(); form.querySelector('[name="id"]').value = "";
    stepsList.innerHTML = ""; addStep(); addStep();
    document.getElementById("funnel-form-title").textContent = "New funnel";
    document.getElementById("funnel-cancel").hidden = true;
  }

  async function loadList(chosen) {
    const data = await Defs.list("funnels");
    funnels = Object.fromEntries(data.funnels.map((f) => [f.id, f]));
    select.innerHTML = "";
    for (const f of data.funnels) { const o = document.createElement("option"); o.value = f.id; o.textContent = f.name; select.appendChild(o); }
    const wanted = chosen || new URLSearchParams(location.search).get("funnel");
    if (wanted && funnels[wanted]) select.value = wanted;
    const has = data.funnels.length > 0;
    for (const id of ["funnel-edit", "funnel-delete", "funnel-csv"]) document.getElementById(id).hidden = !has;
    if (has) await show(select.value);
    else { document.getElementById("funnel-bars").innerHTML = ""; }
  }

  function stepLink(base, id, step) {
    return `${base}?${Dash.query({ funnel: id, step, dropped: 1 })}`;
  }

  async function show(id) {
    document.getElementById("funnel-csv").href = `/dashboard/api/v1/funnel.csv?${Dash.query({ funnel: id })}`;
    const data = await Dash.api("funnel", { funnel: id });
    const bars = document.getElementById("funnel-bars");
    bars.innerHTML = "";
    const first = Math.max(data.rows.length ? data.rows[0].visits : 0, 1);
    for (const row of data.rows) {
      const bar = document.createElement("div"); bar.className = `funnel-bar${row.optional ? " optional" : ""}`;
      bar.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="num"></span>';
      bar.querySelector(".name").textContent = `${row.step}. ${row.label}${row.optional ? " (optional)" : ""}`;
      bar.querySelector(".fill").style.width = `${Math.round(100 * row.visits / first)}%`;
      bar.querySelector(".num").textContent = `${Dash.format(row.visits, "integer")} · ${Dash.format(row.conversion_rate, "number")}%`;
      bars.appendChild(bar);
    }
    Dash.table(section, data, {});
    const head = section.querySelector("thead tr"); const th = document.createElement("th"); th.textContent = "dropped visits"; head.appendChild(th);
    section.querySelectorAll("tbody tr").forEach((tr, i) => {
      const row = data.rows[i];
      const cell = tr.insertCell(); cell.className = "drop-links";
      if (!row || !row.dropped) return;
      const recordings = document.createElement("a"); recordings.textContent = "Recordings"; recordings.href = stepLink("/dashboard/recordings", id, row.step);
      recordings.dataset.step = row.step;
      const log = document.createElement("a"); log.textContent = "Visitor log"; log.href = stepLink(VISITOR_LOG, id, row.step);
      cell.append(recordings, log);
    });
  }

  function edit() {
    const funnel = funnels[select.value];
    if (!funnel) return;
    form.reset(); stepsList.innerHTML = "";
    Defs.fill(form, { id: funnel.id, name: funnel.name, window_minutes: Math.round((funnel.window_seconds || 0) / 60) });
    for (const step of funnel.steps) addStep(step);
    document.getElementById("funnel-form-title").textContent = `Edit funnel “${funnel.name}”`;
    document.getElementById("funnel-cancel").hidden = false;
    form.scrollIntoView({ behavior: "smooth" });
  }

  select.addEventListener("change", () => show(select.value).catch(fail));
  document.getElementById("funnel-edit").addEventListener("click", edit);
  document.getElementById("funnel-delete").addEventListener("click", async () => {
    const funnel = funnels[select.value];
    if (!funnel || !confirm(`Delete the funnel “${funnel.name}”?`)) return;
    try { await Defs.remove("funnels", funnel.id); await loadList(); } catch (e) { fail(e); }
  });
  document.getElementById("funnel-add-step").addEventListener("click", () => addStep());
  document.getElementById("funnel-cancel").addEventListener("click", reset);

  function fail(e) { error.textContent = e.message; }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const steps = [...stepsList.querySelectorAll(".step")].map((item) => ({
      ...Defs.action(item), label: item.querySelector('[name="label"]').value.trim(),
      optional: item.querySelector('[name="optional"]').checked,
    }));
    const payload = {
      name: form.querySelector('[name="name"]').value.trim(), steps,
      window_seconds: Math.round(Number(form.querySelector('[name="window_minutes"]').value || 0) * 60),
    };
    const id = form.querySelector('[name="id"]').value;
    try {
      const saved = id ? await Defs.update("funnels", id, payload) : await Defs.create("funnels", payload);
      reset();
      await loadList(saved.id);
    } catch (e) { fail(e); }
  });
  reset();
  loadList().catch(fail);
})();
