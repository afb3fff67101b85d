// Debrief's survey widget for any page: one script tag, and an element per survey.
//
//   <script type="module" src="https://debrief.example.com/widget/embed.js"></script>
//   <div data-debrief-token="…" data-debrief-locale="fr"></div>
//
// Optional: data-debrief-score (clicked in an email), data-debrief-api (the Debrief
// server; by default the one this script came from). The page needs no inline script.
//
// The console's survey editor frames a page with a data-debrief-preview element: it
// draws each document the editor (its parent, on Debrief's own origin) sends it.
import init, { mount } from "./debrief_widget.js";

const api = new URL(import.meta.url).origin;
const hosts = document.querySelectorAll("[data-debrief-token]");
if (hosts.length > 0) {
  await init();
  for (const host of hosts) {
    const d = host.dataset;
    try {
      mount(host, {
        token: d.debriefToken,
        score: d.debriefScore,
        locale: d.debriefLocale,
        apiBase: d.debriefApi || api,
      });
    } catch (e) {
      // One broken element must not stop the others; the page keeps what it showed.
      console.error(e);
    }
  }
}

const previews = document.querySelectorAll("[data-debrief-preview]");
if (previews.length > 0 && window.parent !== window) {
  await init();
  // One survey per page: a newer draft reloads the frame (the widget's files are cached),
  // which asks the editor again and draws the newest from scratch.
  let shown = false;
  window.addEventListener("message", (e) => {
    if (e.origin !== api || e.source !== window.parent || typeof e.data !== "string") return;
    if (shown) {
      window.location.reload();
      return;
    }
    shown = true;
    for (const host of previews) {
      try {
        mount(host, { preview: e.data, locale: host.dataset.debriefLocale });
      } catch (err) {
        console.error(err);
      }
    }
  });
  window.parent.postMessage("debrief-preview-ready", api);
}
