// Live escalation alerts on every console page (the console notifier's front end).
// Polls /console/alerts/live; a new alert appears at the top of the page at once, with a
// short tone and a desktop notification where the browser allows them, and can be
// acknowledged right there. Without JavaScript the same alerts are on /console/alerts.
// The same poll brings the new emergencies waiting in the queue of someone on shift: they
// are listed and announced the same way (no acknowledgement: taking the case answers them).
(function () {
  "use strict";
  var region = null;
  var token = "";
  // An emergency and the alert about the same case arrive a poll or two apart: the person is
  // told once, by whichever comes first (a later alert round is told again).
  var SAME_NEWS_MS = 30000;

  var live = window.HelplineLive;  // helpline/static/live.js: poll, tone, notification

  function desktop(item) {
    live.desktop(
      item.title,
      "个案 " + item.number + " · " + item.category + " · 时限 " + item.deadline,
      item.id ? "helpline-alert-" + item.id : "helpline-emergency-" + item.case_id,
      item.case_url
    );
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

  // The region's list of one kind ("alerts" or "emergencies"), made with its heading on first
  // use (and the permission button, once).
  function listOf(kind, heading) {
    var box = ensureRegion();
    var list = box.querySelector("ul.live-" + kind);
    if (list) { return list; }
    var permission = live.permissionButton("live-alerts-permission", "开启桌面提醒");
    if (permission) { box.insertBefore(permission, box.firstChild); }
    var title = document.createElement("strong");
    title.className = "live-" + kind;
    title.textContent = heading;
    list = document.createElement("ul");
    list.className = "live-" + kind;
    box.appendChild(title);
    box.appendChild(list);
    return list;
  }

  // Drop the items of `attr` no longer in `ids` (keeping those `keep` says to keep).
  function prune(attr, ids, keep) {
    if (!region) { return; }
    Array.prototype.forEach.call(region.querySelectorAll("li[" + attr + "]"), function (item) {
      if (!ids[item.getAttribute(attr)] && !(keep && keep(item))) { item.remove(); }
    });
  }

  function render(alerts) {
    var shownIds = {};
    alerts.forEach(function (alert) { shownIds[alert.id] = true; });
    prune("data-alert", shownIds, function (item) { return item.dataset.result; });
    if (!alerts.length) { return; }
    var list = listOf("alerts", "升级通知（需要你确认）");
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

  function renderEmergencies(emergencies) {
    var shown = {};
    emergencies.forEach(function (item) { shown[item.case_id] = true; });
    prune("data-emergency", shown);
    if (!emergencies.length) { return; }
    var list = listOf("emergencies", "新的紧急个案（尚无人接案）");
    emergencies.forEach(function (item) {
      if (list.querySelector('li[data-emergency="' + item.case_id + '"]')) { return; }
      var li = document.createElement("li");
      li.dataset.emergency = String(item.case_id);
      var link = document.createElement("a");
      link.href = item.case_url;
      link.textContent = item.title;
      li.appendChild(link);
      li.appendChild(document.createTextNode(
        " · " + item.category + " · 首次响应时限 " + item.deadline));
      list.appendChild(li);
    });
  }

  function announce(items, store, key) {
    var fresh = live.fresh(store, items.map(key));
    if (!fresh.length) { return; }
    var told = items.filter(function (item) {
      return fresh.indexOf(key(item)) >= 0 && !live.recent("hl-told-cases", item.case_id, SAME_NEWS_MS);
    });
    if (!told.length) { return; }
    live.tone();
    told.forEach(desktop);
  }

  function show(data) {
    token = data.csrf_token;
    render(data.alerts);
    renderEmergencies(data.emergencies || []);
    announce(data.alerts, "hl-alerts-seen", function (alert) { return alert.id; });
    announce(data.emergencies || [], "hl-emergencies-seen", function (item) {
      return item.case_id;
    });
  }

  function start() { live.poll("/console/alerts/live", show, 3); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
