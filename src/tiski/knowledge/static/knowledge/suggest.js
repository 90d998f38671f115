/* Help-centre suggestions on Tiski's own forms (the web form): while the customer types, up to three public
   articles from /help/<lang>/suggest, debounced. Markup:
     <section data-help-suggest data-url="/help/fi/suggest" data-channel="webform" data-fields="#id_message" hidden>
       <ul class="…__list"></ul></section>
   inside a form with <input type="hidden" name="deflection">: the id under which the suggestions shown, the
   articles opened and the form sent anyway are counted. Links open in a new tab so the text typed stays. */
(function () {
  "use strict";
  var box = document.querySelector("[data-help-suggest]");
  if (!box || !window.fetch || !window.URLSearchParams) return;
  var form = box.closest("form");
  var list = box.querySelector("ul");
  var hidden = form && form.querySelector("input[name=deflection]");
  if (!form || !list || !hidden) return;
  var DEBOUNCE_MS = 450, MIN_CHARS = 3, MAX_CHARS = 200;
  var session = hidden.value;
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(session)) {
    session = (window.crypto && crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2, 14)).replace(/[^A-Za-z0-9_-]/g, "");
    hidden.value = session;
  }
  var fields = (box.getAttribute("data-fields") || "").split(",").map(function (s) { return form.querySelector(s.trim()); }).filter(Boolean);
  var timer = null, last = "", sequence = 0;

  function query() {
    return fields.map(function (f) { return f.value; }).join(" ").replace(/\s+/g, " ").trim().slice(0, MAX_CHARS);
  }
  function render(articles) {
    list.textContent = "";
    articles.forEach(function (a) {
      var link = document.createElement("a");
      link.href = a.url; link.target = "_blank"; link.rel = "noopener";
      var title = document.createElement("span"); title.className = "wf-suggest__link-title"; title.textContent = a.title;
      link.appendChild(title);
      var item = document.createElement("li");
      item.appendChild(link);
      if (a.snippet) { var p = document.createElement("span"); p.className = "wf-suggest__snippet"; p.textContent = a.snippet; link.appendChild(p); }
      list.appendChild(item);
    });
    box.hidden = articles.length === 0;
  }
  function run() {
    var q = query();
    if (q === last) return;
    last = q;
    if (q.length < MIN_CHARS) { sequence++; render([]); return; }
    var mine = ++sequence;
    var params = new URLSearchParams({ q: q, session: session, channel: box.getAttribute("data-channel") || "webform" });
    fetch(box.getAttribute("data-url") + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && mine === sequence) render(data.articles || []); })
      .catch(function () { /* suggestions are a help, never in the way */ });
  }
  fields.forEach(function (field) {
    field.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, DEBOUNCE_MS); });
  });
  if (query().length >= MIN_CHARS) run(); // the form came back with text (an error): suggest again
})();
