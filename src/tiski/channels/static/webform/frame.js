/* Inside an embedded Tiski form: tell the embedding page how tall the form is (see /contact/embed.js). */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "tiski:webform:resize", height: height }, "*");
    }
  }
  if ("ResizeObserver" in window) new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);
  report();
  window.parent.postMessage({ type: "tiski:webform:page", thanks: !!document.getElementById("wf-thanks") }, "*");
})();
