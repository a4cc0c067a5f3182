"""identity.js in a real browser (Debian chromium through Playwright), under the card's CSP:
"Signed in as … — asserted", verify by email code or Zendesk popup, then silently verified on
the next launch from the device credential kept in localStorage."""

from __future__ import annotations

import pytest
from browser_kit import launch_chromium, new_context, watch_errors
from factories import open_session
from flask import render_template_string
from identity_kit import ZendeskUser

from plugin.cards.render import CARD_CSP
from plugin.sandbox import serve_sandbox
from plugin.sessions import decode_session

pytestmark = pytest.mark.browser

PAGE = "/_test/identity-card"

# The card page's skeleton: boot JSON, the identity partial, card.css; the card's CSP.
CARD_STUB = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<link rel="stylesheet" href="{{ url_for('static', filename='card.css') }}"></head><body>
<script type="application/json" id="sidecard-boot">{{ boot|tojson }}</script>
<main class="sc" id="sidecard">{% include "cards/_identity.html" %}</main>
</body></html>"""


@pytest.fixture
def card_page(app, connection):
    """A stub card page serving the identity partial, the app on loopback, and chromium."""
    from flask import request

    def stub():
        response = app.response_class(render_template_string(
            CARD_STUB, boot={"token": request.args["token"], "expires_in": 900}),
            mimetype="text/html")
        response.headers["Content-Security-Policy"] = CARD_CSP
        return response

    app.add_url_rule(PAGE, "test_identity_card", stub)
    base, stop = serve_sandbox(app)
    app.config["APP_URL"] = base  # the popup comes back to this origin
    with launch_chromium() as browser:
        context = new_context(browser, width=320, height=700)
        page = context.new_page()
        yield base, context, page, watch_errors(page, [])
    stop()


def open_card(client, connection, page, base, **claims):
    """Open the stub card with a fresh (asserted) session token."""
    token = open_session(client, connection, **claims)["token"]
    page.goto(f"{base}{PAGE}?token={token}")
    page.wait_for_selector("[data-identity]:not([hidden])")


def badge(page):
    """The identity badge's text once it settles."""
    return page.locator("[data-identity-badge]").text_content()


def ask_for_email_code(page):
    """Start "Verify it's you", have a code mailed, and wait for the code form."""
    page.click("[data-identity-start]")
    page.click("[data-identity-email-send]")
    page.wait_for_selector("[data-identity-code-form]:not([hidden])")


def enter_code(page, code):
    """Type the code into the form and send it with Enter."""
    page.fill("#sci-code", code)
    page.keyboard.press("Enter")


def test_email_code_verifies_and_the_next_launch_is_silent(card_page, client, connection,
                                                           mailbox):
    """Asserted → code by email → verified; reopening the card is verified with no code."""
    base, _, page, errors = card_page
    open_card(client, connection, page, base)
    assert page.locator("[data-identity-email]").text_content() == "agent@example.com"
    assert badge(page) == "asserted"
    ask_for_email_code(page)
    enter_code(page, mailbox.last_code("agent@example.com"))
    page.wait_for_selector(".sc-badge--success")
    assert badge(page) == "verified"
    stored = page.evaluate("Object.keys(localStorage)")
    assert f"sidecard.device-credential.{connection.public_id}" in stored
    assert "sidecard.device-id" in stored

    open_card(client, connection, page, base)
    page.wait_for_selector(".sc-badge--success")
    assert badge(page) == "verified"
    assert page.locator("[data-identity-start]").is_hidden()
    assert len(mailbox.messages) == 1
    assert errors == []


def test_wrong_code_shows_tries_left(card_page, client, connection, mailbox):
    """A wrong code is explained in the card, and the session stays asserted."""
    base, _, page, errors = card_page
    open_card(client, connection, page, base)
    ask_for_email_code(page)
    code = mailbox.last_code("agent@example.com")
    enter_code(page, f"{(int(code) + 1) % 1_000_000:06d}")
    page.wait_for_selector("[data-identity-error]:not([hidden])")
    assert "4 tries left" in page.locator("[data-identity-error]").text_content()
    assert badge(page) == "asserted"
    assert [e for e in errors if "400" not in e] == []


def test_sign_in_with_zendesk_popup_verifies_the_card(card_page, client, connection, zendesk):
    """The popup signs in at Zendesk (stand-in), posts its result, and the card is verified."""
    base, context, page, errors = card_page
    zendesk.sign_in(ZendeskUser(id=7, email="agent@example.com", account="acme"))
    open_card(client, connection, page, base)
    page.click("[data-identity-start]")
    with context.expect_page() as popup_info:
        page.click("[data-identity-zendesk]")
    popup_info.value.wait_for_load_state()
    page.wait_for_selector(".sc-badge--success")
    assert badge(page) == "verified"
    assert zendesk.revoked  # the Zendesk token was given back
    assert errors == []


def test_stored_credential_of_another_agent_is_not_used(card_page, client, connection, mailbox):
    """A card opened with other agent claims on the same device stays asserted."""
    base, _, page, errors = card_page
    open_card(client, connection, page, base)
    ask_for_email_code(page)
    enter_code(page, mailbox.last_code("agent@example.com"))
    page.wait_for_selector(".sc-badge--success")

    token = open_session(client, connection, email="lead@example.com")["token"]
    page.goto(f"{base}{PAGE}?token={token}")
    page.wait_for_selector("[data-identity]:not([hidden])")
    assert page.locator("[data-identity-email]").text_content() == "lead@example.com"
    assert badge(page) == "asserted"
    assert decode_session(token).identity == "asserted"
    assert errors == []
