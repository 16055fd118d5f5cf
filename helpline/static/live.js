// The console's live parts share this (loaded first on every signed-in console page):
// polling a JSON address, a short tone, a desktop notification, the button that asks for
// permission, and a per-tab memory of what was already announced. Escalation's alerts
// (escalation/static/alerts.js) and triage's live queue and case pages (triage/static/live.js)
// use it; neither has a copy of its own. Without JavaScript none of this runs and every page
// works as served.
(function () {
  "use strict";

  // Ask `url` for JSON every few seconds (the answer's poll_seconds, else `seconds`) and give
  // it to `onData`; a failure (signed out, offline) is retried at the same pace. `url` may be a
  // function (asked before each poll). Returns a function that stops the polling.
  // GET `url` as this signed-in person; the answer's body as JSON ("json") or text ("text");
  // an error status is a failure.
  function get(url, kind) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "Accept": kind === "json" ? "application/json" : "text/html" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      return kind === "json" ? response.json() : response.text();
    });
  }

  function poll(url, onData, seconds) {
    var pollMs = Math.max(1000, (seconds || 3) * 1000);
    var stopped = false;
    function once() {
      if (stopped) { return; }
      get(typeof url === "function" ? url() : url, "json").then(function (data) {
        if (data && data.poll_seconds) { pollMs = Math.max(1000, data.poll_seconds * 1000); }
        return onData(data);
      }).catch(function () { /* signed out or offline: try again later */ })
        .then(function () { if (!stopped) { window.setTimeout(once, pollMs); } });
    }
    once();
    return function () { stopped = true; };
  }

  var lastTone = 0;
  // A short two-note tone made in the page (no sound file to fetch); browsers that block sound
  // before the first click simply stay silent. Two announcements in the same second (an
  // emergency and its escalation alert) sound once.
  function tone() {
    var now = Date.now();
    if (now - lastTone < 1500) { return; }
    lastTone = now;
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx();
      [880, 660].forEach(function (freq, i) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.frequency.value = freq;
        gain.gain.value = 0.15;
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(ctx.currentTime + i * 0.25);
        osc.stop(ctx.currentTime + i * 0.25 + 0.2);
      });
    } catch (e) { /* no sound where none is allowed */ }
  }

  // A desktop notification (where the browser allows them); a click opens `url`.
  function desktop(title, body, tag, url) {
    if (!("Notification" in window)) { return; }
    try {
      if (Notification.permission === "granted") {
        var note = new Notification(title, { body: body, tag: tag, requireInteraction: true });
        note.onclick = function () { window.focus(); window.location.href = url; };
      }
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  // A button that asks for permission to notify, or null when there is nothing to ask.
  function permissionButton(id, text) {
    if (!("Notification" in window) || Notification.permission !== "default") { return null; }
    if (document.getElementById(id)) { return null; }
    var button = document.createElement("button");
    button.type = "button";
    button.id = id;
    button.textContent = text;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.remove(); });
    });
    return button;
  }

  // Of `keys`, those this tab has not announced yet; they count as announced from now on.
  function fresh(store, keys) {
    var known;
    try { known = JSON.parse(sessionStorage.getItem(store) || "[]"); } catch (e) { known = []; }
    var unseen = keys.filter(function (key) { return known.indexOf(key) < 0; });
    if (unseen.length) {
      try {
        sessionStorage.setItem(store, JSON.stringify(known.concat(unseen).slice(-200)));
      } catch (e) { /* private mode: announced again on the next page */ }
    }
    return unseen;
  }

  // Whether `key` was marked in this tab within the last `ms` milliseconds; marks it now.
  function recent(store, key, ms) {
    var marks;
    try { marks = JSON.parse(sessionStorage.getItem(store) || "{}"); } catch (e) { marks = {}; }
    var now = Date.now();
    var last = marks[key];
    marks[key] = now;
    Object.keys(marks).forEach(function (k) { if (now - marks[k] > ms) { delete marks[k]; } });
    try { sessionStorage.setItem(store, JSON.stringify(marks)); } catch (e) { /* private mode */ }
    return Boolean(last && now - last < ms);
  }

  window.HelplineLive = {
    get: get,
    poll: poll,
    tone: tone,
    desktop: desktop,
    permissionButton: permissionButton,
    fresh: fresh,
    recent: recent
  };
})();
