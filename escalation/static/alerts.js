// Live escalation alerts on every console page (the console notifier's front end).
// Polls /console/alerts/live; a new alert appears at the top of the page at once, with a
// short tone and a desktop notification where the browser allows them, and can be
// acknowledged right there. Without JavaScript the same alerts are on /console/alerts.
(function () {
  "use strict";
  var SEEN_KEY = "hl-alerts-seen";
  var region = null;
  var token = "";
  var pollMs = 3000;

  function seen() {
    try { return JSON.parse(sessionStorage.getItem(SEEN_KEY) || "[]"); } catch (e) { return []; }
  }
  function remember(ids) {
    try { sessionStorage.setItem(SEEN_KEY, JSON.stringify(ids.slice(-200))); } catch (e) { /* private mode */ }
  }

  function tone() {
    // A short two-note tone made in the page (no sound file to fetch); browsers that block
    // sound before the first click simply stay silent.
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

  function desktop(alert) {
    if (!("Notification" in window)) { return; }
    try {
      if (Notification.permission === "granted") {
        var note = new Notification(alert.title, {
          body: "个案 " + alert.number + " · " + alert.category + " · 时限 " + alert.deadline,
          tag: "helpline-alert-" + alert.id,
          requireInteraction: true
        });
        note.onclick = function () { window.focus(); window.location.href = alert.case_url; };
      }
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  function askPermissionButton() {
    if (!("Notification" in window) || Notification.permission !== "default") { return null; }
    var button = document.createElement("button");
    button.type = "button";
    button.id = "live-alerts-permission";
    button.textContent = "开启桌面提醒";
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.remove(); });
    });
    return button;
  }

  function ensureRegion() {
    if (region) { return region; }
    region = document.createElement("section");
    region.id = "live-alerts";
    region.setAttribute("role", "alert");
    region.setAttribute("aria-live", "assertive");
    region.style.border = "3px solid #b00020";
    region.style.padding = ".5rem 1rem";
    region.style.margin = "0 0 1rem";
    region.style.background = "#fff4f4";
    var main = document.getElementById("main") || document.body;
    main.insertBefore(region, main.firstChild);
    return region;
  }

  function acknowledge(alert, item) {
    var body = new URLSearchParams();
    body.set("csrf_token", token);
    fetch(alert.ack_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: body
    }).then(function (response) { return response.json(); }).then(function (answer) {
      item.textContent = answer.text;
      item.dataset.result = answer.result;
    }).catch(function () {
      item.appendChild(document.createTextNode(" 确认没有成功，请在“我的通知”页面再试。"));
    });
  }

  function render(alerts) {
    var shownIds = {};
    alerts.forEach(function (alert) { shownIds[alert.id] = true; });
    if (region) {
      Array.prototype.forEach.call(region.querySelectorAll("li[data-alert]"), function (item) {
        if (!shownIds[item.dataset.alert] && !item.dataset.result) { item.remove(); }
      });
    }
    if (!alerts.length) { return; }
    var box = ensureRegion();
    var list = box.querySelector("ul");
    if (!list) {
      var heading = document.createElement("strong");
      heading.textContent = "升级通知（需要你确认）";
      box.appendChild(heading);
      var permission = askPermissionButton();
      if (permission) { box.appendChild(permission); }
      list = document.createElement("ul");
      box.appendChild(list);
    }
    alerts.forEach(function (alert) {
      if (list.querySelector('li[data-alert="' + alert.id + '"]')) { return; }
      var item = document.createElement("li");
      item.dataset.alert = String(alert.id);
      var link = document.createElement("a");
      link.href = alert.case_url;
      link.textContent = alert.title;
      var facts = document.createTextNode(
        " · " + alert.category + " · 最近法定时限 " + alert.deadline + " ");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "live-ack";
      button.textContent = "确认收到，停止升级通知";
      button.addEventListener("click", function () {
        button.disabled = true;
        acknowledge(alert, item);
      });
      item.appendChild(link);
      item.appendChild(facts);
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  function announce(alerts) {
    var known = seen();
    var fresh = alerts.filter(function (alert) { return known.indexOf(alert.id) < 0; });
    if (!fresh.length) { return; }
    tone();
    fresh.forEach(desktop);
    remember(known.concat(fresh.map(function (alert) { return alert.id; })));
  }

  function poll() {
    fetch("/console/alerts/live", {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.json();
    }).then(function (data) {
      token = data.csrf_token;
      pollMs = Math.max(1000, (data.poll_seconds || 3) * 1000);
      render(data.alerts);
      announce(data.alerts);
    }).catch(function () { /* signed out or offline: try again later */ })
      .then(function () { window.setTimeout(poll, pollMs); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", poll);
  } else {
    poll();
  }
})();
