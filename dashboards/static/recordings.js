// Recordings page: the list with its filters; each row opens the replay.
"use strict";
(() => {
  const OPTIONS = ["min_duration", "max_duration", "rage", "favourite", "label", "tag"];
  const section = document.querySelector('[data-panel="recordings"]');
  Dash.api("recordings", {}, OPTIONS).then((data) => {
    Dash.table(section, data, {
      hide: ["duration", "country", "device"],
      link: (row) => `/dashboard/replay?${Dash.query({ recording: row.recording })}`,
    });
  }).catch((error) => { section.querySelector("tbody").innerHTML = `<tr><td></td></tr>`; section.querySelector("td").textContent = error.message; });
})();
