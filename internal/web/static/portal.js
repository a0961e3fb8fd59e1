// The portal works without this file. With htmx, links and forms swap
// only the main region; this moves focus there (to the first alert, else
// the heading) and tells screen readers what changed.
document.addEventListener("htmx:beforeSwap", function (evt) {
  // What a live part (and a part swapped with it, data-live-also) says
  // before it is read again, to tell whether it changed.
  var t = evt.detail.target;
  if (!t || !t.hasAttribute || !portico.isLive(t)) { return; }
  portico.before[t.id] = portico.words(t);
  var also = document.getElementById(t.getAttribute("data-live-also") || "");
  if (also) { portico.before[also.id] = portico.words(also); }
});
document.addEventListener("htmx:afterSettle", function (evt) {
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  var t = evt.target;
  if (t && t.hasAttribute && portico.isLive(t)) {
    // A part of the page read again because something changed: say what
    // changed, and leave the focus where the user has it.
    portico.say(live, portico.news(t));
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
// read themselves again (hx-trigger); a "hub" event names the one block
// of the status hub to read again ("portico:hub-<block>"). One stream
// per page.
var portico = {
  source: null,
  url: "",
  before: {},
  saying: false,
  isLive: function (el) { return el.hasAttribute("data-live") || el.hasAttribute("data-live-news"); },
  // words is an element's text without its freshness, which changes
  // with every read.
  words: function (el) {
    var copy = el.cloneNode(true);
    copy.querySelectorAll(".fresh").forEach(function (f) { f.remove(); });
    return copy.textContent.replace(/\s+/g, " ").trim();
  },
  // news is what to say of a live part read again, nothing when it says
  // what it said: the words it carries for a change (data-live-news), else
  // its change on its way (.pending), else all of it.
  news: function (el) {
    var before = portico.before[el.id];
    delete portico.before[el.id];
    if (before === portico.words(el)) { return ""; }
    if (el.hasAttribute("data-live-news")) { return el.getAttribute("data-live-news"); }
    return (el.querySelector(".pending") || el).textContent.trim();
  },
  // say announces msg; the parts read again in one swap (a case's status
  // and its history) are said together.
  say: function (live, msg) {
    if (!live || !msg) { return; }
    live.textContent = portico.saying ? live.textContent + " " + msg : msg;
    portico.saying = true;
    setTimeout(function () { portico.saying = false; }, 0);
  },
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
    source.addEventListener("hub", function (e) {
      if (/^[a-z_]+$/.test(e.data)) { document.body.dispatchEvent(new CustomEvent("portico:hub-" + e.data)); }
    });
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
