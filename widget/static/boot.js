// Boots the widget on Debrief's own survey page from data attributes, so the page needs no
// inline script (its Content-Security-Policy forbids them).
import init, { mount } from "./debrief_widget.js";

const root = document.getElementById("debrief-survey");
if (root) {
  const score = root.dataset.score === "" ? undefined : Number(root.dataset.score);
  await init();
  mount("#debrief-survey", { token: root.dataset.token, score, locale: root.dataset.locale });
}
