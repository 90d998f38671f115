/* Tiski contact form embed. Put this where the form should appear on your site:

     <script src="https://support.example.com/contact/embed.js" async></script>

   Optional attributes on the script tag: data-channel="3" (a particular form), data-lang="fi" or "en",
   data-target="#contact" (an element to fill instead of the script's place), data-title (the iframe's
   accessible name). Your site's origin must be in TISKI_WEBFORM_EMBED_ORIGINS on the Tiski server. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src, document.baseURI);
  var src = new URL(script.getAttribute("data-channel") ? "/contact/" + encodeURIComponent(script.getAttribute("data-channel")) + "/" : "/contact/", base);
  src.searchParams.set("embed", "1");
  var lang = script.getAttribute("data-lang") || (document.documentElement.lang || "").slice(0, 2);
  if (lang === "fi" || lang === "en") src.searchParams.set("lang", lang);
  var frame = document.createElement("iframe");
  frame.src = src.href;
  frame.title = script.getAttribute("data-title") || (lang === "fi" ? "Yhteydenottolomake" : "Contact form");
  frame.loading = "lazy";
  frame.setAttribute("style", "display:block;width:100%;height:760px;border:0;background:transparent;overflow:hidden");
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== base.origin) return;
    var data = event.data || {};
    if (data.type === "tiski:webform:resize" && typeof data.height === "number" && data.height > 0) {
      frame.style.height = Math.min(Math.max(data.height, 200), 10000) + "px";
    } else if (data.type === "tiski:webform:page" && data.thanks && frame.getBoundingClientRect().top < 0) {
      frame.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
  var target = script.getAttribute("data-target") && document.querySelector(script.getAttribute("data-target"));
  if (target) target.appendChild(frame);
  else script.parentNode.insertBefore(frame, script.nextSibling);
})();
