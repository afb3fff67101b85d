// The console's enhancements. Every page works without this file; it only adds what a
// script does better: keyboard shortcuts and previews that follow the form as you type.
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-preview]").forEach(livePreview);
    document.querySelectorAll("[data-coding]").forEach(codingKeys);
    document.querySelectorAll("[data-widget-preview]").forEach(widgetPreview);
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

  // The survey editor: each form's draft is read by the server into the documents the
  // widget draws (one per language), and handed to the frames beside the editor, which
  // draw them without saving anything. Faults are read out instead.
  function widgetPreview(root) {
    var frames = Array.from(root.querySelectorAll("iframe[data-lang]"));
    var status = root.querySelector("[data-preview-status]");
    var context = root.querySelector("[data-preview-context]");
    var url = root.getAttribute("data-preview-url");
    var last = document.querySelector("form[data-preview-part='wording']");
    var timer = null, seq = 0, documents = null, drawn = new Map();
    // A frame draws the first draft it is sent; a later one reloads it, and it asks again.
    function show(only) {
      if (!documents) return;
      frames.forEach(function (frame) {
        var doc = documents[frame.getAttribute("data-lang")];
        if (!doc || !frame.contentWindow) return;
        var text = JSON.stringify(doc);
        // Asked by the frame itself, or a draft it has not drawn yet.
        if (only ? frame.contentWindow === only : drawn.get(frame) !== text) {
          drawn.set(frame, text);
          frame.contentWindow.postMessage(text, window.location.origin);
        }
      });
    }
    function refresh() {
      if (!last) return;
      var mine = ++seq;
      var body = new URLSearchParams(new FormData(last));
      if (context) new FormData(context).forEach(function (v, k) { body.set(k, v); });
      var part = last.getAttribute("data-preview-part");
      fetch(url + "?part=" + part, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Content-Type": "application/x-www-form-urlencoded" } })
        .then(function (r) { return r.ok || r.status === 422 ? r.json() : null; })
        .then(function (answer) {
          if (answer === null || mine !== seq) return;
          if (answer.documents) {
            documents = answer.documents;
            status.textContent = "";
            show();
          } else if (answer.errors) {
            status.textContent = answer.errors.map(function (e) {
              return e.field + ": " + e.message;
            }).join(" · ");
          }
        })
        .catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
    document.querySelectorAll("form[data-preview-part]").forEach(function (form) {
      form.addEventListener("input", function () { last = form; later(); });
    });
    if (context) context.addEventListener("input", later);
    if (context) context.addEventListener("change", later);
    // A frame that (re)loads asks for what it should show: that frame alone is answered.
    window.addEventListener("message", function (e) {
      if (e.origin === window.location.origin && e.data === "debrief-preview-ready") show(e.source);
    });
    refresh();
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
