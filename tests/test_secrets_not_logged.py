"""Logs of an install, a card launch and an action hold no token, secret or email address."""

from __future__ import annotations

import logging
import time
import uuid

import jwt
import pytest
from card_fixtures import SHOP, store  # noqa: F401  (fixture)
from factories import bearer, launch_token, make_connection

from plugin.extensions import db
from plugin.jobs import run_pending
from plugin.models import Job, Shop
from plugin.sandbox.helpdesk import HelpdeskStandIn

API_SECRET = "shpss_" + "s3cr3t" * 8  # as long as Shopify's, so PyJWT takes it
AGENT_EMAIL = "ana.agent@example.com"
CUSTOMER_EMAIL = "rae.park@example.net"


@pytest.fixture
def app_config():
    """A Shopify secret long enough for id tokens; notes go to a helpdesk stand-in."""
    return {"SHOPIFY_API_SECRET": API_SECRET, "HELPDESK_SANDBOX": HelpdeskStandIn(),
            "SIDECARD_LOG_LEVEL": "DEBUG"}


def _id_token() -> str:
    now = int(time.time())
    return jwt.encode({"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}",
                       "aud": "test-key", "sub": "42", "exp": now + 60, "nbf": now - 5,
                       "iat": now - 5, "jti": str(uuid.uuid4()), "sid": "s-1"},
                      API_SECRET, algorithm="HS256")


def test_install_launch_and_action_log_no_secrets(app, client, store, caplog):  # noqa: F811
    """Every log line of the whole flow is free of tokens, secrets and email addresses."""
    caplog.set_level(logging.DEBUG)
    id_token = _id_token()
    # Install by token exchange (the embedded load).
    home = client.get("/", query_string={"shop": SHOP, "embedded": "1", "id_token": id_token,
                                         "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWNtZQ"})
    assert home.status_code == 200, home.get_data(as_text=True)
    shop = db.session.scalar(db.select(Shop).where(Shop.domain == SHOP))
    customer = store.add_customer(SHOP, first_name="Rae", last_name="Park",
                                  email=CUSTOMER_EMAIL)
    order = store.add_order(SHOP, customer=customer, lines=[{"title": "Lamp", "price": "9.00"}])
    connection = make_connection(shop, kind="zendesk", api_token="zd-api-token-" + "q" * 20)
    agent = {"sub": "a-1", "email": AGENT_EMAIL, "name": "Ana"}
    # A card launch, a session, an action, and the note it sends.
    card_token = launch_token(connection, customer={"email": CUSTOMER_EMAIL},
                              conversation="1001", **agent)
    card = client.get("/cards/zendesk", query_string={"launch_token": card_token})
    assert card.status_code == 200
    api_token = launch_token(connection, conversation="1001", **agent)
    session = client.post("/api/v1/sessions", json={"launch_token": api_token}).get_json()
    acted = client.post(f"/api/v1/orders/{order.id}/actions/edit_note",
                        json={"note": "call back"},
                        headers={**bearer(session["token"]), "Idempotency-Key": "k-1"})
    assert acted.status_code == 200, acted.get_json()
    refused = client.post("/api/v1/sessions", json={"launch_token": api_token})
    assert refused.status_code == 401
    run_pending()
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) >= 1

    db.session.refresh(shop)
    secrets = {
        "Shopify API secret": API_SECRET, "id token": id_token,
        "access token": shop.access_token, "refresh token": shop.refresh_token,
        "signing secret": connection.signing_secret, "helpdesk API token": connection.api_token,
        "launch token": card_token, "API launch token": api_token,
        "session token": session["token"], "SECRET_KEY": app.config["SECRET_KEY"],
        "agent email": AGENT_EMAIL, "customer email": CUSTOMER_EMAIL,
    }
    assert caplog.records, "the flow logged nothing: the check would be empty"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for name, secret in secrets.items():
            assert secret and secret not in text, f"{name} in log: {record.name}"
