// WristRelay sign-up: fills the time zone fields from the browser (the page works without this).
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
})();
