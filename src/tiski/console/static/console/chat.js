/* Tiski console, chat and composer: drafts kept per case while switching between chats, Enter sends on chat
   cases, the agent's typing told to the customer (at most every 2 s), messages pushed into the open timeline,
   the customer's typing indicator, and the canned-reply picker (every channel). No framework, no build step. */
(function () {
  "use strict";
  var TYPING_EVERY_MS = 2000;   // "agent is typing" at most this often
  var TYPING_IDLE_MS = 4000;    // and "stopped" after this long without a key
  var CUSTOMER_TYPING_MS = 8000; // the customer's indicator goes by itself if its "stopped" never comes
  var socket = null;
  var typingSentAt = 0;
  var typingOn = false;
  var typingIdle = null;
  var customerTyping = null;

  function reply() { return document.querySelector("textarea[data-reply]"); }

  // --- drafts -----------------------------------------------------------------------------------------------
  function draftKey(field) { return "tiski-draft:" + field.getAttribute("data-draft"); }

  function draftLoad() {
    var field = reply();
    if (!field || !field.hasAttribute("data-draft")) return;
    try {
      var saved = window.sessionStorage.getItem(draftKey(field));
      if (saved && !field.value) field.value = saved;
    } catch (e) { /* storage off: no drafts */ }
  }

  function draftSave(field) {
    try {
      if (field.value) window.sessionStorage.setItem(draftKey(field), field.value);
      else window.sessionStorage.removeItem(draftKey(field));
    } catch (e) { /* storage off or full */ }
  }

  // --- the agent's typing, to the customer ----------------------------------------------------------------
  function sendTyping(on) {
    if (!socket) return;
    try { socket.send(JSON.stringify({ type: "typing", on: on })); } catch (e) { /* reconnects by itself */ }
    typingOn = on;
    typingSentAt = Date.now();
  }

  function agentTyped() {
    var now = Date.now();
    if (!typingOn || now - typingSentAt >= TYPING_EVERY_MS) sendTyping(true);
    if (typingIdle) clearTimeout(typingIdle);
    typingIdle = setTimeout(function () { if (typingOn) sendTyping(false); }, TYPING_IDLE_MS);
  }

  function agentStopped() {
    if (typingIdle) { clearTimeout(typingIdle); typingIdle = null; }
    if (typingOn) sendTyping(false);
  }

  document.addEventListener("htmx:wsOpen", function (event) { socket = event.detail.socketWrapper; });
  document.addEventListener("htmx:wsClose", function () { socket = null; typingOn = false; });

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea[data-reply]")) return;
    draftSave(field);
    if (field.hasAttribute("data-chat-composer")) {
      if (field.value.trim()) agentTyped(); else agentStopped();
    }
  });

  // --- Enter sends on chat cases; "/" in an empty reply opens the canned replies ------------------------------
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea[data-reply]")) return;
    if (event.key === "/" && !field.value && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      cannedOpen();
      return;
    }
    if (event.key !== "Enter" || !field.hasAttribute("data-chat-composer")) return;
    if (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    event.preventDefault();
    if (field.value.trim() && field.form) {
      agentStopped();
      field.form.requestSubmit();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!event.detail.successful || !form || form.tagName !== "FORM") return;
    var field = form.querySelector("textarea[data-reply]");
    if (field) {
      field.value = "";
      draftSave(field);
      agentStopped();
      field.focus();
    }
  });

  // --- pushes into the open case -----------------------------------------------------------------------------
  // A message may arrive twice (the agent's own reply comes back with the post's answer and as a push): the one
  // already in place stays there, with the newer content.
  function dedupe() {
    var list = document.getElementById("timeline-list");
    if (!list) return;
    var seen = {};
    Array.prototype.slice.call(list.children).forEach(function (item) {
      if (!item.id) return;
      if (seen[item.id]) { seen[item.id].replaceWith(item); }
      seen[item.id] = item;
    });
    var empty = list.querySelector(":scope > .empty");
    if (empty && list.children.length > 1) empty.remove();
  }

  function scrollEnd() {
    var t = document.getElementById("timeline");
    if (t && t.scrollHeight - t.scrollTop - t.clientHeight < 240) t.scrollTop = t.scrollHeight;
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "timeline-list") {
      dedupe();
      scrollEnd();
      var last = target.lastElementChild;
      if (last && last.classList.contains("msg--in")) {  // the customer sent it: they stopped typing
        var typing = document.getElementById("chat-typing");
        if (typing) typing.textContent = "";
      }
    }
    if (target && target.id === "chat-typing") {
      if (customerTyping) clearTimeout(customerTyping);
      customerTyping = setTimeout(function () {
        var typing = document.getElementById("chat-typing");
        if (typing) typing.textContent = "";
      }, CUSTOMER_TYPING_MS);
    }
  });

  // --- canned replies ------------------------------------------------------------------------------------------
  function picker() { return document.getElementById("canned"); }
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#canned-list [role=option]")); }
  function selected() { return document.querySelector("#canned-list [role=option][aria-selected=true]"); }

  function cannedOpen() {
    var box = picker();
    if (!box) return;
    box.hidden = false;
    var button = document.querySelector("[data-canned-open]");
    if (button) button.setAttribute("aria-expanded", "true");
    var q = document.getElementById("canned-q");
    q.value = "";
    q.focus();
    if (window.htmx) window.htmx.trigger(q, "canned-load");
  }

  function cannedClose(focusReply) {
    var box = picker();
    if (!box || box.hidden) return;
    box.hidden = true;
    var button = document.querySelector("[data-canned-open]");
    if (button) button.setAttribute("aria-expanded", "false");
    if (focusReply && reply()) reply().focus();
  }

  function choose(step) {
    var all = options();
    if (!all.length) return;
    var index = all.indexOf(selected());
    var next = all[Math.min(all.length - 1, Math.max(0, index + step))];
    all.forEach(function (o) { o.setAttribute("aria-selected", o === next ? "true" : "false"); });
    next.scrollIntoView({ block: "nearest" });
    document.getElementById("canned-q").setAttribute("aria-activedescendant", next.id);
  }

  // Put TEXT into the reply at the cursor (replacing a selection), as a canned reply or an article is inserted.
  function insertText(text) {
    var field = reply();
    if (!field) return false;
    var start = field.selectionStart || 0;
    var end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  function insert(option) {
    if (!option) return;
    cannedClose(true);
    insertText(option.getAttribute("data-canned-text") || "");
  }

  // --- knowledge articles: "Insert text" / "Insert link" in the case's knowledge panel, each use recorded ----
  function articleInsert(button) {
    var tab = document.getElementById("tab-reply");
    if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
    var field = reply();
    var text = button.getAttribute("data-kb-text") || "";
    if (field && field.value && !/\s$/.test(field.value.slice(0, field.selectionStart || 0))) text = "\n\n" + text;
    if (!insertText(text)) return;
    var item = button.closest("[data-translation]");
    var list = button.closest("[data-use-url]");
    if (!item || !list) return;
    var body = new URLSearchParams({
      translation: item.getAttribute("data-translation"),
      how: button.getAttribute("data-kb-insert"),
      rank: item.getAttribute("data-rank") || ""
    });
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    fetch(list.getAttribute("data-use-url"), { method: "POST", body: body, headers: headers, credentials: "same-origin" })
      .then(function (answer) { if (answer.ok) item.classList.add("kb-article--used"); });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-canned-open]")) {
      event.preventDefault();
      if (picker() && picker().hidden) cannedOpen(); else cannedClose(true);
      return;
    }
    var option = event.target.closest("#canned-list [role=option]");
    if (option) { insert(option); return; }
    var article = event.target.closest("[data-kb-insert]");
    if (article) { event.preventDefault(); articleInsert(article); return; }
    var box = picker();
    if (box && !box.hidden && !box.contains(event.target)) cannedClose(false);
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id !== "canned-q") return;
    if (event.key === "ArrowDown") { event.preventDefault(); choose(1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); choose(-1); }
    else if (event.key === "Enter") { event.preventDefault(); insert(selected()); }
    else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); cannedClose(true); }
  }, true);

  document.addEventListener("DOMContentLoaded", draftLoad);
})();
