// The knowledge editor: turns each [data-kb-editor] textarea into a small rich-text area with a toolbar.
// The HTML goes back into the textarea on every change; the server sanitises whatever arrives.
(function () {
  "use strict";
  function enhance(root) {
    var source = root.querySelector("textarea");
    var bar = root.querySelector("[role=toolbar]");
    if (!source || !bar || root.dataset.kbReady) return;
    root.dataset.kbReady = "1";
    var area = document.createElement("div");
    area.className = "kbc-editor__area";
    area.contentEditable = "true";
    area.setAttribute("role", "textbox");
    area.setAttribute("aria-multiline", "true");
    area.setAttribute("aria-labelledby", source.id + "-label");
    var label = root.querySelector("label[for='" + source.id + "']");
    if (label) { label.id = source.id + "-label"; }
    area.innerHTML = source.value;
    source.hidden = true;
    bar.hidden = false;
    source.parentNode.insertBefore(area, source);
    function sync() { source.value = area.innerHTML; }
    area.addEventListener("input", sync);
    bar.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-cmd]");
      if (!button) return;
      var value = button.dataset.value || null;
      if (button.dataset.prompt) {
        value = window.prompt(button.dataset.prompt, "https://");
        if (!value) return;
      }
      area.focus();
      document.execCommand(button.dataset.cmd, false, value);
      sync();
    });
    var form = root.closest("form");
    if (form) form.addEventListener("submit", sync);
  }
  function init() { document.querySelectorAll("[data-kb-editor]").forEach(enhance); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
