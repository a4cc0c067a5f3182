"""`GET /api/v1/customers` and `GET /api/v1/customers/{id}` against the sandbox store."""

from __future__ import annotations

import card_fixtures
import pytest
from card_fixtures import SHOP, calls
from factories import bearer

# Fixtures shared with tests/cards (tests/card_fixtures.py).
connection, session_token, shop, store, world = (
    card_fixtures.connection, card_fixtures.session_token, card_fixtures.shop,
    card_fixtures.store, card_fixtures.world)

HTML = {"Accept": "text/html"}


def get(client, url, token, **headers):
    """GET with the session token."""
    return client.get(url, headers={**bearer(token), **headers})


def test_customers_by_email_have_the_contract_shape(client, world, session_token):
    """Each customer: numeric id, gid, name, email, phone, counts, money, tags, recent orders."""
    response = get(client, "/api/v1/customers?email=bo.wang@example.com", session_token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    (customer,) = response.get_json()["customers"]
    assert customer["id"] == str(world.bo.id)
    assert customer["gid"] == f"gid://shopify/Customer/{world.bo.id}"
    assert (customer["name"], customer["email"], customer["phone"]) == (
        "Bo Wang", "bo.wang@example.com", "+14155550100")
    assert customer["orders_count"] == 4
    assert set(customer["amount_spent"]) == {"amount", "currency"}
    assert isinstance(customer["amount_spent"]["amount"], str)
    assert customer["tags"] == ["vip", "wholesale"]
    assert customer["matched_by"] == ["email"]
    assert [o["name"] for o in customer["recent_orders"]] == [
        world.newest.name, world.shipped.name, world.cancelled.name]
    assert customer["recent_orders"][0]["status"]["payment"] == "paid"


def test_customers_by_email_and_phone_report_a_merge(client, world, session_token):
    """Two accounts of one requester come back both, flagged `merged`."""
    body = get(client, "/api/v1/customers?email=bo.wang@example.com&phone=%2B14155550199",
               session_token).get_json()
    assert body["merged"] is True
    assert [c["matched_by"] for c in body["customers"]] == [["email"], ["phone"]]


@pytest.mark.parametrize(("q", "expected"), [("#1003", "bo"), ("1003", "bo"),
                                             ("ann.lee@example.com", "ann_lee"),
                                             ("+442079460958", "ann_lee"), ("Smith", "ann_smith")])
def test_search_q_finds_by_order_number_email_phone_or_name(client, world, session_token,
                                                             q, expected):
    """`q` reads order numbers, emails, phones and names."""
    body = client.get("/api/v1/customers", query_string={"q": q},
                      headers=bearer(session_token)).get_json()
    assert str(getattr(world, expected).id) in [c["id"] for c in body["customers"]]


@pytest.mark.parametrize("query", [{"q": ""}, {"q": "   "}, {"q": "x" * 201}, {},
                                   {"q": "bo", "email": "bo@example.com"},
                                   {"email": "not-an-email"}, {"phone": "12"},
                                   {"phone": "1" * 60}])
def test_bad_searches_are_400_without_a_shopify_call(client, store, session_token, query):
    """Empty, huge, mixed or unreadable input: 400 with the contract's error body."""
    response = client.get("/api/v1/customers", query_string=query,
                          headers=bearer(session_token))
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert calls(store) == 0


def test_search_syntax_is_literal_over_the_api(client, world, session_token):
    """A `q` full of operators matches nothing rather than everyone."""
    response = client.get("/api/v1/customers", query_string={"q": 'email:* OR "" *'},
                          headers=bearer(session_token))
    assert response.status_code == 200
    assert response.get_json()["customers"] == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic abc"}])
def test_customers_need_a_session(client, store, shop, headers):
    """Missing or bad bearer: 401 JSON."""
    response = client.get("/api/v1/customers?email=bo.wang@example.com", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert "Set-Cookie" not in response.headers


def test_customer_card_json_pages_through_orders(app, client, world, session_token):
    """`GET /customers/{id}`: header, a page of orders, the newest in full with actions."""
    app.config["CARD_ORDERS_PAGE_SIZE"] = 3
    first = get(client, f"/api/v1/customers/{world.bo.id}", session_token).get_json()
    assert first["customer"]["name"] == "Bo Wang"
    assert len(first["orders"]) == 3
    assert {a["name"] for a in first["latest_order"]["actions"]} == {
        "refund", "cancel", "update_shipping_address", "edit_tags", "edit_note"}
    cursor = first["page_info"]["end_cursor"]
    second = client.get(f"/api/v1/customers/{world.bo.id}", query_string={"after": cursor},
                        headers=bearer(session_token)).get_json()
    assert [o["name"] for o in second["orders"]] == [world.refunded.name]
    assert second["page_info"]["has_next_page"] is False and second["latest_order"] is None


def test_customer_card_accepts_a_gid_and_404s_unknown(client, world, session_token):
    """Numeric id or GID; an unknown customer is a 404 JSON error."""
    gid = f"gid://shopify/Customer/{world.bo.id}"
    assert get(client, f"/api/v1/customers/{gid}", session_token).status_code == 200
    missing = get(client, "/api/v1/customers/12345", session_token)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert get(client, "/api/v1/customers/abc", session_token).status_code == 400


def test_html_search_answers_the_card_partial(client, world, session_token):
    """The card's script asks for text/html: one match renders the card partial."""
    response = client.get("/api/v1/customers", query_string={"q": "#1003"},
                          headers={**bearer(session_token), **HTML})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'data-result="card"' in html
    # The matched order is the one opened.
    assert f'id="sc-order-{world.shipped.id}"' in html
    assert "<html" not in html


def test_html_search_with_several_matches_answers_a_chooser(client, world, session_token):
    """Several matches: the chooser partial."""
    html = client.get("/api/v1/customers", query_string={"q": "Ann"},
                      headers={**bearer(session_token), **HTML}).get_data(as_text=True)
    assert 'data-result="chooser"' in html and "2 customers match" in html


def test_html_load_more_answers_rows_and_the_next_button(app, client, world, session_token):
    """`after` with text/html: the next order rows for "Load more orders"."""
    app.config["CARD_ORDERS_PAGE_SIZE"] = 2
    first = get(client, f"/api/v1/customers/{world.bo.id}", session_token).get_json()
    html = client.get(f"/api/v1/customers/{world.bo.id}",
                      query_string={"after": first["page_info"]["end_cursor"]},
                      headers={**bearer(session_token), **HTML}).get_data(as_text=True)
    assert "data-order-rows" in html
    assert f'data-order-id="{world.cancelled.id}"' in html
    assert "data-load-more" not in html  # that was the last page


def test_shopify_down_is_a_502_json_error(client, world, store, session_token):
    """Shopify failing: 502 with the contract's error body."""
    store.inject(SHOP, "http_503", times=None, seconds=0)
    response = get(client, "/api/v1/customers?email=bo.wang@example.com", session_token)
    assert response.status_code == 502
    assert response.get_json()["error"] == "shopify_failed"
