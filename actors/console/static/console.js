// GoFlow console: confirmations and live updates. Hand-written; the pages work without it.
"use strict";
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { ev.preventDefault(); }
});

// A running instance's page: fetch its live part every data-live ms and swap it in, until it ends.
(function () {
  var every = parseInt(document.body.getAttribute("data-live") || "0", 10);
  if (!every) { return; }
  function tick() {
    var url = window.location.pathname + "?fragment=live";
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.text();
    }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var fresh = doc.getElementById("live");
      var old = document.getElementById("live");
      if (fresh && old) {
        var openNow = Array.prototype.map.call(old.querySelectorAll("details"), function (d) { return d.open; });
        old.replaceWith(fresh);
        Array.prototype.forEach.call(fresh.querySelectorAll("details"), function (d, i) {
          if (i < openNow.length) { d.open = openNow[i]; }
        });
        if (fresh.getAttribute("data-final") === "1") { return; }
      }
      window.setTimeout(tick, every);
    }).catch(function () { window.setTimeout(tick, every * 2); });
  }
  window.setTimeout(tick, every);
})();
