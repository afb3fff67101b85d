// The booking page shows times in the zone the CRM gave the buyer. The browser knows
// better: when the link names no zone, show the page again in the browser's own (the
// picker still changes it; without JavaScript the picker is the only way).
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  var url = new URL(window.location.href);
  var picker = document.querySelector("select[name=tz]");
  if (!zone || url.searchParams.has("tz") || !picker || picker.value === zone) {
    return;
  }
  var offered = Array.prototype.some.call(picker.options, function (option) {
    return option.value === zone;
  });
  if (offered) {
    url.searchParams.set("tz", zone);
    window.location.replace(url.toString());
  }
})();
