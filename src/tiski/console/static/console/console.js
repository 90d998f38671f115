/* Tiski console: keyboard shortcuts, composer tabs, time zone cookie. No framework, no build step. */
(function () {
  "use strict";

  // Report the browser's time zone so the server renders times in the agent's own zone.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tiski_tz=" + zone) === -1) {
      document.cookie = "tiski_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old browser: the server's zone is used */ }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-row]")); }

  function current() { return document.querySelector("[data-row].is-current"); }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(current());
    var next = all[Math.min(all.length - 1, Math.max(0, index + step))] || all[0];
    all.forEach(function (row) { row.classList.remove("is-current"); });
    next.classList.add("is-current");
    var link = next.querySelector("[data-open]");
    if (link) link.focus({ preventScroll: true });
    next.scrollIntoView({ block: "nearest" });
  }

  function selectTab(name) {
    var tabs = document.querySelectorAll("[data-tab]");
    if (!tabs.length) return null;
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    var field = document.querySelector(name === "note" ? "[data-note]" : "[data-reply]");
    if (field) field.focus();
    return field;
  }

  // A message shows its visible text by default; "Show quoted text" and "Show formatted" switch to the
  // full text or the sandboxed HTML frame (loaded on first view), and pressing again switches back.
  function toggleView(button) {
    var article = button.closest("article");
    var views = article && article.querySelector("[data-views]");
    if (!views) return;
    var on = button.getAttribute("aria-pressed") !== "true";
    var name = on ? button.getAttribute("data-show") : views.getAttribute("data-default");
    article.querySelectorAll("[data-show]").forEach(function (other) {
      other.setAttribute("aria-pressed", other === button && on ? "true" : "false");
    });
    views.querySelectorAll("[data-view]").forEach(function (view) {
      view.hidden = view.getAttribute("data-view") !== name;
    });
    var frame = name === "html" && views.querySelector("iframe[data-src]");
    if (frame && !frame.getAttribute("src")) frame.setAttribute("src", frame.getAttribute("data-src"));
  }

  function showShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-tab]");
    if (tab) { selectTab(tab.getAttribute("data-tab")); return; }
    if (event.target.closest("[data-shortcuts-open]")) { showShortcuts(); return; }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      if (input) {
        input.select();
        if (navigator.clipboard) navigator.clipboard.writeText(input.value);
      }
      return;
    }
    var show = event.target.closest("[data-show]");
    if (show) { toggleView(show); return; }
    var remote = event.target.closest("[data-remote-images]");
    if (remote) { remote.setAttribute("aria-disabled", "true"); remote.textContent = remote.getAttribute("data-loaded") || remote.textContent; }
    var row = event.target.closest("[data-row]");
    if (row && !event.target.closest("a, button, input, select, label, .c-pick")) {
      var link = row.querySelector("[data-open]");
      if (link) link.click();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target) || event.metaKey || event.ctrlKey || event.altKey) return;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter": {
        var row = current();
        var link = row && row.querySelector("[data-open]");
        if (link && document.activeElement !== link) link.click(); else return;
        break;
      }
      case "r": if (!selectTab("reply")) return; break;
      case "n": if (!selectTab("note")) return; break;
      case "e": {
        var solve = document.querySelector("[data-solve]");
        if (!solve) return;
        solve.click();
        break;
      }
      case "/": {
        var search = document.querySelector("[data-search]");
        if (search) { search.focus(); search.select(); } else { window.location.href = "/console/?focus=search"; }
        break;
      }
      case "?": showShortcuts(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (/[?&]focus=search/.test(window.location.search)) {
      var search = document.querySelector("[data-search]");
      if (search) search.focus();
    }
    var toasts = document.querySelector(".toasts");
    if (toasts) setTimeout(function () { toasts.remove(); }, 6000);
  });

  // Keep the highlighted row in step with htmx list swaps, and mark the list busy while it loads.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var list = document.getElementById("case-list");
    if (list && event.detail.target === list) list.setAttribute("aria-busy", "true");
  });
})();

/* Keep the newest message in view: scroll the timeline to its end on load and after each update,
   unless the agent has scrolled up to read something older. */
(function () {
  "use strict";
  var pinned = true;
  function timeline() { return document.getElementById("timeline"); }
  function toEnd() { var t = timeline(); if (t && pinned) t.scrollTop = t.scrollHeight; }
  document.addEventListener("DOMContentLoaded", toEnd);
  document.addEventListener("htmx:beforeSwap", function () {
    var t = timeline();
    if (t) pinned = t.scrollHeight - t.scrollTop - t.clientHeight < 80;
  });
  document.addEventListener("htmx:afterSettle", toEnd);
  document.addEventListener("htmx:afterRequest", function (event) {
    // The agent's own reply or note always brings the end into view.
    var form = event.detail.elt;
    if (event.detail.successful && form && form.tagName === "FORM" && form.closest(".composer")) {
      pinned = true;
      toEnd();
    }
  });
})();

/* Routing, live: the console's WebSocket (htmx ws extension on #live) swaps in offers, presence and "My work";
   this keeps their clocks running, tells the server the agent is at the desk, and falls back to re-reading the
   offers while the socket is down. */
(function () {
  "use strict";
  var ACTIVITY_EVERY_MS = 60000;  // heartbeat at most once a minute, and only while the agent does something
  var FALLBACK_EVERY_MS = 30000;  // offers re-read this often while the socket is down
  var socket = null;
  var lastActivity = Date.now();  // the page load itself counts (the server notes it when the socket opens)
  var fallback = null;
  var units = null;
  var offerCount = null;
  var baseTitle = document.title;

  function liveEl() { return document.getElementById("live"); }

  function setLive(state) {  // "on", "off" (reconnecting) or "refused" (the session ended)
    document.body.classList.toggle("live-lost", state === "off");
    document.body.classList.toggle("live-refused", state === "refused");
    document.body.setAttribute("data-live", state);
  }

  function refreshOffers() {
    var live = liveEl();
    if (live && window.htmx && document.getElementById("offers")) {
      window.htmx.ajax("GET", live.getAttribute("data-offers-url"), { target: "#offers", swap: "outerHTML" });
    }
  }

  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    setLive("on");
    if (fallback) { clearInterval(fallback); fallback = null; }
  });

  document.addEventListener("htmx:wsClose", function (event) {
    socket = null;
    var code = event.detail.event && event.detail.event.code;
    if (code === 4403) { setLive("refused"); return; }  // logged out meanwhile: nothing to wait for
    setLive("off");
    if (!fallback) fallback = setInterval(refreshOffers, FALLBACK_EVERY_MS);
  });

  function activity() {
    var now = Date.now();
    if (!socket || now - lastActivity < ACTIVITY_EVERY_MS) return;
    lastActivity = now;
    try { socket.send(JSON.stringify({ type: "activity" })); } catch (e) { /* the socket reconnects by itself */ }
  }
  document.addEventListener("keydown", activity, true);
  document.addEventListener("click", activity, true);

  // Relative times ("12 min") and offer countdowns ("0:45") keep running between pushes.
  function relative(seconds, wait) {
    if (!units) {
      var data = document.getElementById("reltime-units");
      units = data ? JSON.parse(data.textContent)
        : { now: "now", under: "under a minute", min: "%(n)d min", h: "%(n)d h", d: "%(n)d d" };
    }
    if (seconds < 60) return wait ? units.under : units.now;
    if (seconds < 3600) return units.min.replace("%(n)d", Math.floor(seconds / 60));
    if (seconds < 86400) return units.h.replace("%(n)d", Math.floor(seconds / 3600));
    return units.d.replace("%(n)d", Math.floor(seconds / 86400));
  }

  function tickAgo() {
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = relative(Math.max(0, (Date.now() - at) / 1000), el.getAttribute("data-ago") === "wait");
    });
  }

  function tickDue() {
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var left = (at - Date.now()) / 1000;
      var text = left > 0 ? el.getAttribute("data-in") : el.getAttribute("data-late");
      el.textContent = (text || "%s").replace("%s", relative(Math.abs(left), true));
    });
  }

  function tickCountdowns() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      if (!el._deadline) el._deadline = Date.now() + 1000 * parseInt(el.getAttribute("data-left") || "0", 10);
      var left = Math.max(0, Math.round((el._deadline - Date.now()) / 1000));
      var offer = el.closest(".offer");
      if (left <= 0) {
        el.textContent = el.getAttribute("data-expired-text") || "0:00";
        if (offer) offer.classList.add("is-expired");
        return;
      }
      el.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (offer) offer.classList.toggle("is-ending", left <= 15);
    });
  }

  // Offers: the count in the tab's title, and a spoken announcement when a new one arrives.
  function offersChanged() {
    var offers = document.querySelectorAll("#offers .offer");
    document.title = offers.length ? "(" + offers.length + ") " + baseTitle : baseTitle;
    if (offerCount !== null && offers.length > offerCount) {
      var say = document.getElementById("live-announce");
      var title = offers[offers.length - 1].querySelector(".offer__title");
      if (say && title) say.textContent = (say.getAttribute("data-new-offer") || "") + " " + title.textContent.trim();
    }
    offerCount = offers.length;
  }

  document.addEventListener("htmx:wsAfterMessage", function () { offersChanged(); tickCountdowns(); });
  document.addEventListener("htmx:afterSwap", function () { offersChanged(); tickCountdowns(); });

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-notice-close]");
    if (close) { close.closest("[data-notice]").remove(); return; }
    // A menu (presence, transfer) closes when the agent clicks elsewhere.
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // Notices of work assigned without asking stay a while, then go (the work is in "My work" anyway).
  function timeNotices() {
    document.querySelectorAll("#work-notices [data-notice]:not([data-timed])").forEach(function (notice) {
      notice.setAttribute("data-timed", "1");
      setTimeout(function () { if (!notice.matches(":hover, :focus-within")) notice.remove(); }, 30000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var notices = document.getElementById("work-notices");
    if (notices) new MutationObserver(timeNotices).observe(notices, { childList: true });
    baseTitle = document.title;
    offersChanged();
    tickCountdowns();
    setInterval(tickCountdowns, 1000);
    setInterval(tickAgo, 30000);
    setInterval(tickDue, 30000);
  });

  // Macros: select cases in the inbox (one by one, the page, or every case matching the filter), then
  // "Apply macro…" posts the selection to the macro preview.
  function macroBulkUpdate() {
    var bar = document.querySelector("[data-macro-bulk]");
    if (!bar) return;
    var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-macro-case]"));
    var picked = boxes.filter(function (box) { return box.checked; });
    var all = bar.querySelector("[data-macro-all]");
    var page = document.querySelector("[data-macro-page]");
    var allOnPage = boxes.length > 0 && picked.length === boxes.length;
    if (!allOnPage && all.value) all.value = "";
    if (page) { page.checked = allOnPage; page.indeterminate = picked.length > 0 && !allOnPage; }
    bar.hidden = picked.length === 0;
    var choices = bar.querySelector("[data-macro-select]");
    if (!bar.hidden && choices && window.htmx) window.htmx.trigger(choices, "macro-load");
    bar.querySelector("[data-macro-count]").textContent = String(picked.length);
    var selectAll = bar.querySelector("[data-macro-select-all]");
    var note = bar.querySelector("[data-macro-all-note]");
    if (selectAll) selectAll.hidden = !allOnPage || !!all.value;
    if (note) note.hidden = !all.value;
    bar.querySelector(".macro-bulk__count").hidden = !!all.value;
    boxes.forEach(function (box) { box.closest("tr").classList.toggle("is-picked", box.checked); });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-macro-page]")) {
      document.querySelectorAll("[data-macro-case]").forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches("[data-macro-page], [data-macro-case]")) macroBulkUpdate();
  });

  document.addEventListener("click", function (event) {
    var bar = event.target.closest("[data-macro-bulk]");
    if (!bar) return;
    if (event.target.closest("[data-macro-select-all]")) {
      bar.querySelector("[data-macro-all]").value = "1";
      macroBulkUpdate();
    } else if (event.target.closest("[data-macro-clear]")) {
      document.querySelectorAll("[data-macro-case], [data-macro-page]").forEach(function (box) { box.checked = false; });
      bar.querySelector("[data-macro-all]").value = "";
      macroBulkUpdate();
    }
  });
  document.addEventListener("htmx:afterSwap", macroBulkUpdate);
})();
