/* Sidecard card: who is signed in (verified or asserted) and "Verify it's you".
   Plain JS, no build step. Runs before card.js (both deferred; this one comes first) so it can
   read the session token from the boot JSON. When the session becomes verified it announces
   the new token with a `sidecard:session` event on document ({token, expires_in, agent}),
   so card.js can use it from then on. The device credential lives in this frame's
   localStorage, keyed by connection; never a cookie. */
(function () {
  "use strict";
  var root = document.getElementById("sc-identity");
  var bootEl = document.getElementById("sidecard-boot");
  if (!root || !bootEl) { return; }
  var boot;
  try { boot = JSON.parse(bootEl.textContent || "{}"); } catch (e) { return; }
  var token = boot.token;
  if (!token) { return; }
  var verifyUrl = root.getAttribute("data-verify-url") || "/api/v1/sessions/verify";

  var CREDENTIAL_PREFIX = "sidecard.device-credential.";
  var DEVICE_KEY = "sidecard.device-id";
  var state = { agent: null, connection: null, methods: {}, demo: false, zendeskState: null };

  function q(name) { return root.querySelector("[data-identity-" + name + "]"); }
  function show(node, visible) { if (node) { node.hidden = !visible; } }

  document.addEventListener("sidecard:session", function (event) {
    if (event.detail && event.detail.token) { token = event.detail.token; }
  });

  /* --- storage ------------------------------------------------------------------------- */
  function storage() {
    try { var s = window.localStorage; s.getItem(DEVICE_KEY); return s; } catch (e) { return null; }
  }

  function randomId() {
    var bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += ("0" + bytes[i].toString(16)).slice(-2); }
    return out;
  }

  function deviceId() {
    var s = storage();
    if (!s) { return null; }
    var id = s.getItem(DEVICE_KEY);
    if (!id || !/^[A-Za-z0-9_-]{8,128}$/.test(id)) {
      id = randomId();
      try { s.setItem(DEVICE_KEY, id); } catch (e) { return null; }
    }
    return id;
  }

  function credentialKey() { return CREDENTIAL_PREFIX + (state.connection ? state.connection.id : ""); }

  function storedCredential() {
    var s = storage();
    if (!s || !state.connection) { return null; }
    var saved = null;
    try { saved = JSON.parse(s.getItem(credentialKey()) || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.credential || (saved.expires_at && saved.expires_at <= Date.now())) {
      forgetCredential(); /* unreadable or expired */
      return null;
    }
    // Another agent's credential on a shared device: leave it for them, don't present it.
    return saved.email === state.agent.email ? saved : null;
  }

  function saveCredential(credential, expiresIn) {
    var s = storage();
    if (!s || !credential) { return; }
    try {
      s.setItem(credentialKey(), JSON.stringify({
        credential: credential, email: state.agent.email,
        expires_at: Date.now() + (expiresIn || 0) * 1000
      }));
    } catch (e) { /* storage full or blocked: the agent verifies again next time */ }
  }

  function forgetCredential() {
    var s = storage();
    if (s && state.connection) { try { s.removeItem(credentialKey()); } catch (e) { /* ignore */ } }
  }

  /* --- API ----------------------------------------------------------------------------- */
  function call(method, body) {
    return fetch(verifyUrl, {
      method: method,
      headers: { "Authorization": "Bearer " + token, "Accept": "application/json",
                 "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        return { ok: res.ok, status: res.status, json: json || {},
                 retryAfter: res.headers.get("Retry-After") };
      });
    }, function () { return { ok: false, status: 0, json: {} }; });
  }

  /* --- rendering ----------------------------------------------------------------------- */
  function error(text) {
    var node = q("error");
    node.textContent = text || "";
    show(node, !!text);
  }

  function render() {
    var agent = state.agent;
    var verified = agent.identity === "verified";
    q("email").textContent = agent.email;
    var badge = q("badge");
    badge.textContent = verified ? "verified" : "asserted";
    badge.className = "sc-badge " + (verified ? "sc-badge--success" : "sc-badge--attention");
    badge.title = verified ? "Sidecard checked who you are." : "Your helpdesk says so, unproven.";
    show(q("explain"), !verified);
    show(q("start"), !verified && q("methods").hidden && q("code-form").hidden);
    if (verified) { show(q("methods"), false); show(q("code-form"), false); }
    show(root, true);
  }

  function becameVerified(json) {
    token = json.token;
    state.agent = json.agent;
    if (json.device_credential) { saveCredential(json.device_credential, json.device_credential_expires_in); }
    error("");
    render();
    document.dispatchEvent(new CustomEvent("sidecard:session", {
      detail: { token: json.token, expires_in: json.expires_in, agent: json.agent }
    }));
  }

  function failure(res, fallback) {
    var json = res.json || {};
    if (res.status === 0) { return "Sidecard can't be reached. Check your connection."; }
    if (res.status === 401) { return "Your session has ended. Reopen the card."; }
    if (res.status === 429 && res.retryAfter) {
      return (json.message || "Too many tries.") + " Try again in " + res.retryAfter + " s.";
    }
    if (json.reason === "wrong_code" && json.attempts_left) {
      return "That code is not right (" + json.attempts_left + " tries left).";
    }
    return json.message || fallback;
  }

  /* --- methods ------------------------------------------------------------------------- */
  function openMethods() {
    show(q("start"), false);
    show(q("methods"), true);
    show(q("zendesk"), !!state.methods.zendesk);
    show(q("email-send"), !!state.methods.email);
    show(q("none"), !state.methods.zendesk && !state.methods.email);
  }

  function sendCode() {
    var button = q("email-send");
    button.setAttribute("aria-busy", "true");
    error("");
    call("POST", { method: "email" }).then(function (res) {
      button.removeAttribute("aria-busy");
      if (res.status !== 202) { error(failure(res, "The code could not be sent.")); return; }
      q("sent-to").textContent = res.json.sent_to || "your address";
      var demoLink = q("demo-link");
      if (res.json.demo_outbox && demoLink) { demoLink.href = res.json.demo_outbox; }
      show(q("demo"), !!res.json.demo_outbox);
      show(q("code-form"), true);
      root.querySelector("#sci-code").focus();
    });
  }

  function submitCode(event) {
    event.preventDefault();
    var input = root.querySelector("#sci-code");
    var code = (input.value || "").replace(/\s+/g, "");
    if (!/^\d{6}$/.test(code)) { error("Enter the 6 digits from the email."); return; }
    error("");
    call("POST", { method: "email", code: code, device_id: deviceId() }).then(function (res) {
      if (res.ok) { input.value = ""; becameVerified(res.json); return; }
      error(failure(res, "That code didn't work."));
    });
  }

  function signInWithZendesk() {
    error("");
    // Open the popup in the click itself (popup blockers), then point it at Zendesk.
    var popup = window.open("about:blank", "sidecard-zendesk-sign-in", "width=520,height=680");
    if (!popup) { error("Allow pop-ups for this card to sign in with Zendesk."); return; }
    call("POST", { method: "zendesk" }).then(function (res) {
      if (res.status !== 202 || !res.json.authorize_url) {
        popup.close();
        error(failure(res, "Sign in with Zendesk is not available."));
        return;
      }
      state.zendeskState = res.json.state;
      popup.location.href = res.json.authorize_url;
      var done = false;
      function finish(body) {
        if (done) { return; }
        done = true;
        window.removeEventListener("message", onMessage);
        window.clearInterval(timer);
        body.device_id = deviceId();
        call("POST", body).then(function (answer) {
          if (answer.ok) { becameVerified(answer.json); return; }
          if (answer.json && answer.json.reason === "pending") { return; } /* closed early */
          error(failure(answer, "Zendesk sign-in was refused."));
        });
      }
      function onMessage(event) {
        if (event.origin !== window.location.origin || event.source !== popup) { return; }
        var data = event.data || {};
        if (data.type !== "sidecard:zendesk-sign-in") { return; }
        if (data.ok && data.result) { finish({ method: "zendesk", result: data.result }); return; }
        done = true;
        window.removeEventListener("message", onMessage);
        window.clearInterval(timer);
        error("Zendesk sign-in was refused (" + (data.reason || "unknown") + ").");
      }
      window.addEventListener("message", onMessage);
      // When Zendesk's pages cut the link to this window, ask with the state instead.
      var timer = window.setInterval(function () {
        if (popup.closed) { finish({ method: "zendesk", state: state.zendeskState }); }
      }, 1000);
    });
  }

  /* --- start --------------------------------------------------------------------------- */
  function trySavedCredential() {
    var saved = storedCredential();
    if (!saved) { return Promise.resolve(false); }
    return call("POST", { method: "device", device_credential: saved.credential,
                          device_id: deviceId() }).then(function (res) {
      if (res.ok) { becameVerified(res.json); return true; }
      if (res.status === 400) { forgetCredential(); } /* revoked, expired or not ours */
      return false;
    });
  }

  q("start").addEventListener("click", openMethods);
  q("email-send").addEventListener("click", sendCode);
  q("zendesk").addEventListener("click", signInWithZendesk);
  q("code-form").addEventListener("submit", submitCode);

  call("GET").then(function (res) {
    if (!res.ok) { return; }
    state.agent = res.json.agent;
    state.connection = res.json.connection;
    state.methods = res.json.methods || {};
    state.demo = !!res.json.demo;
    render();
    if (state.agent.identity !== "verified") { trySavedCredential(); }
  });
})();
