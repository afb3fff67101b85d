// The console's enhancements. Every page works without this file; it only adds what a
// script does better: keyboard shortcuts and previews that follow the form as you type.
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-preview]").forEach(livePreview);
    document.querySelectorAll("[data-coding]").forEach(codingKeys);
    document.querySelectorAll("[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  });

  // A form whose preview (the element named by data-live-preview) is fetched again, as
  // HTML from our own server, a moment after each change.
  function livePreview(form) {
    var target = document.getElementById(form.getAttribute("data-live-preview"));
    var url = form.getAttribute("data-preview-url");
    if (!target || !url) return;
    var timer = null, seq = 0;
    function refresh() {
      var mine = ++seq;
      var body = new URLSearchParams(new FormData(form));
      fetch(url, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Content-Type": "application/x-www-form-urlencoded" } })
        .then(function (r) { return r.ok || r.status === 422 ? r.text() : null; })
        .then(function (html) {
          if (html !== null && mine === seq) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById(target.id);
            if (fresh) target.replaceChildren.apply(target, Array.from(fresh.childNodes));
          }
        })
        .catch(function () {});
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }

  // The coding queue: select words in the buyer's text, press a driver's key, then an
  // influence (1 to 5 for -2 to +2), Enter to save, N to skip to the next item.
  function codingKeys(root) {
    var form = root.querySelector("form[data-code-form]");
    if (!form) return;
    var excerpt = form.querySelector("[name=excerpt]");
    var source = root.querySelector("[data-source]");
    function grab() {
      var sel = window.getSelection();
      if (!sel || sel.isCollapsed || !source || !source.contains(sel.anchorNode)) return;
      excerpt.value = sel.toString().trim();
    }
    document.addEventListener("mouseup", grab);
    document.addEventListener("keyup", function (e) { if (e.shiftKey) grab(); });
    // Fields where keys are typing, not shortcuts (radios and buttons are not).
    function typing(el) {
      if (!el) return false;
      if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
      return el.tagName === "INPUT" && !/^(radio|checkbox|button|submit)$/.test(el.type);
    }
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(t) && t !== excerpt) return;
      if (t === excerpt && e.key !== "Enter") return;
      var key = e.key.toLowerCase();
      if (key.length !== 1 && key !== "enter") return;
      var quoted = window.CSS && CSS.escape ? CSS.escape(key) : key;
      var driver = form.querySelector("[data-driver-key='" + quoted + "']");
      var influence = form.querySelector("[data-influence-key='" + quoted + "']");
      if (influence) { influence.checked = true; e.preventDefault(); return; }
      if (driver) { driver.checked = true; e.preventDefault(); return; }
      if (e.key === "Enter" && t !== null && t.tagName !== "BUTTON") {
        grab();
        e.preventDefault();
        form.requestSubmit();
        return;
      }
      var skip = root.querySelector("[data-skip]");
      if (key === "n" && skip) { e.preventDefault(); window.location.href = skip.getAttribute("href"); }
    });
  }
})();
