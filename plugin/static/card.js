/* Sidecard order card: search, open orders, load more, retry.
   Plain JS, no build step. The session token lives only in this closure (no cookie, no
   storage) and goes to the API as `Authorization: Bearer`; the API answers `text/html`
   partials rendered by the same templates as the page. */
(function () {
  "use strict";

  var bootEl = document.getElementById("sidecard-boot");
  if (!bootEl) { return; }
  var boot;
  try { boot = JSON.parse(bootEl.textContent || "{}"); } catch (e) { return; }
  var token = boot.token;
  // The token stays in memory only; drop it from the DOM.
  bootEl.parentNode.removeChild(bootEl);
  var expiresAt = Date.now() + (boot.expires_in || 0) * 1000;

  var body = document.querySelector("[data-body]");
  var status = document.getElementById("sc-status");
  var searchForm = document.querySelector("[data-search]");
  var searchError = document.querySelector("[data-search-error]");
  var MAX_QUERY = 200;
  var lastBodyUrl = null;

  function announce(text) {
    if (status) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 30); }
  }

  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    return tpl.content;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function sessionEnded() {
    var section = el("section", "sc-banner sc-banner--critical");
    section.setAttribute("role", "alert");
    section.appendChild(el("h2", "sc-banner__title", "Your Sidecard session has ended"));
    section.appendChild(el("p", null, boot.reopen_hint || "Reopen the ticket sidebar to continue."));
    return section;
  }

  /* A problem banner; `retry` re-runs the failed request. */
  function problem(title, message, retry) {
    var section = el("section", "sc-banner sc-banner--critical");
    section.setAttribute("role", "alert");
    section.appendChild(el("h2", "sc-banner__title", title));
    section.appendChild(el("p", null, message));
    if (retry) {
      var button = el("button", "sc-btn", "Try again");
      button.type = "button";
      button.addEventListener("click", retry);
      section.appendChild(button);
    }
    return section;
  }

  function errorFor(res, retry) {
    if (res.status === 401 || Date.now() > expiresAt) { return sessionEnded(); }
    var message = (res.json && res.json.message) || "";
    if (res.status === 0) {
      return problem("Sidecard can't be reached", "Check your connection and try again.", retry);
    }
    if (res.status === 502 || res.status === 504 || res.status === 503 || res.status === 429) {
      return problem("Shopify isn't answering right now",
        "This is usually brief: try again in a moment.", retry);
    }
    if (res.status === 404) { return problem("Not found", message || "Nothing matches.", null); }
    if (res.status === 400) { return problem("Can't search that", message, null); }
    return problem("Something went wrong", message || "Nothing was changed.", retry);
  }

  /* GET an API URL as an HTML partial. Resolves to {ok, status, html, json}. */
  function getHtml(url) {
    return fetch(url, {
      method: "GET",
      headers: { "Authorization": "Bearer " + token, "Accept": "text/html" },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    }).then(function (res) {
      var type = res.headers.get("Content-Type") || "";
      if (res.ok && type.indexOf("text/html") === 0) {
        return res.text().then(function (html) { return { ok: true, status: res.status, html: html }; });
      }
      return res.json().catch(function () { return null; }).then(function (json) {
        return { ok: false, status: res.status, json: json };
      });
    }, function () { return { ok: false, status: 0 }; });
  }

  function focusFirst(container) {
    var target = container.querySelector("[data-focus]");
    if (target) { target.focus(); } else if (body) { body.focus(); }
  }

  /* Replace the card's body with a partial from the API (search, chooser pick, retry). */
  function loadBody(url, announcement) {
    lastBodyUrl = url;
    body.setAttribute("aria-busy", "true");
    announce("Loading…");
    return getHtml(url).then(function (res) {
      body.removeAttribute("aria-busy");
      body.textContent = "";
      if (res.ok) {
        body.appendChild(fragment(res.html));
        loadOpenOrders(body);
        focusFirst(body);
        announce(announcement || "Loaded.");
      } else {
        body.appendChild(errorFor(res, function () { loadBody(url, announcement); }));
        focusFirst(body);
      }
    });
  }

  function requesterUrl() {
    var params = new URLSearchParams();
    var requester = boot.requester || {};
    if (requester.email) { params.set("email", requester.email); }
    if (requester.phone) { params.set("phone", requester.phone); }
    return params.toString() ? "/api/v1/customers?" + params.toString() : null;
  }

  /* Search box */
  if (searchForm) {
    searchForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = searchForm.querySelector("input[name=q]");
      var q = (input.value || "").trim();
      var message = "";
      if (!q) { message = "Type an order number, email, phone or name."; }
      else if (q.length > MAX_QUERY) { message = "Searches are limited to " + MAX_QUERY + " characters."; }
      if (message) {
        searchError.textContent = message;
        searchError.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      searchError.hidden = true;
      input.removeAttribute("aria-invalid");
      loadBody("/api/v1/customers?q=" + encodeURIComponent(q), "Search results loaded.");
    });
  }

  /* Expanding an order loads its detail once. */
  function loadOrder(details) {
    var target = details.querySelector("[data-order-body]");
    if (!target || target.getAttribute("data-loaded") === "true" ||
        target.getAttribute("aria-busy") === "true") { return; }
    target.setAttribute("aria-busy", "true");
    getHtml(details.getAttribute("data-order-url")).then(function (res) {
      target.removeAttribute("aria-busy");
      target.textContent = "";
      if (res.ok) {
        target.appendChild(fragment(res.html));
        target.setAttribute("data-loaded", "true");
        announce("Order loaded.");
      } else {
        target.appendChild(errorFor(res, function () { loadOrder(details); }));
      }
    });
  }

  function loadOpenOrders(container) {
    var open = container.querySelectorAll("details[open][data-order-url]");
    for (var i = 0; i < open.length; i++) { loadOrder(open[i]); }
  }

  // `toggle` does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details && details.matches && details.matches("details[data-order-url]") && details.open) {
      loadOrder(details);
    }
  }, true);

  function loadMore(button) {
    var url = button.getAttribute("data-load-more");
    var holder = button.closest("[data-more]");
    var list = document.querySelector("[data-order-list]");
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    button.textContent = "Loading…";
    getHtml(url).then(function (res) {
      if (!res.ok) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        button.textContent = "Load more orders";
        holder.insertAdjacentElement("beforebegin", errorFor(res, function () { loadMore(button); }));
        return;
      }
      var frag = fragment(res.html);
      var rows = frag.querySelector("[data-order-rows]");
      var first = null;
      while (rows && rows.firstElementChild) {
        var row = rows.firstElementChild;
        first = first || row;
        list.appendChild(row);
      }
      var next = frag.querySelector("[data-more]");
      if (next) { holder.replaceWith(next); } else { holder.remove(); }
      if (first) {
        var summary = first.querySelector("summary");
        if (summary) { summary.focus(); }
      }
      announce("More orders loaded.");
    });
  }

  /* Buttons inside server-rendered partials. */
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) { return; }
    if (target.hasAttribute("data-open-customer")) {
      loadBody("/api/v1/customers/" + encodeURIComponent(target.getAttribute("data-open-customer")),
        "Customer loaded.");
    } else if (target.hasAttribute("data-load-more")) {
      loadMore(target);
    } else if (target.hasAttribute("data-retry")) {
      var url = lastBodyUrl || requesterUrl();
      if (url) { loadBody(url, "Loaded."); }
    }
  });

  loadOpenOrders(document);
})();
