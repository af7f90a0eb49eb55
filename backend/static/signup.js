// WristRelay sign-up: fills the time zone fields from the browser (the page works without this),
// and reloads the page when the wearer comes back from the X tab.
(function () {
  "use strict";
  var tz = "";
  try {
    tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    tz = "";
  }
  if (tz) {
    var fields = document.querySelectorAll('input[name="tz"], input[data-tz-fill]');
    for (var i = 0; i < fields.length; i++) if (!fields[i].value) fields[i].value = tz;
  }
  var away = false;
  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest ? e.target.closest("a[data-reload-on-return]") : null;
    if (a) away = true;
  });
  document.addEventListener("visibilitychange", function () {
    if (away && document.visibilityState === "visible") {
      away = false;
      location.reload();
    }
  });
})();
