/* Tiski chat widget: one <script src=".../static/chat/widget.js" data-channel="ID" data-lang="fi" async>.
   No framework. Talks to /ws/chat/<ID>/ (protocol: tiski/channels/chat/consumers.py). Keeps the chat's token
   in localStorage, so a reload or a dropped connection resumes the same chat; messages typed while offline
   are kept and resent with the same id (stored once). */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel][src*='chat/widget.js']");
  if (!script || window.__tiskiChat) return;
  window.__tiskiChat = true;
  var conf = window.TiskiChat || {};
  var channelId = script.getAttribute("data-channel") || conf.channel;
  var src = new URL(script.src, location.href);
  var base = src.origin + src.pathname.replace(/static\/chat\/widget\.js$/, "");
  var lang = (script.getAttribute("data-lang") || conf.lang || document.documentElement.lang || "en").slice(0, 2);
  lang = lang === "fi" ? "fi" : "en";
  var identityToken = script.getAttribute("data-identity-token") || conf.identityToken || "";
  var KEY = "tiski-chat-" + channelId;
  var T = {
    en: {
      open: "Chat with us", title: "Customer service", close: "Close chat", send: "Send", attach: "Attach a file",
      input: "Your message", you: "You", agentTyping: "{name} is typing…", someone: "Customer service",
      online: "We are online", offline: "No one is online right now", queue: "You are number {n} in the queue.",
      wait: "Expected wait about {m} min.", waitSoon: "An agent will be with you shortly.",
      taken: "An agent is answering you.", end: "End chat", ended: "The chat has ended.", restart: "Start a new chat",
      transcript: "Email me the transcript", email: "Email", name: "Name", topic: "Topic", required: "required",
      optional: "optional", start: "Start chat", prechatIntro: "Tell us who you are and we will be right with you.",
      offlineIntro: "Leave us a message and we will answer by email, or ask us to call you back.",
      leave: "Leave a message", callback: "Request a callback", message: "Message", phone: "Phone number",
      time: "Preferred time", submit: "Send", sendTranscript: "Send transcript", reconnecting: "Reconnecting…",
      notSent: "not sent yet", identityFailed: "We could not sign you in automatically; please fill in the form.",
      chatAnyway: "Chat anyway", file: "file", uploading: "Sending the file…",
      suggest: "Articles that may help", suggestNote: "Opens in a new tab; your text stays here."
    },
    fi: {
      open: "Chattaa kanssamme", title: "Asiakaspalvelu", close: "Sulje chat", send: "Lähetä", attach: "Liitä tiedosto",
      input: "Viestisi", you: "Sinä", agentTyping: "{name} kirjoittaa…", someone: "Asiakaspalvelu",
      online: "Olemme paikalla", offline: "Kukaan ei ole juuri nyt paikalla", queue: "Olet jonossa {n}.",
      wait: "Arvioitu odotus noin {m} min.", waitSoon: "Asiakaspalvelija vastaa pian.",
      taken: "Asiakaspalvelija vastaa sinulle.", end: "Lopeta chat", ended: "Keskustelu on päättynyt.",
      restart: "Aloita uusi keskustelu", transcript: "Lähetä keskustelu sähköpostiini", email: "Sähköposti",
      name: "Nimi", topic: "Aihe", required: "pakollinen", optional: "vapaaehtoinen", start: "Aloita chat",
      prechatIntro: "Kerro, kuka olet, niin olemme pian kanssasi.",
      offlineIntro: "Jätä viesti, niin vastaamme sähköpostitse, tai pyydä meitä soittamaan sinulle.",
      leave: "Jätä viesti", callback: "Pyydä soittoa", message: "Viesti", phone: "Puhelinnumero",
      time: "Toivottu soittoaika", submit: "Lähetä", sendTranscript: "Lähetä keskustelu", reconnecting: "Yhdistetään uudelleen…",
      notSent: "ei vielä lähetetty", identityFailed: "Automaattinen tunnistus ei onnistunut; täytä lomake.",
      chatAnyway: "Chattaa silti", file: "tiedosto", uploading: "Lähetetään tiedostoa…",
      suggest: "Artikkeleita, jotka voivat auttaa", suggestNote: "Avautuu uuteen välilehteen; tekstisi pysyy tässä."
    }
  }[lang];

  function t(key, values) {
    return T[key].replace(/\{(\w+)\}/g, function (_, name) { return values && values[name] != null ? values[name] : ""; });
  }
  function store(name, value) {
    try { if (value == null) localStorage.removeItem(KEY + "-" + name); else localStorage.setItem(KEY + "-" + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function load(name) {
    try { return JSON.parse(localStorage.getItem(KEY + "-" + name) || "null"); } catch (e) { return null; }
  }
  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), attrs[name]);
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function field(id, label, type, required, extra) {
    var input = el(type === "textarea" ? "textarea" : "input", Object.assign({ id: "tiski-" + id, name: id }, type === "textarea" ? { rows: "3" } : { type: type }, required ? { required: "required" } : {}, extra || {}));
    return el("div", { "class": "tiski-field" }, [
      el("label", { "for": "tiski-" + id, text: label + (required ? "" : " (" + T.optional + ")") }), input
    ]);
  }

  // Help-centre suggestions while the customer types in the pre-chat and offline forms (deflection, counted
  // under one id per browser tab: suggestions shown, article opened, chat started or message left anyway).
  var deflection = null;
  try { deflection = sessionStorage.getItem(KEY + "-deflection"); } catch (e) { /* ignore */ }
  if (!deflection) { deflection = uid().replace(/[^A-Za-z0-9_-]/g, ""); try { sessionStorage.setItem(KEY + "-deflection", deflection); } catch (e) { /* ignore */ } }
  function suggestions(inputs) {
    var list = el("ul", { "class": "tiski-suggest__list" });
    var box = el("div", { "class": "tiski-suggest", "aria-live": "polite", hidden: "hidden" }, [
      el("p", { "class": "tiski-suggest__title", text: T.suggest }), list, el("p", { "class": "tiski-suggest__note", text: T.suggestNote })
    ]);
    var timer = null, last = "", sequence = 0;
    function show(articles) {
      list.textContent = "";
      articles.forEach(function (a) {
        list.appendChild(el("li", {}, [el("a", { href: a.url, target: "_blank", rel: "noopener" }, [
          el("span", { "class": "tiski-suggest__name", text: a.title }), a.snippet ? el("span", { "class": "tiski-suggest__snippet", text: a.snippet }) : null
        ])]));
      });
      box.hidden = !articles.length;
    }
    function run() {
      var q = inputs.map(function (i) { return i.value; }).join(" ").replace(/\s+/g, " ").trim().slice(0, 200);
      if (q === last) return;
      last = q;
      var mine = ++sequence;
      if (q.length < 3 || !window.fetch) { show([]); return; }
      var url = base + "help/" + lang + "/suggest?channel=chat&session=" + encodeURIComponent(deflection) + "&q=" + encodeURIComponent(q);
      fetch(url).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && mine === sequence) show(data.articles || []); }).catch(function () { /* only a help */ });
    }
    inputs.forEach(function (i) { i.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 450); }); });
    return box;
  }

  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    clip: "M16.5 6.5l-7.8 7.8a1.8 1.8 0 0 0 2.5 2.5l7.8-7.8a3.5 3.5 0 0 0-5-5l-7.8 7.8a5.3 5.3 0 0 0 7.5 7.5l6.4-6.4"
  };
  function icon(name) {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "tiski-icon");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  var css = el("link", { rel: "stylesheet", href: base + "static/chat/widget.css" });
  document.head.appendChild(css);

  // --- the DOM -----------------------------------------------------------------------------------------
  var launcher = el("button", { type: "button", "class": "tiski-launcher", "aria-expanded": "false", "aria-controls": "tiski-panel" }, [
    icon("chat"), el("span", { text: T.open })
  ]);
  var status = el("p", { "class": "tiski-status", id: "tiski-status", "aria-live": "polite" });
  var log = el("ol", { "class": "tiski-log", role: "log", "aria-live": "polite", "aria-label": T.title, tabindex: "0" });
  var typing = el("p", { "class": "tiski-typing", "aria-live": "polite" });
  var errorBox = el("p", { "class": "tiski-error", role: "alert", hidden: "hidden" });
  var input = el("textarea", { id: "tiski-input", rows: "2", "class": "tiski-input", placeholder: T.input });
  var fileInput = el("input", { type: "file", id: "tiski-file", "class": "tiski-file", accept: "image/*,.pdf,.txt,.csv,.doc,.docx,.odt" });
  var composer = el("form", { "class": "tiski-composer", hidden: "hidden" }, [
    el("label", { "for": "tiski-input", "class": "tiski-sr", text: T.input }), input,
    el("label", { "for": "tiski-file", "class": "tiski-attach", title: T.attach }, [
      icon("clip"), el("span", { "class": "tiski-sr", text: T.attach })
    ]), fileInput,
    el("button", { type: "submit", "class": "tiski-send", text: T.send })
  ]);
  var transcriptForm = el("form", { "class": "tiski-transcript", hidden: "hidden" }, [
    field("transcript-email", T.email, "email", false), el("button", { type: "submit", "class": "tiski-secondary", text: T.sendTranscript })
  ]);
  var tools = el("div", { "class": "tiski-tools", hidden: "hidden" }, [
    el("button", { type: "button", "class": "tiski-link", text: T.transcript, onclick: function () {
      transcriptForm.hidden = !transcriptForm.hidden; if (!transcriptForm.hidden) transcriptForm.querySelector("input").focus();
    } }),
    el("button", { type: "button", "class": "tiski-link", text: T.end, onclick: function () { send({ type: "end" }); } })
  ]);
  var prechat = el("form", { "class": "tiski-form tiski-prechat", hidden: "hidden" }, [
    el("p", { text: T.prechatIntro }), el("p", { "class": "tiski-note", hidden: "hidden" }),
    field("name", T.name, "text", false, { autocomplete: "name" }),
    field("email", T.email, "email", false, { autocomplete: "email" }),
    field("topic", T.topic, "text", false),
    el("button", { type: "submit", "class": "tiski-send", text: T.start })
  ]);
  prechat.insertBefore(suggestions([prechat.querySelector("#tiski-topic")]), prechat.lastChild);
  var leaveForm = el("form", { "class": "tiski-form tiski-leave" }, [
    field("leave-name", T.name, "text", false, { autocomplete: "name" }),
    field("leave-email", T.email, "email", true, { autocomplete: "email" }), field("leave-text", T.message, "textarea", true),
    el("button", { type: "submit", "class": "tiski-send", text: T.submit })
  ]);
  leaveForm.insertBefore(suggestions([leaveForm.querySelector("#tiski-leave-text")]), leaveForm.lastChild);
  var callbackForm = el("form", { "class": "tiski-form tiski-callback" }, [
    field("cb-name", T.name, "text", false, { autocomplete: "name" }),
    field("cb-phone", T.phone, "tel", true, { autocomplete: "tel" }), field("cb-topic", T.topic, "text", false),
    field("cb-time", T.time, "text", false),
    el("button", { type: "submit", "class": "tiski-send", text: T.submit })
  ]);
  callbackForm.insertBefore(suggestions([callbackForm.querySelector("#tiski-cb-topic")]), callbackForm.lastChild);
  callbackForm.hidden = true;
  function choose(showLeave) {
    leaveForm.hidden = !showLeave; callbackForm.hidden = showLeave;
    leaveTab.setAttribute("aria-pressed", String(showLeave)); callbackTab.setAttribute("aria-pressed", String(!showLeave));
    (showLeave ? leaveForm : callbackForm).querySelector("input").focus();
  }
  var leaveTab = el("button", { type: "button", "class": "tiski-tab", "aria-pressed": "true", text: T.leave, onclick: function () { choose(true); } });
  var callbackTab = el("button", { type: "button", "class": "tiski-tab", "aria-pressed": "false", text: T.callback, onclick: function () { choose(false); } });
  var offline = el("div", { "class": "tiski-offline", hidden: "hidden" }, [
    el("p", { text: T.offlineIntro }), el("div", { "class": "tiski-tabs", role: "group" }, [leaveTab, callbackTab]), leaveForm, callbackForm,
    el("button", { type: "button", "class": "tiski-link", text: T.chatAnyway, onclick: function () { chatAnyway = true; render(); } })
  ]);
  var restart = el("button", { type: "button", "class": "tiski-send tiski-restart", hidden: "hidden", text: T.restart, onclick: function () {
    state.ended = false; restart.hidden = true; log.textContent = ""; shown = {}; hello(); } });
  var closeButton = el("button", { type: "button", "class": "tiski-close", "aria-label": T.close, text: "×" });
  var panel = el("section", { id: "tiski-panel", "class": "tiski-panel", role: "dialog", "aria-labelledby": "tiski-title", hidden: "hidden" }, [
    el("header", { "class": "tiski-header" }, [
      el("div", {}, [el("h2", { id: "tiski-title", text: T.title }), status]), closeButton
    ]),
    el("div", { "class": "tiski-body" }, [log, typing, prechat, offline, restart]),
    errorBox, el("div", { "class": "tiski-footer" }, [composer, tools, transcriptForm])
  ]);
  var root = el("div", { "class": "tiski-chat", lang: lang }, [panel, launcher]);
  function mount() { document.body.appendChild(root); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // --- state and rendering -------------------------------------------------------------------------------
  // A chat belongs to who was signed in at the shop: after a logout or another login on this browser, the
  // stored chat is not resumed (on a shared computer the next person must not see it).
  var who = "";
  try { who = identityToken ? JSON.parse(atob(identityToken.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))).email || "" : ""; } catch (e) { who = "?"; }
  if ((load("who") || "") !== who) { store("token", null); store("pending", null); }
  store("who", who);
  var state = { token: load("token"), welcome: null, online: null, queue: null, ended: false, connected: false };
  var pending = load("pending") || [];
  var shown = {};
  var chatAnyway = false;
  var identityFailed = false;
  var ws = null, retry = 0, retryTimer = null, typingTimer = null, typingOn = false, agentTypingTimer = null;

  function render() {
    var w = state.welcome;
    var needPrechat = w && !state.token && w.prechat && w.prechat.enabled && !state.ended;
    var hasHistory = log.querySelector(".tiski-customer, .tiski-agent") !== null;
    var showOffline = w && w.online === false && !hasHistory && !state.ended && !chatAnyway && w.offline && w.offline.leave_message;
    prechat.hidden = !needPrechat || showOffline;
    if (needPrechat) {
      prechat.querySelector("#tiski-email").required = !!w.prechat.require_email;
      prechat.querySelector("label[for=tiski-email]").textContent = T.email + (w.prechat.require_email ? "" : " (" + T.optional + ")");
      var note = prechat.querySelector(".tiski-note"); note.hidden = !identityFailed; note.textContent = T.identityFailed;
    }
    offline.hidden = !showOffline;
    var chatting = w && !needPrechat && !showOffline && !state.ended;
    composer.hidden = !chatting;
    tools.hidden = !(chatting && state.token && hasHistory);
    if (tools.hidden) transcriptForm.hidden = true;
    restart.hidden = !state.ended;
    var line = [];
    if (!state.connected && w) line.push(T.reconnecting);
    else if (state.ended) line.push(T.ended);
    else if (state.queue && state.queue.position) {
      line.push(t("queue", { n: state.queue.position }));
      var m = Math.ceil((state.queue.expected_wait_s || 0) / 60);
      line.push(m > 0 ? t("wait", { m: m }) : T.waitSoon);
    } else if (state.queue && state.queue.position === null) line.push(T.taken);
    else if (state.online != null) line.push(state.online ? T.online : T.offline);
    status.textContent = line.join(" ");
  }

  function showMessage(m) {
    var key = m.client_id || m.id;
    var existing = shown[key] || shown[m.id];
    var item = el("li", { "class": "tiski-msg tiski-" + m.author }, [
      el("span", { "class": "tiski-who", text: m.author === "customer" ? T.you : (m.name || T.someone) }),
      el("span", { "class": "tiski-text", text: m.text || "" })
    ]);
    (m.attachments || []).forEach(function (a) {
      var link = el("a", { href: base.replace(/\/$/, "") + a.url + "?token=" + encodeURIComponent(state.token || ""), text: a.name, target: "_blank", rel: "noopener" });
      item.appendChild(el("span", { "class": "tiski-file-link" }, [icon("clip"), link]));
    });
    if (m.at) item.appendChild(el("time", { datetime: m.at, text: new Date(m.at).toLocaleTimeString(lang === "fi" ? "fi-FI" : "en-GB", { hour: "2-digit", minute: "2-digit" }) }));
    if (m.pending) { item.classList.add("tiski-pending"); item.appendChild(el("span", { "class": "tiski-sr", text: " (" + T.notSent + ")" })); }
    if (existing) log.replaceChild(item, existing); else log.appendChild(item);
    shown[key] = item; shown[m.id] = item;
    log.scrollTop = log.scrollHeight;
  }

  // The satisfaction survey's end card (tiski.surveys): the scale as buttons, an optional comment, sent on the socket.
  function showSurvey(s) {
    if (log.querySelector(".tiski-survey[data-token='" + s.token + "']")) return;
    var chosen = null;
    var buttons = [];
    var scale = el("div", { "class": "tiski-survey-scale" + (s.high - s.low > 5 ? " tiski-survey-scale--wide" : ""), role: "group", "aria-label": s.question });
    for (var n = s.low; n <= s.high; n++) {
      (function (score) {
        var b = el("button", { type: "button", "class": "tiski-survey-score", "aria-pressed": "false", text: String(score), onclick: function () {
          chosen = score; buttons.forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); }); sendButton.disabled = false;
        } });
        buttons.push(b); scale.appendChild(b);
      })(n);
    }
    var comment = el("textarea", { id: "tiski-survey-comment", rows: "2", "class": "tiski-input" });
    var sendButton = el("button", { type: "button", "class": "tiski-send", text: s.send, disabled: "disabled", onclick: function () {
      if (chosen === null) return;
      send({ type: "survey_answer", token: s.token, score: chosen, comment: comment.value });
    } });
    var card = el("li", { "class": "tiski-msg tiski-survey", "data-token": s.token }, [
      el("p", { "class": "tiski-survey-question", text: s.question }), scale,
      el("p", { "class": "tiski-survey-ends" }, [el("span", { text: s.low + " = " + s.low_label }), el("span", { text: s.high + " = " + s.high_label })]),
      el("label", { "for": "tiski-survey-comment", text: s.comment_label }), comment, sendButton
    ]);
    log.appendChild(card);
    log.scrollTop = log.scrollHeight;
  }

  function showError(text) {
    errorBox.textContent = text; errorBox.hidden = !text;
    if (text) setTimeout(function () { if (errorBox.textContent === text) { errorBox.hidden = true; } }, 8000);
  }

  // --- the socket ----------------------------------------------------------------------------------------
  function connect() {
    if (ws && ws.readyState <= 1) return;
    var url = base.replace(/^http/, "ws") + "ws/chat/" + channelId + "/";
    ws = new WebSocket(url);
    ws.onopen = function () { state.connected = true; hello(); };  // the pause resets at "welcome": a socket
    // refused after opening (too many from one address, close 4429) waits longer each time
    ws.onmessage = function (event) { var data; try { data = JSON.parse(event.data); } catch (e) { return; } receive(data); };
    ws.onclose = function () {
      state.connected = false; render();
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, Math.min(1000 * Math.pow(2, retry++), 15000));
    };
  }
  function send(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function hello(prechatData) {
    var frame = { type: "hello", lang: lang, token: state.token || undefined };
    if (!state.token && identityToken && !identityFailed) frame.identity_token = identityToken;
    if (prechatData) { frame.prechat = prechatData; frame.deflection = deflection; }
    send(frame);
  }
  function flush() {
    pending.forEach(function (m) { send({ type: "message", id: m.id, text: m.text }); });
  }
  function receive(data) {
    switch (data.type) {
      case "welcome":
        retry = 0;
        state.welcome = data; state.online = data.online;
        if (data.token) { state.token = data.token; store("token", data.token); }
        (data.history || []).forEach(showMessage);
        pending.forEach(function (m) { if (!shown[m.id] || shown[m.id].classList.contains("tiski-pending")) showMessage({ id: m.id, client_id: m.id, author: "customer", text: m.text, pending: true }); });
        if (state.token) flush();
        render();
        // The form or the composer appears only now: move the focus there unless the customer is elsewhere.
        if (!panel.hidden && (document.activeElement === closeButton || !panel.contains(document.activeElement))) focusFirst();
        break;
      case "message":
        if (data.client_id) { pending = pending.filter(function (m) { return m.id !== data.client_id; }); store("pending", pending); }
        showMessage(data);
        if (data.author === "agent") typing.textContent = "";
        break;
      case "typing":
        typing.textContent = data.on ? t("agentTyping", { name: data.name || T.someone }) : "";
        clearTimeout(agentTypingTimer);
        if (data.on) agentTypingTimer = setTimeout(function () { typing.textContent = ""; }, 15000);
        break;
      case "queue": state.queue = data; break;
      case "online": state.online = data.online; if (state.welcome) state.welcome.online = data.online; break;
      case "notice": showMessage({ id: "n" + Date.now(), author: "system", text: data.text }); break;
      case "survey": showSurvey(data); break;
      case "survey_thanks":
        log.querySelectorAll(".tiski-survey").forEach(function (card) {
          card.textContent = ""; card.appendChild(el("p", { "class": "tiski-survey-thanks", text: data.text }));
        });
        break;
      case "ended":
        state.ended = true; state.token = null; state.queue = null; store("token", null); store("pending", null); pending = [];
        break;
      case "error":
        if (data.code === "identity_invalid" || data.code === "identity_expired") { identityFailed = true; break; }
        if (data.code === "session_unknown" || data.code === "session_ended") { state.token = null; store("token", null); }
        showError(data.text);
        break;
    }
    render();
  }

  // --- user actions --------------------------------------------------------------------------------------
  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.hidden = open;
    try { sessionStorage.setItem(KEY + "-open", open ? "1" : ""); } catch (e) { /* ignore */ }
    if (open) {
      connect(); render();
      setTimeout(focusFirst, 50);
    } else launcher.focus();
  }
  function focusFirst() {
    var target = [prechat, offline, composer].filter(function (n) { return !n.hidden; })[0];
    var focusable = target && target.querySelector("input, textarea");
    (focusable || closeButton).focus();
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") setOpen(false); });

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var m = { id: uid(), text: text };
    pending.push(m); store("pending", pending);
    showMessage({ id: m.id, client_id: m.id, author: "customer", text: text, pending: true });
    input.value = "";
    stopTyping();
    send({ type: "message", id: m.id, text: text });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit")); }
  });
  function stopTyping() { clearTimeout(typingTimer); if (typingOn) { typingOn = false; send({ type: "typing", on: false }); } }
  input.addEventListener("input", function () {
    if (!typingOn && input.value.trim()) { typingOn = true; send({ type: "typing", on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file || !state.token) return;
    var body = new FormData();
    body.append("token", state.token); body.append("id", uid()); body.append("file", file);
    status.textContent = T.uploading;
    fetch(base + "chat/" + channelId + "/attachments/", { method: "POST", body: body }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) showError(data.text || response.statusText);
        else if (!state.welcome || !state.welcome.case) hello(); // the file opened the case: resume to follow it
      });
    }).catch(function (error) { showError(String(error)); }).then(function () { fileInput.value = ""; render(); });
  });
  prechat.addEventListener("submit", function (event) {
    event.preventDefault();
    hello({ name: prechat.elements.name.value, email: prechat.elements.email.value, topic: prechat.elements.topic.value });
  });
  transcriptForm.addEventListener("submit", function (event) {
    event.preventDefault();
    send({ type: "transcript", email: transcriptForm.querySelector("input").value || undefined });
    transcriptForm.hidden = true;
  });
  leaveForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var f = leaveForm.elements;
    if (send({ type: "leave_message", id: uid(), deflection: deflection, name: f["leave-name"].value, email: f["leave-email"].value, text: f["leave-text"].value })) leaveForm.reset();
  });
  callbackForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var f = callbackForm.elements;
    if (send({ type: "callback", id: uid(), deflection: deflection, name: f["cb-name"].value, phone: f["cb-phone"].value, topic: f["cb-topic"].value, time: f["cb-time"].value })) callbackForm.reset();
  });

  // A chat in progress comes back after a reload: reconnect at once, reopen the panel if it was open.
  var wasOpen = false;
  try { wasOpen = sessionStorage.getItem(KEY + "-open") === "1"; } catch (e) { /* ignore */ }
  if (state.token || wasOpen) connect();
  function restore() { if (wasOpen) setOpen(true); }
  if (document.body) restore(); else document.addEventListener("DOMContentLoaded", restore);
})();
