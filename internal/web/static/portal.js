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

// Uploads: a form marked data-tus sends its file as a resumable upload
// (the tus protocol, /api/v1/uploads) in pieces, and after a dropped
// connection asks the server how much it has and goes on from there.
// When the last piece is through, the server checks and scans the whole
// file; the page then goes to data-done, or says why the file was refused
// beside the field, in the page's words (data-reasons). Without fetch, or
// without this file, the form posts the file as it stands.
portico.upload = {
  piece: 4 * 1024 * 1024,
  tries: 6,
  b64: function (s) { return btoa(unescape(encodeURIComponent(s))); },
  start: function (form, input, file) {
    var csrf = form.querySelector("[name=csrf_token]").value;
    var headers = function (more) {
      var h = { "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf };
      Object.keys(more || {}).forEach(function (k) { h[k] = more[k]; });
      return h;
    };
    var meta = [["object", form.getAttribute("data-object")], ["record", form.getAttribute("data-record")],
      ["filename", file.name], ["filetype", file.type]]
      .filter(function (kv) { return kv[1]; })
      .map(function (kv) { return kv[0] + " " + portico.upload.b64(kv[1]); }).join(",");
    var reasons = JSON.parse(form.getAttribute("data-reasons") || "{}");
    var button = form.querySelector("button[type=submit]");
    var live = document.getElementById("live");
    var url = "";
    var done = function (res) {
      if (res.ok) { window.location.assign(form.getAttribute("data-done")); return; }
      return res.json().then(function (body) { portico.upload.refused(form, input, reasons, body.error || {}); },
        function () { portico.upload.refused(form, input, reasons, {}); });
    };
    var wait = function (ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); };
    var resume = function (tries) {
      // A dropped line: ask where the server is, after a pause that grows.
      if (tries >= portico.upload.tries) { return Promise.reject(new Error("offline")); }
      return wait(500 * Math.pow(2, tries)).then(function () {
        return fetch(url, { method: "HEAD", headers: headers(), credentials: "same-origin" });
      }).then(function (res) {
        if (res.status !== 200) { return done(res); }
        return send(Number(res.headers.get("Upload-Offset")), tries + 1);
      }, function () { return resume(tries + 1); });
    };
    var send = function (offset, tries) {
      if (live && reasons.sending) {
        live.textContent = reasons.sending.replace("{percent}", Math.floor(100 * offset / file.size) + "%");
      }
      var end = Math.min(offset + portico.upload.piece, file.size);
      return fetch(url, {
        method: "PATCH", credentials: "same-origin", body: file.slice(offset, end),
        headers: headers({ "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" })
      }).then(function (res) {
        if (res.status === 204) { return send(Number(res.headers.get("Upload-Offset")), 0); }
        return done(res);
      }, function () { return resume(tries); });
    };
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("data-tus"), {
      method: "POST", credentials: "same-origin",
      headers: headers({ "Upload-Length": String(file.size), "Upload-Metadata": meta })
    }).then(function (res) {
      if (res.status !== 201) { return done(res); }
      // The path only: behind a proxy that ends TLS the server may name
      // itself with http://.
      url = new URL(res.headers.get("Location"), window.location.href).pathname;
      return send(0, 0);
    }).catch(function () {
      portico.upload.refused(form, input, reasons, { code: "incomplete" });
    }).then(function () {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    });
  },
  // refused says why the server refused the file: beside the field and in
  // the page's alert, which takes the focus, as a refused form's page does.
  refused: function (form, input, reasons, err) {
    var d = err.details || {};
    var reason = (reasons[err.code] || reasons.other || "").replace(/\{(\w+)\}/g, function (m, k) { return d[k] || m; });
    var id = input.id + "-error";
    var msg = document.getElementById(id);
    if (!msg) {
      msg = document.createElement("p");
      msg.className = "field-error";
      msg.id = id;
      input.insertAdjacentElement("afterend", msg);
    }
    msg.textContent = reason;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    var main = document.getElementById("main");
    var alert = document.getElementById("form-alert");
    if (!alert) {
      alert = document.createElement("div");
      alert.className = "alert";
      alert.id = "form-alert";
      alert.setAttribute("role", "alert");
      alert.setAttribute("tabindex", "-1");
      main.insertBefore(alert, main.firstChild);
    }
    alert.textContent = (reasons.refused || "{reason}").replace("{reason}", reason);
    alert.focus();
  }
};
document.addEventListener("submit", function (evt) {
  var form = evt.target;
  if (!form.hasAttribute || !form.hasAttribute("data-tus") || !window.fetch || !window.Promise) { return; }
  var input = form.querySelector("input[type=file]");
  var file = input && input.files && input.files[0];
  if (!file) { return; } // the server says a file is needed
  // Before htmx's own handler on the form: this one sends it.
  evt.preventDefault();
  evt.stopPropagation();
  portico.upload.start(form, input, file);
}, true);
