/* Sidecard order card: search, open orders, load more, retry; order actions and approvals.
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

  /* ---------------------------------------------------------------------------------------
     Order actions: open a panel, Review (preview), Confirm (once per Idempotency-Key), then
     the result and the refreshed order. Approvals queue. */

  var SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", INR: "₹", KRW: "₩", CAD: "CA$",
    AUD: "A$", NZD: "NZ$", MXN: "MX$", BRL: "R$", HKD: "HK$", SGD: "SG$" };
  var RESTOCK_TEXT = { RETURN: "restocked (returned)", CANCEL: "restocked", NO_RESTOCK: "not restocked",
    LEGACY_RESTOCK: "restocked" };
  var CANCEL_REASONS = { CUSTOMER: "Customer changed or cancelled the order", DECLINED: "Payment declined",
    FRAUD: "Fraudulent order", INVENTORY: "Items unavailable", STAFF: "Staff error", OTHER: "Other" };
  var AMOUNT_RE = /^\d{1,9}(\.\d{1,2})?$/;
  var panels = new WeakMap(); /* panel element → {body, key, busy} of its current confirmation */

  /* `{"amount": "1234.5", "currency": "USD"}` → `$1,234.50` (display only: strings, no floats). */
  function money(m, currency) {
    if (m === null || m === undefined) { return "–"; }
    var amount = typeof m === "object" ? m.amount : m;
    var code = (typeof m === "object" && m.currency) || currency || "";
    var text = String(amount).trim();
    var sign = "";
    if (text.charAt(0) === "-") { sign = "−"; text = text.slice(1); }
    var parts = text.split(".");
    var whole = parts[0].replace(/^0+(?=\d)/, "") || "0";
    var cents = ((parts[1] || "") + "00").slice(0, 2);
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var symbol = SYMBOLS[code];
    return symbol ? sign + symbol + whole + "." + cents : (sign + whole + "." + cents + " " + code).trim();
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) { hex += ("0" + bytes[i].toString(16)).slice(-2); }
    return hex;
  }

  /* A JSON call to the API. Resolves to {ok, status, json} (status 0: no answer at all). */
  function api(method, url, body, headers) {
    var h = { "Authorization": "Bearer " + token, "Accept": "application/json" };
    if (body !== undefined) { h["Content-Type"] = "application/json"; }
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(url, {
      method: method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        return { ok: res.ok, status: res.status, json: json || {} };
      });
    }, function () { return { ok: false, status: 0, json: {} }; });
  }

  function actionUrl(orderId, name, preview) {
    return "/api/v1/orders/" + encodeURIComponent(orderId) + "/actions/" + encodeURIComponent(name) +
      (preview ? "/preview" : "");
  }

  function row(dl, term, value, cls) {
    var div = el("div", cls || null);
    div.appendChild(el("dt", null, term));
    div.appendChild(el("dd", null, value));
    dl.appendChild(div);
    return div;
  }

  function button(text, attr, cls) {
    var b = el("button", "sc-btn" + (cls ? " " + cls : ""), text);
    b.type = "button";
    if (attr) { b.setAttribute(attr, ""); }
    return b;
  }

  /* What an error answer says: its message, Shopify's own messages for a 422, a hint. */
  function errorBlock(res, title) {
    var json = res.json || {};
    var box = el("div", "sc-banner sc-banner--critical sc-result");
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    if (res.status === 401) {
      box.appendChild(el("p", "sc-banner__title", "Your Sidecard session has ended"));
      box.appendChild(el("p", null, boot.reopen_hint || "Reopen the ticket sidebar to continue."));
      return box;
    }
    if (res.status === 0 || res.status === 502 || res.status === 503 || res.status === 504) {
      box.appendChild(el("p", "sc-banner__title", res.status === 0 ? "Sidecard didn't answer"
        : "Shopify didn't answer"));
      box.appendChild(el("p", null, "Nothing is lost — retry."));
      if (json.message) { box.appendChild(el("p", "sc-subdued sc-small", json.message)); }
      return box;
    }
    box.appendChild(el("p", "sc-banner__title", title || (res.status === 422 ? "Shopify refused"
      : res.status === 403 ? "Not permitted" : "That didn't work")));
    box.appendChild(el("p", null, json.message || "Nothing was changed."));
    var errors = Array.isArray(json.errors) ? json.errors : [];
    var messages = errors.map(function (e) { return e && (e.message || String(e)); }).filter(Boolean);
    if (messages.length && !(messages.length === 1 && messages[0] === json.message)) {
      var ul = el("ul", "sc-errors");
      messages.forEach(function (m) { ul.appendChild(el("li", null, m)); });
      box.appendChild(ul);
    }
    return box;
  }

  function retryable(res) {
    return res.status === 0 || res.status === 502 || res.status === 503 || res.status === 504 ||
      (res.status === 409 && res.json && res.json.error === "in_progress");
  }

  /* --- forms ---------------------------------------------------------------------------- */

  function formError(panel, message) {
    var node = panel.querySelector("[data-form-error]");
    node.textContent = message || "";
    node.hidden = !message;
  }

  function field(form, name) { return form.querySelector("[name='" + name + "']"); }
  function text(form, name) { var f = field(form, name); return f ? (f.value || "").trim() : ""; }
  function checked(form, name) { var f = field(form, name); return !!(f && f.checked && !f.disabled); }

  /* The action body from its form, or a string saying what to fix. */
  var collectors = {
    refund: function (form) {
      var body = {};
      if (checked(form, "full")) {
        body.full = true;
      } else {
        var items = [];
        var inputs = form.querySelectorAll("[data-quantity]");
        for (var i = 0; i < inputs.length; i++) {
          var input = inputs[i];
          var raw = (input.value || "0").trim();
          var max = parseInt(input.getAttribute("max"), 10);
          if (!/^\d+$/.test(raw) || parseInt(raw, 10) > max) {
            input.focus();
            return "Quantities are whole numbers from 0 to " + max + ".";
          }
          var qty = parseInt(raw, 10);
          if (qty > 0) {
            var id = input.getAttribute("data-line-item-id");
            var restock = form.querySelector("[data-restock][data-line-item-id='" + id + "']");
            items.push({ line_item_id: id, quantity: qty, restock: !!(restock && restock.checked && !restock.disabled) });
          }
        }
        if (items.length) { body.line_items = items; }
        var mode = text(form, "shipping_mode");
        if (mode === "full") { body.shipping = { full: true }; }
        if (mode === "amount") {
          var ship = text(form, "shipping_amount");
          if (!AMOUNT_RE.test(ship) || Number(ship) <= 0) { return "Enter the shipping amount to refund, like 5.00."; }
          body.shipping = { amount: ship };
        }
        var amount = text(form, "amount");
        if (amount) {
          if (!AMOUNT_RE.test(amount) || Number(amount) <= 0) { return "Enter the refund amount like 12.50, or leave it empty."; }
          body.amount = amount;
        }
        if (!body.line_items && !body.shipping && !body.amount) {
          return "Choose items, shipping or an amount to refund, or tick Full refund.";
        }
      }
      var reason = text(form, "reason");
      if (reason) { body.reason = reason; }
      body.notify = checked(form, "notify");
      return body;
    },
    cancel: function (form) {
      var body = { reason: text(form, "reason"), restock: checked(form, "restock"), notify: checked(form, "notify") };
      if (field(form, "refund")) { body.refund = checked(form, "refund"); }
      var note = text(form, "staff_note");
      if (note) { body.staff_note = note; }
      return body;
    },
    update_shipping_address: function (form) {
      var address = {};
      var names = ["first_name", "last_name", "company", "address1", "address2", "city", "province_code",
        "zip", "country_code", "phone"];
      for (var i = 0; i < names.length; i++) {
        var value = text(form, names[i]);
        if (names[i] === "country_code" || names[i] === "province_code") { value = value.toUpperCase(); }
        if (value) { address[names[i]] = value; }
      }
      var missing = ["address1", "city", "country_code"].filter(function (n) { return !address[n]; });
      if (missing.length) {
        field(form, missing[0]).focus();
        return "Fill in the address, the city and the country code.";
      }
      if (!/^[A-Z]{2}$/.test(address.country_code)) { return "The country code has two letters, like US or CA."; }
      return { address: address };
    },
    edit_tags: function (form) {
      addTypedTags(form);
      var add = [], remove = [];
      var chips = form.querySelectorAll("[data-tag]");
      for (var i = 0; i < chips.length; i++) {
        var chip = chips[i];
        var removed = chip.classList.contains("sc-chip--removed");
        if (chip.hasAttribute("data-tag-new")) { if (!removed) { add.push(chip.getAttribute("data-tag")); } }
        else if (removed) { remove.push(chip.getAttribute("data-tag")); }
      }
      if (!add.length && !remove.length) { return "Add a tag or remove one first."; }
      return { add: add, remove: remove };
    },
    edit_note: function (form) {
      var mode = form.querySelector("input[name=mode]:checked");
      mode = mode ? mode.value : "replace";
      var note = field(form, "note").value || "";
      if (mode === "append" && !note.trim()) { return "Write the text to add to the note."; }
      return { note: note, mode: mode };
    }
  };

  function addTypedTags(form) {
    var input = form.querySelector("[data-tag-input]");
    if (!input || !input.value.trim()) { return; }
    var list = form.querySelector("[data-tag-chips]");
    input.value.split(",").forEach(function (raw) {
      var tag = raw.trim();
      if (!tag) { return; }
      var chips = list.querySelectorAll("[data-tag]");
      for (var i = 0; i < chips.length; i++) {
        if (chips[i].getAttribute("data-tag").toLowerCase() === tag.toLowerCase()) {
          chips[i].classList.remove("sc-chip--removed");
          setChipButton(chips[i]);
          return;
        }
      }
      var chip = el("li", "sc-chip sc-chip--new");
      chip.setAttribute("data-tag", tag);
      chip.setAttribute("data-tag-new", "");
      chip.appendChild(el("span", "sc-chip__text", tag));
      var remove = el("button", "sc-chip__remove", "×");
      remove.type = "button";
      remove.setAttribute("data-tag-remove", "");
      chip.appendChild(remove);
      setChipButton(chip);
      list.appendChild(chip);
    });
    input.value = "";
    var empty = form.querySelector("[data-tags-empty]");
    if (empty) { empty.hidden = true; }
  }

  function setChipButton(chip) {
    var tag = chip.getAttribute("data-tag");
    var removed = chip.classList.contains("sc-chip--removed");
    var b = chip.querySelector("[data-tag-remove]");
    b.textContent = removed ? "↺" : "×";
    b.setAttribute("aria-label", (removed ? "Keep tag " : "Remove tag ") + tag);
    b.setAttribute("aria-pressed", removed ? "true" : "false");
  }

  function toggleTag(b) {
    var chip = b.closest("[data-tag]");
    if (chip.hasAttribute("data-tag-new") && !chip.classList.contains("sc-chip--removed")) {
      var list = chip.parentNode;
      chip.remove();
      var input = list.closest("form").querySelector("[data-tag-input]");
      if (input) { input.focus(); }
      announce("Tag " + chip.getAttribute("data-tag") + " will not be added.");
      return;
    }
    chip.classList.toggle("sc-chip--removed");
    setChipButton(chip);
    announce((chip.classList.contains("sc-chip--removed") ? "Tag will be removed: " : "Tag kept: ") +
      chip.getAttribute("data-tag"));
  }

  function step(b) {
    var input = document.getElementById(b.getAttribute("aria-controls"));
    if (!input || input.disabled) { return; }
    var max = parseInt(input.getAttribute("max"), 10) || 0;
    var value = parseInt(input.value, 10) || 0;
    value = Math.max(0, Math.min(max, value + parseInt(b.getAttribute("data-step"), 10)));
    input.value = String(value);
    announce(value + " to refund");
  }

  /* --- panels --------------------------------------------------------------------------- */

  function panelOf(node) { return node.closest("[data-action-panel]"); }

  function openPanel(b) {
    var panel = document.getElementById(b.getAttribute("aria-controls"));
    if (!panel) { return; }
    var section = b.closest("[data-actions]");
    var wasOpen = !panel.hidden;
    var opens = section.querySelectorAll("[data-action-open]");
    for (var i = 0; i < opens.length; i++) {
      var other = document.getElementById(opens[i].getAttribute("aria-controls"));
      if (other && other !== panel && !other.hidden) { closePanel(other, false); }
    }
    if (wasOpen) { closePanel(panel, true); return; }
    // The last action's "Done" banner belongs to the last action: a new one starts clean.
    var body = section.closest("[data-order-body]");
    var stale = body ? body.querySelectorAll("[data-action-succeeded]") : [];
    for (var j = 0; j < stale.length; j++) { stale[j].remove(); }
    panel.hidden = false;
    b.setAttribute("aria-expanded", "true");
    showForm(panel);
    panel.querySelector(".sc-panel__title").focus();
  }

  function closePanel(panel, focusOpener) {
    var state = panels.get(panel);
    if (state && state.busy) { return; } /* an action in flight keeps its panel */
    panel.hidden = true;
    panels.delete(panel);
    var opener = document.querySelector("[aria-controls='" + panel.id + "']");
    if (opener) {
      opener.setAttribute("aria-expanded", "false");
      if (focusOpener) { opener.focus(); }
    }
  }

  function showForm(panel) {
    panels.delete(panel); /* a new review is a new confirmation, with a new key */
    var review = panel.querySelector("[data-action-review]");
    review.hidden = true;
    review.textContent = "";
    panel.querySelector("[data-action-form]").hidden = false;
    formError(panel, "");
  }

  function review(form) {
    var panel = panelOf(form);
    var name = panel.getAttribute("data-action-panel");
    var body = collectors[name](form);
    if (typeof body === "string") { formError(panel, body); return; }
    formError(panel, "");
    var submit = form.querySelector("[data-review]");
    if (submit.getAttribute("aria-busy") === "true") { return; }
    submit.setAttribute("aria-busy", "true");
    submit.disabled = true;
    api("POST", actionUrl(panel.getAttribute("data-order-id"), name, true), body).then(function (res) {
      submit.removeAttribute("aria-busy");
      submit.disabled = false;
      if (!res.ok) {
        var node = panel.querySelector("[data-form-error]");
        node.textContent = "";
        node.appendChild(errorBlock(res, res.status === 409 ? "Not possible now" : null));
        node.hidden = false;
        return;
      }
      showReview(panel, name, body, res.json);
    });
  }

  function showReview(panel, name, body, preview) {
    var state = { body: body, key: newKey(), busy: false, done: false };
    panels.set(panel, state);
    var box = panel.querySelector("[data-action-review]");
    box.textContent = "";
    box.appendChild(el("h5", "sc-h", "Review"));
    box.appendChild(previewBlock(name, preview));
    var canGo = preview.allowed !== false;
    if (preview.requires_approval) {
      var note = el("p", "sc-banner sc-banner--warning sc-approval-note");
      note.setAttribute("data-needs-approval", "");
      note.textContent = "This is above your limit of " + money(preview.refund_limit, preview.currency) +
        "; it will be sent to a lead for approval.";
      box.appendChild(note);
    } else if (!canGo) {
      var refused = el("p", "sc-banner sc-banner--critical",
        "This is above your limit of " + money(preview.refund_limit, preview.currency) +
        " and your permission set doesn't allow asking for approval.");
      box.appendChild(refused);
    }
    var buttons = el("div", "sc-panel__buttons");
    if (canGo) {
      var confirm = button(confirmLabel(name, preview), "data-confirm", "sc-btn--primary");
      buttons.appendChild(confirm);
    }
    buttons.appendChild(button("Back", "data-back"));
    box.appendChild(buttons);
    var result = el("div", "sc-result-area");
    result.setAttribute("data-action-result", "");
    box.appendChild(result);
    panel.querySelector("[data-action-form]").hidden = true;
    box.hidden = false;
    box.focus();
    announce("Review, then confirm.");
  }

  function confirmLabel(name, preview) {
    if (preview.requires_approval) { return "Send for approval"; }
    if (name === "refund") { return "Confirm refund of " + money(preview.total); }
    if (name === "cancel") { return "Confirm cancellation"; }
    return "Confirm";
  }

  function previewBlock(name, p) {
    var wrap = el("div", "sc-preview");
    wrap.setAttribute("data-preview", name);
    var dl = el("dl", "sc-totals");
    if (name === "refund") {
      var lines = p.line_items || [];
      if (lines.length) {
        var ul = el("ul", "sc-preview__lines");
        lines.forEach(function (li) {
          var kinds = Object.keys(li.restock_types || {}).map(function (k) { return RESTOCK_TEXT[k] || k; });
          var item = el("li", null);
          item.appendChild(el("span", "sc-preview__line", li.quantity + " × " + (li.title || "item")));
          item.appendChild(el("span", "sc-preview__amount", money(li.subtotal)));
          if (kinds.length) { item.appendChild(el("span", "sc-subdued sc-small sc-preview__sub", kinds.join(", "))); }
          ul.appendChild(item);
        });
        wrap.appendChild(ul);
      }
      if (p.shipping) { row(dl, "Shipping", money(p.shipping.amount)); }
      row(dl, "Subtotal", money(p.subtotal));
      row(dl, "Tax", money(p.tax));
      if (p.manual_amount) { row(dl, "Shopify's calculation", money(p.suggested_total)); }
      row(dl, p.manual_amount ? "Refund (set by hand)" : "Refund total", money(p.total), "sc-totals__total")
        .setAttribute("data-preview-total", "");
      if ((p.gateways || []).length) { row(dl, "Back to", p.gateways.join(", ")); }
      wrap.appendChild(dl);
      wrap.appendChild(el("p", "sc-help", (p.notify ? "The customer gets an email." : "No email to the customer.") +
        (p.reason ? " Reason: " + p.reason : "")));
    } else if (name === "cancel") {
      row(dl, "Reason", CANCEL_REASONS[p.reason] || p.reason);
      row(dl, "Refund", p.refund ? money(p.refund_amount) + ((p.gateways || []).length ? " to " + p.gateways.join(", ") : "")
        : "No refund");
      row(dl, "Restock", p.restock ? "Yes" : "No");
      row(dl, "Email the customer", p.notify ? "Yes" : "No");
      if (p.staff_note) { row(dl, "Staff note", p.staff_note); }
      wrap.appendChild(dl);
      if (p.releases_authorization) { wrap.appendChild(el("p", "sc-help", "The payment authorization is released.")); }
    } else if (name === "update_shipping_address") {
      row(dl, "From", p.old_line || "No address");
      row(dl, "To", p.new_line || "");
      wrap.appendChild(dl);
      if (p.changed && !p.changed.length) { wrap.appendChild(el("p", "sc-help", "Nothing changes.")); }
    } else if (name === "edit_tags") {
      if ((p.added || []).length) { row(dl, "Add", p.added.join(", ")); }
      if ((p.removed || []).length) { row(dl, "Remove", p.removed.join(", ")); }
      row(dl, "Tags after", (p.after || []).join(", ") || "none");
      wrap.appendChild(dl);
    } else if (name === "edit_note") {
      wrap.appendChild(el("p", "sc-label", "Note after"));
      wrap.appendChild(el("p", "sc-note", p.after || "(empty)"));
    }
    return wrap;
  }

  /* Confirm: one Idempotency-Key per confirmation, reused by every retry of it. */
  function confirmAction(b) {
    var panel = panelOf(b);
    var state = panels.get(panel);
    if (!state || state.busy || state.done) { return; }
    state.busy = true;
    var box = panel.querySelector("[data-action-review]");
    var result = box.querySelector("[data-action-result]");
    var buttons = box.querySelectorAll("[data-confirm], [data-back], [data-retry-action]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    var confirm = box.querySelector("[data-confirm]");
    if (confirm) { confirm.setAttribute("aria-busy", "true"); }
    b.setAttribute("aria-busy", "true");
    result.textContent = "";
    result.appendChild(el("p", "sc-subdued", "Working…"));
    announce("Working…");
    var name = panel.getAttribute("data-action-panel");
    var orderId = panel.getAttribute("data-order-id");
    api("POST", actionUrl(orderId, name, false), state.body, { "Idempotency-Key": state.key }).then(function (res) {
      state.busy = false;
      b.removeAttribute("aria-busy");
      if (confirm) { confirm.removeAttribute("aria-busy"); }
      result.textContent = "";
      if (res.status === 200) {
        state.done = true;
        succeeded(panel, res.json);
        return;
      }
      if (res.status === 202) {
        state.done = true;
        var sent = el("div", "sc-banner sc-banner--info sc-result");
        sent.setAttribute("role", "status");
        sent.setAttribute("tabindex", "-1");
        sent.setAttribute("data-approval-sent", res.json.approval_id || "");
        sent.appendChild(el("p", "sc-banner__title", "Sent for approval"));
        sent.appendChild(el("p", null, (res.json.message || "An approver has been asked.") +
          " Request " + (res.json.approval_id || "") + "."));
        result.appendChild(sent);
        var stale = box.querySelectorAll("[data-confirm], [data-back], [data-retry-action]");
        for (var s = 0; s < stale.length; s++) { stale[s].remove(); }
        var close = button("Close", "data-action-close");
        box.querySelector(".sc-panel__buttons").appendChild(close);
        sent.focus();
        announce("Sent for approval.");
        loadApprovals();
        return;
      }
      var block = errorBlock(res);
      result.appendChild(block);
      var back = box.querySelector("[data-back]");
      if (back) { back.disabled = false; }
      if (retryable(res)) {
        if (confirm) { confirm.hidden = true; }
        var old = box.querySelector("[data-retry-action]");
        if (old) { old.remove(); }
        var retry = button("Retry", "data-retry-action", "sc-btn--primary");
        block.appendChild(retry);
        retry.focus();
      } else {
        if (confirm) { confirm.remove(); } /* refused as asked: change it (Back) to try again */
        block.focus();
      }
    });
  }

  /* 200: the order is read again as HTML and replaces the old one, with the summary on top. */
  function succeeded(panel, json) {
    var details = panel.closest("details[data-order-url]");
    var target = details ? details.querySelector("[data-order-body]") : null;
    var banner = el("div", "sc-banner sc-banner--success sc-result");
    banner.setAttribute("role", "status");
    banner.setAttribute("tabindex", "-1");
    banner.setAttribute("data-action-succeeded", json.action || "");
    banner.appendChild(el("p", "sc-banner__title", "Done"));
    banner.appendChild(el("p", null, json.summary || "The order was updated."));
    if (!target) { panel.querySelector("[data-action-result]").appendChild(banner); banner.focus(); return; }
    refreshOrder(details, banner);
  }

  function refreshOrder(details, banner) {
    var target = details.querySelector("[data-order-body]");
    target.setAttribute("aria-busy", "true");
    return getHtml(details.getAttribute("data-order-url")).then(function (res) {
      target.removeAttribute("aria-busy");
      if (!res.ok) {
        if (banner) {
          banner.appendChild(el("p", "sc-subdued sc-small", "The order couldn't be reloaded; reopen it to see the change."));
          target.insertBefore(banner, target.firstChild);
          banner.focus();
        }
        return;
      }
      target.textContent = "";
      target.appendChild(fragment(res.html));
      target.setAttribute("data-loaded", "true");
      var badges = target.querySelector("template[data-order-badges]");
      var summaryBadges = details.querySelector("summary .sc-badges");
      if (badges && summaryBadges) {
        summaryBadges.textContent = "";
        summaryBadges.appendChild(badges.content.cloneNode(true));
      }
      if (banner) {
        target.insertBefore(banner, target.firstChild);
        banner.focus();
        announce(banner.textContent);
      }
    });
  }

  /* --- approvals ------------------------------------------------------------------------- */

  var approvalsBox = document.querySelector("[data-approvals]");
  var approvalsNotice = ""; /* what the agent last decided, kept across reloads of the list */
  var STATUS_TEXT = { pending: "Waiting", approved: "Approved", denied: "Denied", expired: "Expired",
    executed: "Approved and done", execution_failed: "Approved, but it failed" };
  var STATUS_TONE = { pending: "attention", approved: "info", denied: "critical", expired: "neutral",
    executed: "success", execution_failed: "critical" };

  function loadApprovals() {
    if (!approvalsBox) { return Promise.resolve(); }
    return api("GET", "/api/v1/approvals").then(function (res) {
      if (!res.ok) { return; }
      renderApprovals(res.json);
    });
  }

  function who(p) {
    if (!p) { return "someone"; }
    return p.name && p.email ? p.name + " (" + p.email + ")" : (p.name || p.email || "someone");
  }

  function renderApprovals(data) {
    var list = approvalsBox.querySelector("[data-approvals-list]");
    var title = approvalsBox.querySelector("[data-approvals-title]");
    var items = data.approvals || [];
    var approver = !!data.can_approve;
    approvalsBox.setAttribute("data-can-approve", approver ? "true" : "false");
    if (!approver && !items.length) { approvalsBox.hidden = true; return; }
    var pending = items.filter(function (a) { return a.status === "pending"; }).length;
    title.textContent = approver ? "Approvals · " + (pending ? pending + " waiting" : "none waiting")
      : "Your approval requests · " + items.length;
    list.textContent = "";
    if (approvalsNotice) {
      var notice = el("p", "sc-banner sc-banner--success sc-result", approvalsNotice);
      notice.setAttribute("role", "status");
      notice.setAttribute("tabindex", "-1");
      notice.setAttribute("data-approvals-notice", "");
      list.appendChild(notice);
    }
    if (!items.length) { list.appendChild(el("p", "sc-subdued", "Nothing is waiting for approval.")); }
    var ul = el("ul", "sc-approval-list");
    items.forEach(function (a) { ul.appendChild(approvalItem(a, approver)); });
    if (items.length) { list.appendChild(ul); }
    if (approver && data.identity && data.identity !== "verified") {
      list.appendChild(el("p", "sc-help", "Approving needs a verified identity: use “Verify it's you” above."));
    }
    var refresh = button("Refresh", "data-approvals-refresh");
    list.appendChild(refresh);
    if (approvalsBox.hidden && pending && approver) { approvalsBox.open = true; }
    approvalsBox.hidden = false;
  }

  function approvalItem(a, approver) {
    var li = el("li", "sc-approval");
    li.setAttribute("data-approval-id", a.id);
    li.appendChild(el("p", "sc-approval__what", a.summary || (a.action + " on " + (a.order_name || a.order_id))));
    var meta = [];
    if (approver) { meta.push("Asked by " + who(a.requested_by)); }
    if (a.amount) { meta.push(money(a.amount, a.currency)); }
    if (a.order_name) { meta.push("order " + a.order_name); }
    li.appendChild(el("p", "sc-subdued sc-small", meta.join(" · ")));
    var reason = a.body && typeof a.body.reason === "string" ? a.body.reason : "";
    if (reason) { li.appendChild(el("p", "sc-small", "Reason: " + reason)); }
    var badge = el("span", "sc-badge sc-badge--" + (STATUS_TONE[a.status] || "neutral"), STATUS_TEXT[a.status] || a.status);
    badge.setAttribute("data-approval-status", a.status);
    li.appendChild(badge);
    if (a.decided_by) {
      li.appendChild(el("p", "sc-small", "By " + who(a.decided_by) + (a.comment ? ": “" + a.comment + "”" : "")));
    }
    if (a.result && a.result.message && a.status !== "executed") { li.appendChild(el("p", "sc-small", a.result.message)); }
    if (a.can_approve || a.can_deny) {
      var id = "sc-approval-comment-" + a.id;
      var label = el("label", "sc-label", "Comment (optional)");
      label.htmlFor = id;
      var comment = el("textarea", "sc-input sc-textarea");
      comment.id = id;
      comment.rows = 2;
      comment.maxLength = 1000;
      comment.setAttribute("data-approval-comment", "");
      li.appendChild(label);
      li.appendChild(comment);
      var buttons = el("div", "sc-panel__buttons");
      if (a.can_approve) { buttons.appendChild(button("Approve", "data-approve", "sc-btn--primary")); }
      if (a.can_deny) { buttons.appendChild(button("Deny", "data-deny")); }
      li.appendChild(buttons);
    } else if (approver && a.reason && a.status === "pending") {
      li.appendChild(el("p", "sc-help", a.reason));
    }
    var out = el("div", "sc-approval__result");
    out.setAttribute("data-approval-result", "");
    li.appendChild(out);
    return li;
  }

  function decide(b, verb) {
    var li = b.closest("[data-approval-id]");
    var id = li.getAttribute("data-approval-id");
    var buttons = li.querySelectorAll("[data-approve], [data-deny]");
    if (b.getAttribute("aria-busy") === "true") { return; }
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    b.setAttribute("aria-busy", "true");
    var comment = li.querySelector("[data-approval-comment]");
    var body = comment && comment.value.trim() ? { comment: comment.value.trim() } : {};
    var out = li.querySelector("[data-approval-result]");
    out.textContent = "";
    api("POST", "/api/v1/approvals/" + encodeURIComponent(id) + "/" + verb, body).then(function (res) {
      b.removeAttribute("aria-busy");
      if (res.ok) {
        var json = res.json || {};
        approvalsNotice = verb === "deny" ? "Denied: " + (li.querySelector(".sc-approval__what").textContent)
          : "Approved and done: " + (json.summary || "the request ran.");
        announce(approvalsNotice);
        var orderId = (json.approval && json.approval.order_id) || (json.order && json.order.id);
        var row = orderId ? document.querySelector("#sc-order-" + orderId + " details[data-order-url]") : null;
        if (row && verb === "approve") { refreshOrder(row, null); }
        loadApprovals().then(function () {
          var notice = approvalsBox.querySelector("[data-approvals-notice]");
          if (notice) { notice.focus(); }
        });
        return;
      }
      for (var j = 0; j < buttons.length; j++) { buttons[j].disabled = false; }
      var block = errorBlock(res, res.status === 403 ? "You can't decide this request" : null);
      out.appendChild(block);
      block.focus();
    });
  }

  /* --- events ----------------------------------------------------------------------------- */

  document.addEventListener("sidecard:session", function (event) {
    var detail = event.detail || {};
    if (detail.token) {
      token = detail.token;
      if (detail.expires_in) { expiresAt = Date.now() + detail.expires_in * 1000; }
      loadApprovals();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.matches && form.matches("[data-action-form]")) {
      event.preventDefault();
      review(form);
    }
  });

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (!t || !t.closest) { return; }
    var form = t.closest("[data-action-form]");
    if (!form) { return; }
    if (t.hasAttribute("data-refund-full")) {
      var choice = form.querySelector("[data-refund-choice]");
      if (choice) { choice.disabled = t.checked; }
    } else if (t.hasAttribute("data-shipping-mode")) {
      var amountField = form.querySelector("[data-shipping-amount-field]");
      if (amountField) { amountField.hidden = t.value !== "amount"; }
    } else if (t.name === "mode" && form.matches("[data-action-form=edit_note]")) {
      var note = field(form, "note");
      var current = note.getAttribute("data-current-note") || "";
      if (t.value === "replace" && !note.value) { note.value = current; }
      if (t.value === "append" && note.value === current) { note.value = ""; }
    }
    formError(panelOf(form), "");
  });

  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (!t || !t.closest) { return; }
    if (event.key === "Enter" && t.hasAttribute && t.hasAttribute("data-tag-input")) {
      event.preventDefault();
      addTypedTags(t.closest("form"));
      return;
    }
    if (event.key === "Escape") {
      var panel = t.closest("[data-action-panel]");
      if (panel) { event.preventDefault(); closePanel(panel, true); }
    }
  });

  document.addEventListener("click", function (event) {
    var b = event.target.closest ? event.target.closest("button") : null;
    if (!b || b.disabled) { return; }
    if (b.hasAttribute("data-action-open")) { openPanel(b); }
    else if (b.hasAttribute("data-action-close")) { closePanel(panelOf(b), true); }
    else if (b.hasAttribute("data-step")) { step(b); }
    else if (b.hasAttribute("data-tag-remove")) { toggleTag(b); }
    else if (b.hasAttribute("data-tag-add")) { addTypedTags(b.closest("form")); }
    else if (b.hasAttribute("data-back")) {
      var panel = panelOf(b);
      showForm(panel);
      panel.querySelector(".sc-panel__title").focus();
    }
    else if (b.hasAttribute("data-confirm") || b.hasAttribute("data-retry-action")) { confirmAction(b); }
    else if (b.hasAttribute("data-approve")) { decide(b, "approve"); }
    else if (b.hasAttribute("data-deny")) { decide(b, "deny"); }
    else if (b.hasAttribute("data-approvals-refresh")) { loadApprovals(); }
  });

  loadApprovals();

  loadOpenOrders(document);
})();
