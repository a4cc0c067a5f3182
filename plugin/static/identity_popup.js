/* Sidecard: the "Sign in with Zendesk" popup hands its outcome to the card that opened it.
   Same origin only: the card and this page are both served from APP_URL. */
(function () {
  "use strict";
  var el = document.getElementById("sidecard-sign-in");
  if (!el) { return; }
  var message;
  try { message = JSON.parse(el.textContent || "{}"); } catch (e) { return; }
  el.parentNode.removeChild(el);
  if (window.opener && !window.opener.closed) {
    try { window.opener.postMessage(message, window.location.origin); } catch (e) { /* severed */ }
  }
  if (message.ok) { window.setTimeout(function () { window.close(); }, 800); }
})();
