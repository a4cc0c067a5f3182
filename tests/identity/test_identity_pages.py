"""Pages around identity: the demo outbox (demo mode without SMTP) and the popup page."""

from __future__ import annotations

import pytest
from factories import make_connection, make_shop, open_session
from identity_kit import verify


@pytest.fixture
def app_config():
    """Demo mode without a mail server: codes go to the demo outbox."""
    return {"DEMO_MODE": True, "SMTP_URL": None}


def test_demo_mode_shows_codes_on_the_demo_outbox(app, client):
    """Without SMTP_URL in demo mode, the code is shown on the demo outbox page and works."""
    connection = make_connection(make_shop())
    session = open_session(client, connection)
    sent = verify(client, session["token"], method="email")
    assert sent.status_code == 202
    assert sent.get_json()["demo_outbox"] == "/identity/demo/outbox"
    page = client.get("/identity/demo/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "agent@example.com" in html
    code = app.extensions["sidecard_demo_outbox"][0]["code"]
    assert code in html
    assert verify(client, session["token"], method="email", code=code).status_code == 200


def test_demo_outbox_is_empty_before_any_code(client):
    """The outbox says how to get a code when none was sent."""
    html = client.get("/identity/demo/outbox").get_data(as_text=True)
    assert "No code sent yet" in html


def test_demo_outbox_is_hidden_outside_demo_mode(app, client):
    """Outside demo mode the outbox does not exist."""
    app.config["DEMO_MODE"] = False
    assert client.get("/identity/demo/outbox").status_code == 404


def test_popup_page_runs_only_our_script(client):
    """The callback page loads identity_popup.js under a strict CSP, unframeable."""
    response = client.get("/identity/zendesk/callback?state=x&code=y")
    html = response.get_data(as_text=True)
    assert "/static/identity_popup.js" in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"
