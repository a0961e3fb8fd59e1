// The portal works without this file. With htmx, links and forms swap
// only the main region; this moves focus there (to the first alert, else
// the heading) and tells screen readers what changed.
document.addEventListener("htmx:afterSettle", function () {
  var main = document.getElementById("main");
  if (!main) { return; }
  var target = main.querySelector("[role=alert]") || main.querySelector("h1") || main;
  if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
  target.focus();
  var live = document.getElementById("live");
  if (live) {
    var notice = main.querySelector(".notice");
    live.textContent = (notice || target).textContent.trim();
  }
});
