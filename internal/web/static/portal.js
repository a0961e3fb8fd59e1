// The portal works without this file. With htmx, links and forms swap
// only the main region; this moves focus there (to the first alert, else
// the heading) and tells screen readers what changed.
document.addEventListener("htmx:afterSettle", function (evt) {
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  if (evt.target && evt.target.hasAttribute && evt.target.hasAttribute("data-live")) {
    // A part of the page read again because something changed: say what
    // it says now, and leave the focus where the user has it.
    if (live) {
      var news = evt.target.querySelector(".pending") || evt.target;
      live.textContent = news.textContent.trim();
    }
    return;
  }
  if (!main) { return; }
  var target = main.querySelector("[role=alert]") || main.querySelector("h1") || main;
  if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
  target.focus();
  if (live) {
    var notice = main.querySelector(".notice");
    live.textContent = (notice || target).textContent.trim();
  }
  portico.listen();
});

// Live updates: a part of a page marked data-live names the server's
// event stream for it (/events); each event ("action", "record",
// "resync") fires "portico:live" on the body, on which the marked parts
// read themselves again (hx-trigger). One stream per page.
var portico = {
  source: null,
  url: "",
  listen: function () {
    var el = document.querySelector("[data-live]");
    var url = el ? el.getAttribute("data-live") : "";
    if (url === portico.url) { return; }
    if (portico.source) { portico.source.close(); }
    portico.source = null;
    portico.url = url;
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    var changed = function () { document.body.dispatchEvent(new CustomEvent("portico:live")); };
    ["action", "record", "resync"].forEach(function (name) { source.addEventListener(name, changed); });
    portico.source = source;
  }
};
document.addEventListener("DOMContentLoaded", portico.listen);
window.addEventListener("pageshow", portico.listen);
window.addEventListener("pagehide", function () {
  if (portico.source) { portico.source.close(); }
  portico.source = null;
  portico.url = "";
});
