/* Help centre: the "Chat with us" button opens the chat widget (shown only once the widget has loaded; without
   JavaScript the contact form link is there). Nothing else on the help centre needs JavaScript. */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-hc-chat]");
  if (!buttons.length) return;
  function launcher() { return document.querySelector(".tiski-chat .tiski-launcher"); }
  var tries = 0;
  (function wait() {
    if (launcher()) { buttons.forEach(function (b) { b.hidden = false; }); return; }
    if (tries++ < 40) setTimeout(wait, 250);
  })();
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { var l = launcher(); if (l) l.click(); });
  });
})();
