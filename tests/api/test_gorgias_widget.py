"""`GET /api/v1/gorgias/widget` (Gorgias HTTP integration) against the sandbox store."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

import card_fixtures
import jwt
import pytest
from card_fixtures import SHOP, calls
from factories import bearer, make_connection

from plugin.exceptions import ShopifyTimeoutError
from plugin.extensions import db
from plugin.helpdesks.gorgias import CONNECTION_HEADER, WIDGET_PATH
from plugin.helpdesks.packages.gorgias import WIDGET_QUERY
from plugin.models.base import utcnow
from plugin.sessions import decode_session

# Fixtures shared with tests/cards (tests/card_fixtures.py).
shop, store, world = card_fixtures.shop, card_fixtures.store, card_fixtures.world

BO = "bo.wang@example.com"
ASSIGNEE = {"assignee_email": "Sam@Example.com", "assignee_name": "Sam Agent"}


@pytest.fixture
def gorgias(shop):
    """A Gorgias connection of the `acme` shop."""
    return make_connection(shop, kind="gorgias", account="acme")


def headers_for(connection, secret: str | None = None) -> dict[str, str]:
    """The two headers the generated integration sends."""
    return {CONNECTION_HEADER: connection.public_id,
            **bearer(secret if secret is not None else connection.signing_secret)}


def widget(client, connection, **query):
    """Call the widget endpoint as Gorgias would."""
    query.setdefault("ticket", "4812")
    return client.get(WIDGET_PATH, query_string=query, headers=headers_for(connection))


def token_of(url: str) -> str:
    """The launch token of a card link."""
    return parse_qs(urlsplit(url).query)["launch_token"][0]


def boot(response) -> dict:
    """The JSON the card page hands its script (holds the session token)."""
    match = re.search(r'<script type="application/json" id="sidecard-boot">(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    assert match, "no boot JSON in the page"
    return json.loads(match.group(1))


def test_widget_answers_the_shape_the_generated_widget_renders(client, world, gorgias):
    """customer{name,email}, card_url, orders[{name, created_at, statuses, total, card_url}]."""
    response = widget(client, gorgias, email=BO, name="Bo Wang", **ASSIGNEE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    customer = body["customer"]
    assert (customer["name"], customer["email"], customer["phone"]) == (
        "Bo Wang", BO, "+14155550100")
    assert customer["orders_count"] == 4
    assert customer["amount_spent"].endswith(" USD") and customer["amount_spent"][0] == "$"
    assert set(customer["amount_spent_money"]) == {"amount", "currency"}
    assert body["card_url"].startswith("http://127.0.0.1:5000/cards/gorgias?launch_token=")
    assert [o["name"] for o in body["orders"]] == [
        world.newest.name, world.shipped.name, world.cancelled.name, world.refunded.name]
    required = {"name", "created_at", "financial_status", "fulfillment_status", "total",
                "card_url"}
    assert all(required <= set(o) for o in body["orders"])
    newest, shipped, cancelled, refunded = body["orders"]
    assert (newest["financial_status"], newest["fulfillment_status"]) == ("Paid", "Unfulfilled")
    assert shipped["fulfillment_status"] == "Partially fulfilled"
    assert cancelled["status"] == "Cancelled" and refunded["financial_status"] == "Refunded"
    assert newest["total"] == "$8.00 USD"
    assert newest["total_money"] == {"amount": "8.00", "currency": "USD"}
    assert newest["created_at"].startswith("20")
    # Every link is its own single-use token.
    links = [body["card_url"], *(o["card_url"] for o in body["orders"])]
    assert len({token_of(u) for u in links}) == len(links)
    assert body["match"] == "card" and body["links"]["identity"] == "verified"
    assert body["links"]["expires_in"] == 600 and body["links"]["single_use"] is True


def test_widget_query_of_the_generated_integration_is_understood(client, world, gorgias):
    """The package's URL template, filled as Gorgias fills it, gives a verified card link."""
    filled = {"{{ticket.customer.email}}": BO, "{{ticket.customer.name}}": "Bo Wang",
              "{{ticket.id}}": "4812", "{{ticket.assignee_user.email}}": "sam@example.com",
              "{{ticket.assignee_user.name}}": "Sam Agent"}
    query = {name: filled[template] for name, template in WIDGET_QUERY}
    response = client.get(WIDGET_PATH, query_string=query, headers=headers_for(gorgias))
    assert response.status_code == 200
    claims = jwt.decode(token_of(response.get_json()["card_url"]),
                        options={"verify_signature": False})
    assert (claims["sub"], claims["email"], claims["name"], claims["conversation"]) == (
        "sam@example.com", "sam@example.com", "Sam Agent", "4812")
    assert claims["customer"] == {"email": BO, "name": "Bo Wang"}
    assert claims["exp"] - claims["iat"] == 600


def test_tracking_comes_from_the_order_held_in_full(client, store, shop, gorgias):
    """The newest order is in the card in full: its first tracking link is in the widget."""
    cy = store.add_customer(SHOP, first_name="Cy", email="cy@example.com")
    order = store.add_order(SHOP, customer=cy, lines=[{"title": "Lamp", "price": "40.00"}])
    store.fulfill(order, company="UPS", number="1Z999AA10123456784")
    (entry,) = widget(client, gorgias, email="cy@example.com").get_json()["orders"]
    assert entry["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert entry["tracking"]["number"] == "1Z999AA10123456784"
    assert entry["fulfillment_status"] == "Fulfilled" and entry["total"] == "$40.00 USD"


def test_older_order_shows_tracking_once_opened_in_full(client, world, store, gorgias):
    """An older shipped order gains its tracking after the card opened it; still no call."""
    body = widget(client, gorgias, email=BO).get_json()
    shipped = next(o for o in body["orders"] if o["name"] == world.shipped.name)
    assert shipped["tracking_url"] is None  # only its row is known so far
    link = urlsplit(body["card_url"])
    token = boot(client.get(f"{link.path}?{link.query}"))["token"]
    assert client.get(f"/api/v1/orders/{world.shipped.id}",
                      headers=bearer(token)).status_code == 200
    before = calls(store)
    body = widget(client, gorgias, email=BO).get_json()
    shipped = next(o for o in body["orders"] if o["name"] == world.shipped.name)
    assert shipped["tracking"]["number"] == "1Z999AA10123456784"
    assert shipped["tracking_url"].startswith("https://")
    assert calls(store) == before


@pytest.mark.parametrize("bad_headers", [
    {},
    {"Authorization": "Bearer wrong-secret"},
    {CONNECTION_HEADER: "nope", "Authorization": "Bearer x"},
    "no-bearer",
    "other-kind",
])
def test_widget_refuses_missing_or_wrong_credentials(client, store, shop, gorgias, bad_headers):
    """No connection, wrong secret, unknown id, no bearer, or another kind's secret: 401."""
    if bad_headers == "no-bearer":
        bad_headers = {CONNECTION_HEADER: gorgias.public_id}
    elif bad_headers == "other-kind":
        zendesk = make_connection(shop, kind="zendesk", account="acme")
        bad_headers = headers_for(zendesk)
    elif CONNECTION_HEADER not in bad_headers and bad_headers:
        bad_headers = {**bad_headers, CONNECTION_HEADER: gorgias.public_id}
    response = client.get(WIDGET_PATH, query_string={"email": BO}, headers=bad_headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert calls(store) == 0


def test_disabled_connection_is_refused(client, world, store, gorgias):
    """A disabled connection's integration calls are 401."""
    gorgias.disabled_at = utcnow()
    db.session.commit()
    response = widget(client, gorgias, email=BO)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert calls(store) == 0


def test_uninstalled_shop_is_refused_as_not_installed(client, world, store, shop, gorgias):
    """A connection of a shop that uninstalled Sidecard: 401 `shop_not_installed`."""
    shop.clear_tokens()
    shop.uninstalled_at = utcnow()
    db.session.commit()
    response = widget(client, gorgias, email=BO)
    assert response.status_code == 401
    assert response.get_json()["error"] == "shop_not_installed"
    assert calls(store) == 0


@pytest.mark.parametrize("query", [
    {},
    {"name": "Bo Wang"},
    {"email": "", "phone": ""},
    {"email": "not-an-email"},
    {"phone": "12"},
    {"email": "a" * 250 + "@example.com"},
    {"phone": "1" * 60},
    {"email": BO, "name": "x" * 256},
    {"email": BO, "ticket": "12ab"},
    {"email": BO, "ticket": "1", "ticket_id": "2"},
    {"email": BO, "assignee_email": "sam"},
    {"email": BO, "assignee_email": "sam@example.com", "assignee_id": "5 or 1=1"},
    {"email": BO, "name": "Bo\x00Wang"},
])
def test_bad_queries_are_400_without_a_shopify_call(client, store, shop, gorgias, query):
    """No email or phone, unreadable, over-long or malformed values: contract 400."""
    response = client.get(WIDGET_PATH, query_string=query, headers=headers_for(gorgias))
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert response.get_json()["message"]
    assert calls(store) == 0


def test_no_match_answers_an_empty_widget_with_a_search_link(client, world, gorgias):
    """Nobody with that email: 200, `customer` null, no orders, a link to search the card."""
    response = widget(client, gorgias, email="nobody@example.com", **ASSIGNEE)
    assert response.status_code == 200
    body = response.get_json()
    assert body["customer"] is None and body["orders"] == [] and body["match"] == "none"
    card = client.get(urlsplit(body["card_url"]).path + "?" + urlsplit(body["card_url"]).query)
    assert card.status_code == 200
    html = card.get_data(as_text=True)
    assert "No Shopify customer found" in html and 'id="sc-q"' in html


def test_duplicate_accounts_are_merged_as_the_card_merges_them(client, world, gorgias):
    """Email and phone of one person's two accounts: one customer, both accounts' orders."""
    body = widget(client, gorgias, email=BO, phone="+14155550199").get_json()
    customer = body["customer"]
    assert customer["merged"] is True
    assert [a["id"] for a in customer["accounts"]] == [str(world.bo.id),
                                                       str(world.bo_phone_account.id)]
    assert customer["orders_count"] == 5
    names = [o["name"] for o in body["orders"]]
    assert world.phone_account_order.name in names and world.newest.name in names


def test_two_different_people_answer_the_email_account_and_a_chooser(client, world, gorgias):
    """Email and phone of two different people: the email's account; the card will ask."""
    body = widget(client, gorgias, email="ann.lee@example.com", phone="+14155550100").get_json()
    assert body["match"] == "chooser" and body["match_count"] == 2
    assert body["customer"]["email"] == "ann.lee@example.com"


def test_card_link_opens_the_card_once(client, world, gorgias):
    """GET the minted link: 200 HTML card; the same link again: 401 (already used)."""
    body = widget(client, gorgias, email=BO, **ASSIGNEE).get_json()
    link = body["orders"][1]["card_url"]
    path = urlsplit(link).path + "?" + urlsplit(link).query
    first = client.get(path)
    assert first.status_code == 200 and first.mimetype == "text/html"
    assert "Bo Wang" in first.get_data(as_text=True)
    again = client.get(path)
    assert again.status_code == 401
    assert "already used" in again.get_data(as_text=True)


def test_warm_widget_and_card_cost_no_shopify_call(client, world, store, gorgias):
    """Cold widget: one Shopify request; the next widget call and the card it opens: none."""
    widget(client, gorgias, email=BO)
    assert calls(store) == 1
    body = widget(client, gorgias, email=BO).get_json()
    assert calls(store) == 1
    link = urlsplit(body["card_url"])
    assert client.get(f"{link.path}?{link.query}").status_code == 200
    assert calls(store) == 1
    assert store.stats(SHOP)["operations"] == {"CardLaunch": 1}


def test_each_order_link_opens_the_card_on_that_order(client, world, store, gorgias):
    """Every order's link names its order (`order=<id>`) and opens the card with it expanded."""
    body = widget(client, gorgias, email=BO, **ASSIGNEE).get_json()
    assert "order" not in parse_qs(urlsplit(body["card_url"]).query)
    for entry in body["orders"]:
        link = urlsplit(entry["card_url"])
        assert parse_qs(link.query)["order"] == [entry["id"]]
        html = client.get(f"{link.path}?{link.query}").get_data(as_text=True)
        open_rows = re.findall(r'<details[^>]*data-order-url="/api/v1/orders/(\d+)"[^>]*open',
                               html)
        assert open_rows == [entry["id"]]
        assert "Bo Wang" in html and "Order not found" not in html
    # The card is the widget's; only the orders not yet held in full are fetched.
    assert store.stats(SHOP)["operations"] == {"CardLaunch": 1, "OrderDetail": 3}


@pytest.mark.parametrize(("query", "identity", "verified_by", "email", "agent_id"), [
    (ASSIGNEE, "verified", "gorgias_integration", "sam@example.com", "sam@example.com"),
    ({**ASSIGNEE, "assignee_id": "77"}, "verified", "gorgias_integration",
     "sam@example.com", "77"),
    ({}, "asserted", None, "unassigned@gorgias.invalid", "gorgias:4812"),
    ({"assignee_email": "", "assignee_name": ""}, "asserted", None,
     "unassigned@gorgias.invalid", "gorgias:4812"),
])
def test_session_is_verified_only_for_a_named_assignee(client, world, gorgias, query, identity,
                                                        verified_by, email, agent_id):
    """The card session is `gorgias_integration`-verified for the assignee; else asserted."""
    body = widget(client, gorgias, email=BO, **query).get_json()
    assert body["links"]["identity"] == identity
    link = urlsplit(body["card_url"])
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    session = decode_session(boot(page)["token"])
    assert (session.identity, session.verified_by) == (identity, verified_by)
    assert (session.email, session.agent_id, session.conversation) == (email, agent_id, "4812")


def test_proof_is_bound_to_the_assignee(client, world, gorgias):
    """Re-signing a widget link for another email (with the secret) leaves it asserted."""
    body = widget(client, gorgias, email=BO, **ASSIGNEE).get_json()
    claims = jwt.decode(token_of(body["card_url"]), options={"verify_signature": False})
    forged = jwt.encode({**claims, "email": "lead@example.com", "sub": "lead@example.com"},
                        gorgias.signing_secret, algorithm="HS256")
    answer = client.post("/api/v1/sessions", json={"launch_token": forged}).get_json()
    assert answer["agent"]["identity"] == "asserted"


def test_shopify_failure_is_a_502_json_error(client, world, store, gorgias):
    """Shopify failing: 502 with the contract's error body (Gorgias shows the failure)."""
    store.inject(SHOP, "http_500", times=None)
    response = widget(client, gorgias, email=BO)
    assert response.status_code == 502
    assert response.get_json()["error"].startswith("shopify_")


def test_shopify_timeout_is_a_504_json_error(client, world, gorgias, monkeypatch):
    """Shopify timing out: 504 `shopify_timeout`."""
    def timed_out(*_args, **_kwargs):
        raise ShopifyTimeoutError("Shopify did not answer in time")

    monkeypatch.setattr("plugin.card_data.service._execute", timed_out)
    response = widget(client, gorgias, email=BO)
    assert response.status_code == 504
    assert response.get_json()["error"] == "shopify_timeout"


def test_tokens_and_emails_never_reach_the_logs(client, world, gorgias, caplog):
    """Logs name the connection and ticket, never a launch token or an email address."""
    with caplog.at_level(logging.DEBUG):
        body = widget(client, gorgias, email=BO, **ASSIGNEE).get_json()
    text = caplog.text
    assert "gorgias widget" in text and gorgias.public_id in text
    assert token_of(body["card_url"]) not in text
    assert BO not in text and "sam@example.com" not in text.lower()
