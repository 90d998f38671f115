/* Session watch: warn before the session ends, keep it alive while the user is really working.
 *
 * The server ends a session after TISKI_SESSION_IDLE_MINUTES without activity and TISKI_SESSION_HOURS after
 * login. htmx polling (hx-trigger "every …" or "load") is marked X-Tiski-Background so it does not count as
 * activity; typing, clicking and scrolling do, reported to the keep-alive URL at most once a minute.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  var WARN_S = 120;           // show the warning this long before the session ends
  var PING_EVERY_MS = 60000;  // report activity at most this often
  var now = function () { return Date.now(); };
  var idleEnd = now() + Number(data.idleLeft) * 1000;
  var absoluteEnd = now() + Number(data.absoluteLeft) * 1000;
  var idleTotalMs = Math.max(Number(data.idleLeft) * 1000, 1);
  var lastActivity = 0;
  var lastPing = now();
  var banner = null;

  function csrfToken() {
    var holder = document.querySelector("[hx-headers]");
    try { return JSON.parse(holder.getAttribute("hx-headers"))["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function applyTimes(times) {
    idleEnd = now() + times.idle_left * 1000;
    absoluteEnd = now() + times.absolute_left * 1000;
  }

  function ping() {
    lastPing = now();
    fetch(data.keepaliveUrl, {method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}})
      .then(function (r) { if (r.status === 401) { leave(); return null; } return r.ok ? r.json() : null; })
      .then(function (times) { if (times) { applyTimes(times); render(); } })
      .catch(function () {});
  }

  function leave() {
    window.location.assign(data.loginUrl + "&next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function activity() {
    lastActivity = now();
    if (lastActivity - lastPing >= PING_EVERY_MS || (banner && !banner.hidden && banner.dataset.kind === "idle")) ping();
  }

  function minutesLeft(end) { return Math.max(1, Math.ceil((end - now()) / 60000)); }

  function render() {
    var idleSoon = idleEnd - now() <= WARN_S * 1000 && idleEnd < absoluteEnd;
    var absoluteSoon = absoluteEnd - now() <= 5 * 60000;
    if (!idleSoon && !absoluteSoon) { if (banner) banner.hidden = true; return; }
    if (!banner) {
      banner = document.createElement("div");
      banner.className = "session-warning";
      banner.setAttribute("role", "alert");
      var text = document.createElement("p");
      text.className = "session-warning__text";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn--primary";
      button.textContent = data.textStay;
      button.addEventListener("click", ping);
      banner.append(text, button);
      document.body.append(banner);
    }
    banner.hidden = false;
    banner.dataset.kind = idleSoon ? "idle" : "absolute";
    banner.querySelector("button").hidden = !idleSoon;
    var template = idleSoon ? data.textIdle : data.textAbsolute;
    banner.querySelector("p").textContent = template.replace("{minutes}", minutesLeft(idleSoon ? idleEnd : absoluteEnd));
  }

  function tick() {
    if (now() >= Math.min(idleEnd, absoluteEnd)) { leave(); return; }
    if (lastActivity > lastPing && now() - lastPing >= PING_EVERY_MS) ping();
    render();
  }

  ["keydown", "pointerdown", "wheel", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, activity, {passive: true, capture: true});
  });
  // Requests htmx makes on its own (polling, "load") are not the user's activity: mark them for the server.
  document.addEventListener("htmx:configRequest", function (event) {
    var trigger = event.detail.triggeringEvent;
    if (!trigger || trigger.type === "load") event.detail.headers["X-Tiski-Background"] = "1";
    else { lastPing = now(); idleEnd = Math.min(absoluteEnd, now() + idleTotalMs); }
  });
  setInterval(tick, 15000);
  render();
})();
