"""`/cards/<kind>?order=`: the card opens on one order of the session's shop."""

from __future__ import annotations

import re

import pytest
from card_fixtures import OTHER_SHOP, SHOP, calls

BOO = {"email": "bo.wang@example.com"}
MALFORMED = "That order link is malformed"
NOT_FOUND = "Order not found"


def expanded(html: str, order_id) -> bool:
    """Whether the order's row is rendered open."""
    return re.search(rf'<details[^>]*data-order-url="/api/v1/orders/{order_id}"[^>]*open',
                     html) is not None


def open_card(client, token: str, order: str, *, method: str = "get") -> tuple[int, str]:
    """Open the Zendesk card with `order` in the query (GET) or the form (POST)."""
    if method == "post":
        response = client.post("/cards/zendesk", data={"launch_token": token, "order": order})
    else:
        response = client.get("/cards/zendesk",
                              query_string={"launch_token": token, "order": order})
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("as_gid", [False, True])
def test_card_opens_on_the_order_and_its_customer(client, world, store, launch, method,
                                                  as_gid):
    """The order's customer (not the token's requester hint) with that order expanded."""
    order = store.add_order(SHOP, customer=world.ann_lee, days_ago=2,
                            lines=[{"title": "Kettle", "price": "25.00", "sku": "KTL-1"}])
    store.reset()
    value = f"gid://shopify/Order/{order.id}" if as_gid else str(order.id)
    status, html = open_card(client, launch(BOO), value, method=method)
    assert status == 200
    assert "Ann Lee" in html and "Bo Wang" not in html
    assert expanded(html, order.id)
    assert "KTL-1" in html  # its detail is in the page, not fetched later
    assert MALFORMED not in html and NOT_FOUND not in html


def test_an_older_order_is_expanded_instead_of_the_newest(client, world, launch):
    """Opening on an older order expands it in full; the newest stays closed."""
    status, html = open_card(client, launch(BOO), str(world.shipped.id))
    assert status == 200
    assert expanded(html, world.shipped.id) and not expanded(html, world.newest.id)
    assert "MUG-1" in html and 'data-action="cancel"' in html


def test_an_order_past_the_first_page_is_still_shown_open(app, client, world, launch):
    """An order older than the card's first page is shown first, open."""
    app.config["CARD_ORDERS_PAGE_SIZE"] = 2
    status, html = open_card(client, launch(BOO), str(world.refunded.id))
    assert status == 200
    assert expanded(html, world.refunded.id) and "SCF-1" in html
    assert html.count(f'id="sc-order-{world.refunded.id}"') == 1


@pytest.mark.parametrize("value", [
    "abc", "0", "-5", "012", "12 ", "12\n", "1.5", "1" * 21, "12;drop", "gid://shopify/Customer/5",
    "gid://shopify/Order/x", "gid://shopify/Order/", "https://evil.example/1",
])
def test_malformed_order_shows_the_requester_card_with_a_notice(client, world, store, launch,
                                                                value):
    """A malformed id: 200, the requester's card and a notice; the order is never looked up."""
    status, html = open_card(client, launch(BOO), value)
    assert status == 200
    assert MALFORMED in html
    assert "Bo Wang" in html and expanded(html, world.newest.id)
    assert store.stats(SHOP)["operations"] == {"CardLaunch": 1}


def test_empty_order_is_ignored(client, world, launch):
    """`order=` (as a template with nothing to fill gives it): the plain card, no notice."""
    status, html = open_card(client, launch(BOO), "")
    assert status == 200
    assert MALFORMED not in html and NOT_FOUND not in html
    assert expanded(html, world.newest.id)


@pytest.mark.parametrize("whose", ["other_shop", "unknown"])
def test_order_not_in_this_shop_shows_the_requester_card_with_a_notice(client, world, store,
                                                                      launch, whose):
    """Another shop's order (or no such order) is not found through this shop's client."""
    if whose == "other_shop":
        stranger = store.add_customer(OTHER_SHOP, first_name="Eve", last_name="Other",
                                      email="eve@example.com")
        order_id = store.add_order(OTHER_SHOP, customer=stranger,
                                   lines=[{"title": "Secret", "price": "99.00",
                                           "sku": "SEC-1"}]).id
        store.reset()
    else:
        order_id = 987654321
    status, html = open_card(client, launch(BOO), str(order_id))
    assert status == 200
    assert NOT_FOUND in html
    assert "Bo Wang" in html and "Eve" not in html and "SEC-1" not in html
    assert calls(store, OTHER_SHOP) == 0


def test_warm_card_on_an_order_costs_no_shopify_call(client, world, store, launch):
    """Cold: the order and its customer's card (two requests); warm: none."""
    open_card(client, launch(BOO), str(world.shipped.id))
    assert store.stats(SHOP)["operations"] == {"OrderDetail": 1, "CardCustomers": 1}
    before = calls(store)
    status, html = open_card(client, launch(BOO), str(world.shipped.id))
    assert status == 200 and expanded(html, world.shipped.id)
    assert calls(store) == before


def test_order_after_a_launch_reuses_the_cached_card(client, world, store, launch):
    """After the requester's card was opened, a link to their newest order costs nothing."""
    open_card(client, launch(BOO), "")
    before = calls(store)
    status, html = open_card(client, launch(BOO), str(world.newest.id))
    assert status == 200 and expanded(html, world.newest.id)
    assert calls(store) == before


def test_a_guest_order_says_it_has_no_customer_account(client, world, store, launch):
    """An order placed without a customer account shows the requester's card and says why."""
    guest = store.add_order(SHOP, customer=None, email="guest@example.com", days_ago=1,
                            lines=[{"title": "Kettle", "price": "25.00", "sku": "KTL-1"}])
    status, html = open_card(client, launch(BOO), str(guest.id))
    assert status == 200
    assert "placed without a customer account" in html
    assert "Bo Wang" in html and NOT_FOUND not in html
