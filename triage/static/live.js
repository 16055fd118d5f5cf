// The live console (issue 17), on top of the pages as served (they work without it):
// - every countdown ([data-due]) ticks each second, in the words the server uses
//   (data/triage/console.yaml `countdown`, given in <body data-live-words>);
// - the queue (#queue-live) and the case page (#case-live) poll a small version address
//   (data-live) with helpline/static/live.js's poll; when the version differs from the one the
//   page was served with (data-version), the page is fetched again and its live parts are
//   swapped in, without a reload. On the case page a part holding something being typed is
//   never replaced: a notice says to save and reload instead.
(function () {
  "use strict";
  var live = window.HelplineLive;
  var body = document.body;
  var said = {};
  try { said = JSON.parse(body.dataset.liveWords || "{}"); } catch (e) { said = {}; }
  var offset = 0;  // server clock minus this computer's clock

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? values[name] : all;
    });
  }

  function syncClock(iso) {
    var server = Date.parse(iso || "");
    if (!isNaN(server)) { offset = server - Date.now(); }
  }

  // triage.pages.countdown, in the page: the same words, the same rounding.
  function countdown(due) {
    var words = said.countdown || {};
    var seconds = Math.trunc((due - (Date.now() + offset)) / 1000);
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    var span = hours ? fill(words.hours, { hours: hours, minutes: rest })
      : fill(words.minutes, { minutes: rest });
    var late = seconds < 0;
    return { text: fill(late ? words.late : words.left, { span: span }), late: late };
  }

  function tick() {
    if (!said.countdown) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-due]"), function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) { return; }
      var now = countdown(due);
      if (el.textContent !== now.text) { el.textContent = now.text; }
      el.classList.toggle("error", now.late);
      var row = el.closest("#queue tbody tr");
      if (row) { row.classList.toggle("overdue", now.late); }
    });
  }

  function captions() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-caption]"), function (el) {
      el.textContent = el.dataset.liveCaption;
    });
  }

  function stamp(root, text) {
    var el = (root || document).querySelector(".live-stamp");
    if (!el) { return; }
    var time = new Date(Date.now() + offset).toLocaleTimeString("zh-CN", { hour12: false });
    el.textContent = " " + (text || fill(said.updated, { time: time }));
  }

  function fetchPage() {
    return live.get(window.location.href, "text").then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  // Watch the element with this id: poll its data-live, fetch and swap on a new version.
  function watch(id, swap) {
    var busy = false;
    var url = document.getElementById(id).dataset.live;
    live.poll(function () {
      var el = document.getElementById(id);
      url = (el && el.dataset.live) || url;
      return url;
    }, function (data) {
      var el = document.getElementById(id);
      if (!el || busy || !data.version || data.version === el.dataset.version) { return null; }
      busy = true;
      return fetchPage().then(function (doc) {
        var fresh = doc.getElementById(id);
        if (fresh) { swap(el, fresh, doc); }
      }).then(function () { busy = false; }, function () { busy = false; });
    }, 3);
  }

  function swapQueue(el, fresh) {
    el.replaceWith(fresh);
    syncClock(fresh.dataset.now);
    captions();
    tick();
    stamp(fresh);
    fresh.dispatchEvent(new CustomEvent("helpline:updated", { bubbles: true }));
  }

  // A field the person changed, or is in.
  function typing(root) {
    return Array.prototype.some.call(root.querySelectorAll("input, textarea, select"), function (f) {
      if (f.type === "hidden") { return false; }
      if (document.activeElement === f) { return true; }
      if (f.type === "checkbox" || f.type === "radio") { return f.checked !== f.defaultChecked; }
      if (f.tagName === "SELECT") {
        return Array.prototype.some.call(f.options, function (o) {
          return o.selected !== o.defaultSelected;
        });
      }
      return f.value !== f.defaultValue;
    });
  }

  function swapCase(el, fresh, doc) {
    var main = document.getElementById("main");
    var newMain = doc.getElementById("main");
    if (!main || !newMain) { return; }
    var held = false;
    if (fresh.dataset.liveForms !== el.dataset.liveForms) {
      // What this person may do changed (taken by someone else, closed...): the whole page,
      // unless they are typing; the live alerts region stays where it is.
      if (typing(main)) {
        held = true;
      } else {
        var alerts = document.getElementById("live-alerts");
        main.innerHTML = newMain.innerHTML;
        if (alerts) { main.insertBefore(alerts, main.firstChild); }
      }
    } else {
      Array.prototype.forEach.call(main.querySelectorAll("[data-live-part]"), function (part) {
        var next = part.id && doc.getElementById(part.id);
        if (!next) { return; }
        if (typing(part)) { held = true; return; }
        part.replaceWith(next);
      });
      el.replaceWith(fresh);
    }
    var current = document.getElementById("case-live");
    if (held) {
      // Poll on, but do not ask again for this version: the notice stays until a reload.
      current.dataset.version = fresh.dataset.version;
      stamp(document, said.reload_needed);
      var note = document.querySelector(".live-stamp");
      if (note) { note.classList.add("error"); }
    } else {
      syncClock(current.dataset.now);
      stamp(document, fill(said.changed_elsewhere, {}));
    }
    tick();
    document.dispatchEvent(new CustomEvent("helpline:updated"));
  }

  function start() {
    syncClock(body.dataset.now);
    captions();
    tick();
    window.setInterval(tick, 1000);
    if (document.getElementById("queue-live")) { watch("queue-live", swapQueue); }
    if (document.getElementById("case-live")) { watch("case-live", swapCase); }
  }

  if (!live) { return; }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
