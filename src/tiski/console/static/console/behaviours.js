/* Small behaviours declared in the templates with data attributes, so that the pages need no inline
   script, no on…= handler and no hx-on (the Content Security Policy allows neither, and htmx runs with
   allowEval: false).

   data-remove-closest="SEL"   click: remove the nearest ancestor matching SEL (a rule's or macro's row)
   data-empty-closest="SEL"    click: empty the nearest ancestor matching SEL (an inline form's slot)
   data-close-panel="SEL"      click: empty the element SEL of the page (a side panel); a link does not navigate
   data-empty-on-escape        keydown Escape inside it: empty it
   data-reset-after-request    a form: reset it after its own htmx request succeeded
   data-submit-on-change       a control: submit its form on change (data-form-action: to that URL)
   data-select-on-focus        a text box: select its text on focus (a link to copy)
   data-no-submit              a form: never submitted by the browser (htmx sends it)
   data-rule-trigger           a rule's trigger select: show [data-rule-status-for] for "status_for" only
*/
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var remover = target.closest("[data-remove-closest]");
    if (remover) {
      var row = remover.closest(remover.getAttribute("data-remove-closest"));
      if (row) row.remove();
      return;
    }
    var local = target.closest("[data-empty-closest]");
    if (local) {
      var slot = local.closest(local.getAttribute("data-empty-closest"));
      if (slot) slot.replaceChildren();
      return;
    }
    var emptier = target.closest("[data-close-panel]");
    if (emptier) {
      event.preventDefault();
      var panel = document.querySelector(emptier.getAttribute("data-close-panel"));
      if (panel) panel.replaceChildren();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !(event.target instanceof Element)) return;
    var box = event.target.closest("[data-empty-on-escape]");
    if (box) box.replaceChildren();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-reset-after-request")) return;
    if (event.detail && event.detail.successful && event.detail.elt === form) form.reset();
  });

  document.addEventListener("change", function (event) {
    var control = event.target instanceof Element ? event.target : null;
    if (!control) return;
    if (control.matches("[data-submit-on-change]") && control.form) {
      var action = control.getAttribute("data-form-action");
      if (action) control.form.action = action;
      control.form.submit();
      return;
    }
    if (control.matches("[data-rule-trigger]")) {
      var extra = document.querySelector("[data-rule-status-for]");
      if (extra) extra.hidden = control.value !== "status_for";
    }
  });

  document.addEventListener("focusin", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.hasAttribute("data-select-on-focus")) box.select();
  });

  document.addEventListener("submit", function (event) {
    if (event.target instanceof Element && event.target.matches("form[data-no-submit]")) event.preventDefault();
  });

  /* Live swaps replace whole tables on the supervisor pages: give the keyboard focus back to the control
     that had it. */
  var focused = null;
  document.addEventListener("htmx:oobBeforeSwap", function () {
    var active = document.activeElement;
    if (active && active.id && active !== document.body) focused = active.id;
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!focused) return;
    var active = document.activeElement;
    if (!active || active === document.body) {
      var again = document.getElementById(focused);
      if (again) again.focus({ preventScroll: true });
    }
    focused = null;
  });
})();
