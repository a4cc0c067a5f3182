"""`GET /api/v1/orders/{order_id}` against the sandbox store."""

from __future__ import annotations

import card_fixtures
import pytest
from card_fixtures import OTHER_SHOP, SHOP, calls, install
from factories import bearer, make_connection, open_session

# Fixtures shared with tests/cards (tests/card_fixtures.py).
connection, session_token, shop, store, world = (
    card_fixtures.connection, card_fixtures.session_token, card_fixtures.shop,
    card_fixtures.store, card_fixtures.world)


def test_order_has_statuses_items_tracking_address_refunds_and_actions(client, world,
                                                                      session_token):
    """The contract's order: statuses, items, fulfillments with tracking, address, actions."""
    response = client.get(f"/api/v1/orders/{world.shipped.id}", headers=bearer(session_token))
    assert response.status_code == 200
    order = response.get_json()
    assert order["id"] == str(world.shipped.id)
    assert order["status"] == {"order": "open", "payment": "paid",
                               "fulfillment": "partially_fulfilled", "return": "no_return"}
    assert order["line_items"][0]["sku"] == "MUG-1"
    assert order["fulfillments"][0]["tracking"][0]["number"] == "1Z999AA10123456784"
    assert order["shipping_address"]["city"] == "San Francisco"
    assert order["refunds"] == []
    assert order["admin_url"] == (
        f"https://admin.shopify.com/store/acme/orders/{world.shipped.id}")
    actions = {a["name"]: a for a in order["actions"]}
    assert set(actions) == {"refund", "cancel", "update_shipping_address", "edit_tags",
                            "edit_note"}
    assert actions["refund"].items() >= {"name": "refund", "label": "Refund", "available": True,
                                         "reason": None}.items()
    assert actions["cancel"]["available"] is False and actions["cancel"]["reason"]


@pytest.mark.parametrize(("order", "action", "available"), [
    ("newest", "cancel", True),
    ("newest", "refund", True),
    ("cancelled", "cancel", False),
    ("cancelled", "refund", False),
    ("cancelled", "update_shipping_address", False),
    ("refunded", "refund", False),
    ("refunded", "edit_tags", True),
    ("shipped", "update_shipping_address", False),  # only before fulfillment (issue 4)
    ("newest", "update_shipping_address", True),
])
def test_actions_follow_the_order_state(client, world, session_token, order, action, available):
    """Cancel needs nothing shipped and not cancelled; refund needs money left; tags always."""
    body = client.get(f"/api/v1/orders/{getattr(world, order).id}",
                      headers=bearer(session_token)).get_json()
    entry = next(a for a in body["actions"] if a["name"] == action)
    assert entry["available"] is available
    assert (entry["reason"] is None) is available


def test_order_accepts_a_gid(client, world, session_token):
    """`gid://shopify/Order/N` works as well as N."""
    response = client.get(f"/api/v1/orders/gid://shopify/Order/{world.newest.id}",
                          headers=bearer(session_token))
    assert response.status_code == 200
    assert response.get_json()["id"] == str(world.newest.id)


@pytest.mark.parametrize("order_id", ["abc", "gid://shopify/Customer/1", "0", "1" * 30])
def test_malformed_order_id_is_400(client, store, session_token, order_id):
    """Only numeric ids and order GIDs reach Shopify."""
    response = client.get(f"/api/v1/orders/{order_id}", headers=bearer(session_token))
    assert response.status_code == 400
    assert calls(store) == 0


def test_unknown_order_is_404(client, world, session_token):
    """An order this shop doesn't have: 404 JSON."""
    response = client.get("/api/v1/orders/424242", headers=bearer(session_token))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_another_shops_order_cannot_be_read(client, world, store, session_token):
    """A session only ever queries its own shop: the other shop's order is not found."""
    eve = store.add_customer(OTHER_SHOP, first_name="Eve", email="eve@example.com")
    foreign = store.add_order(OTHER_SHOP, customer=eve)
    install(store, OTHER_SHOP)
    response = client.get(f"/api/v1/orders/{foreign.id}", headers=bearer(session_token))
    assert response.status_code == 404


def test_other_shops_session_reads_only_its_own_orders(client, world, store):
    """The other shop's agent can't read acme's order either."""
    other = install(store, OTHER_SHOP)
    token = open_session(client, make_connection(other, kind="zendesk", account="other"))["token"]
    response = client.get(f"/api/v1/orders/{world.shipped.id}", headers=bearer(token))
    assert response.status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer x.y.z"}])
def test_order_needs_a_session(client, world, headers):
    """Missing or bad bearer: 401 JSON."""
    response = client.get(f"/api/v1/orders/{world.shipped.id}", headers=headers)
    assert response.status_code == 401


def test_second_read_is_cached_and_html_partial_renders(client, world, store, session_token):
    """A repeat read costs no Shopify call; text/html answers the order partial."""
    client.get(f"/api/v1/orders/{world.shipped.id}", headers=bearer(session_token))
    response = client.get(f"/api/v1/orders/{world.shipped.id}",
                          headers={**bearer(session_token), "Accept": "text/html"})
    assert calls(store) == 1
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert f'data-order-detail="{world.shipped.id}"' in html
    assert "1Z999AA10123456784" in html and "Leave at the door" in html


def test_shopify_down_is_502_json(client, world, store, session_token):
    """Shopify failing: 502 JSON, no stack trace."""
    store.inject(SHOP, "http_500", times=None)
    response = client.get(f"/api/v1/orders/{world.shipped.id}", headers=bearer(session_token))
    assert response.status_code == 502
    assert response.get_json()["error"] == "shopify_failed"
