// Reloads an open incident's page every few seconds (the seconds are the data-refresh value of
// the page), unless the person is busy: a form field has focus or has been edited, or the tab
// is hidden. No framework, no inline script (the CSP forbids it).
(function () {
  "use strict";
  var marked = document.querySelector("[data-refresh]");
  if (!marked) {
    return;
  }
  var seconds = parseInt(marked.getAttribute("data-refresh"), 10);
  if (!(seconds > 0)) {
    return;
  }
  var edited = false;
  document.addEventListener("input", function () { edited = true; });
  document.addEventListener("change", function () { edited = true; });
  function busy() {
    var active = document.activeElement;
    var typing = active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    return edited || typing || document.visibilityState === "hidden";
  }
  window.setInterval(function () {
    if (!busy()) {
      window.location.reload();
    }
  }, seconds * 1000);
})();
