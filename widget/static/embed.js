// Debrief's survey widget for any page: one script tag, and an element per survey.
//
//   <script type="module" src="https://debrief.example.com/widget/embed.js"></script>
//   <div data-debrief-token="…" data-debrief-locale="fr"></div>
//
// Optional: data-debrief-score (clicked in an email), data-debrief-api (the Debrief
// server; by default the one this script came from). The page needs no inline script.
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
