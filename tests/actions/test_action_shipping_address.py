"""The `update_shipping_address` action: validation per country, and orderUpdate before
fulfillment, against the sandbox store."""

from __future__ import annotations

import action_fixtures
import pytest
from action_fixtures import AGENT, SHOP, calls, fresh_order, run

from plugin.actions import get_action
from plugin.exceptions import ActionUnavailableError, ShopifyUserError, ValidationError

NEW = {"first_name": "Bo", "last_name": "Wang", "company": None, "address1": "500 Main St",
       "address2": "Apt 4", "city": "Springfield", "province_code": "IL", "zip": "62701",
       "country_code": "US", "phone": "+1 217-555-0100"}

# Fixtures shared by the action tests (tests/actions/action_fixtures.py).
shop, shopify, store = action_fixtures.shop, action_fixtures.shopify, action_fixtures.store


@pytest.fixture
def action():
    """The registered address action."""
    return get_action("update_shipping_address")


def unshipped(store, **kwargs):
    """An order to San Francisco with one physical line, nothing shipped."""
    kwargs.setdefault("lines", [{"title": "Lamp", "price": "25.00"}])
    return store.add_order(SHOP, shipping_address={"first_name": "Bo", "last_name": "Wang",
                                             "address1": "1 Market St", "city": "San Francisco",
                                             "province_code": "CA", "zip": "94105",
                                             "country_code": "US"}, **kwargs)


def with_address(**changes):
    """NEW with some fields changed (None removes the key)."""
    address = dict(NEW, **changes)
    return {"address": {k: v for k, v in address.items() if v is not None or k not in changes}}


def test_address_is_replaced_on_an_unshipped_order(store, shopify, action):
    """The sandbox order gets the new address; the preview shows old and new."""
    order = unshipped(store)
    _, preview, result = run("update_shipping_address", shopify, order, {"address": NEW})
    saved = order.shipping_address
    assert (saved.address1, saved.address2, saved.city, saved.province_code, saved.zip,
            saved.country_code) == ("500 Main St", "Apt 4", "Springfield", "IL", "62701", "US")
    assert saved.phone == "+1 217-555-0100" and saved.company is None
    assert preview["old"]["city"] == "San Francisco" and preview["new"]["city"] == "Springfield"
    assert set(preview["changed"]) >= {"address1", "city", "province_code", "zip"}
    assert result.details["new"] == "500 Main St, Apt 4, Springfield IL 62701, US"
    assert result.shopify_request_id


def test_summary_names_the_new_address(store, shopify, action):
    """One line with agent, order and the new address."""
    order = unshipped(store)
    presented, _, result = run("update_shipping_address", shopify, order, {"address": NEW})
    assert action.summary(presented, action.validate({"address": NEW}), result, AGENT) == (
        f"Dana (dana@x.com) changed the shipping address of order {order.name} to "
        "500 Main St, Apt 4, Springfield IL 62701, US")


@pytest.mark.parametrize("state", ["partially_fulfilled", "fulfilled", "cancelled", "digital"])
def test_unavailable_once_shipping_started_or_nothing_ships(store, shopify, action, state):
    """Shipped (even partly), cancelled, or nothing to ship: 409 with a reason, no call."""
    if state == "digital":
        order = store.add_order(SHOP, lines=[{"title": "E-book", "price": "9.00",
                                              "requires_shipping": False}])
    else:
        order = unshipped(store, lines=[{"title": "Lamp", "price": "25.00", "quantity": 2}])
    if state == "partially_fulfilled":
        store.fulfill(order, {order.lines[0].id: 1})
    elif state == "fulfilled":
        store.fulfill(order)
    elif state == "cancelled":
        run("cancel", shopify, order, {"reason": "CUSTOMER"})
    presented = fresh_order(shopify, order)
    assert action.availability(presented).available is False
    before = calls(store)
    with pytest.raises(ActionUnavailableError) as caught:
        action.check(presented, action.validate({"address": NEW}))
    assert caught.value.to_dict()["reason"]
    assert calls(store) == before


def test_shopify_user_errors_are_422(store, shopify, action):
    """An order Shopify no longer has: its userError, as given, 422."""
    order = unshipped(store)
    presented = fresh_order(shopify, order)
    store.orders.pop(order.id)
    with pytest.raises(ShopifyUserError) as caught:
        action.perform(shopify, presented, action.validate({"address": NEW}),
                       idempotency_key="k")
    assert caught.value.http_status == 422
    assert caught.value.errors == [{"field": ["id"], "message": "Order does not exist"}]


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, {"country_code": "US", "province_code": "IL", "zip": "62701"}),
    ({"country_code": "us", "province_code": "il"}, {"country_code": "US",
                                                     "province_code": "IL"}),
    ({"zip": "62701-1234"}, {"zip": "62701-1234"}),
    ({"country_code": "CA", "province_code": "QC", "zip": "h2x 1y4"},
     {"province_code": "QC", "zip": "H2X 1Y4"}),
    ({"country_code": "AU", "province_code": "NSW", "zip": "2000"}, {"province_code": "NSW"}),
    ({"country_code": "GB", "province_code": None, "zip": "SW1A 1AA"},
     {"province_code": None, "zip": "SW1A 1AA"}),
    ({"country_code": "DE", "province_code": None, "zip": "10115"}, {"country_code": "DE"}),
    ({"country_code": "JP", "province_code": "JP-13", "zip": "100-0001"},
     {"province_code": "JP-13"}),
    ({"country_code": "AE", "province_code": None, "zip": None}, {"zip": None}),
    ({"country_code": "HK", "province_code": None, "zip": ""}, {"zip": None}),
    ({"address2": "", "company": "  ", "phone": None}, {"address2": None, "company": None,
                                                        "phone": None}),
    ({"city": "  Springfield  "}, {"city": "Springfield"}),
])
def test_valid_addresses_are_normalised(action, changes, expected):
    """Codes upper-cased, blanks dropped, every field present in the result."""
    body = action.validate(with_address(**changes))
    assert set(body["address"]) == set(NEW)
    for key, value in expected.items():
        assert body["address"][key] == value


@pytest.mark.parametrize(("body", "field"), [
    (None, "body"),
    ({}, "address"),
    ({"address": "500 Main St"}, "address"),
    ({"address": NEW, "notify": True}, "notify"),
    (with_address(address1=""), "address.address1"),
    ({"address": {k: v for k, v in NEW.items() if k != "address1"}}, "address.address1"),
    ({"address": {k: v for k, v in NEW.items() if k != "city"}}, "address.city"),
    ({"address": {k: v for k, v in NEW.items() if k != "country_code"}},
     "address.country_code"),
    (with_address(country_code="USA"), "address.country_code"),
    (with_address(country_code="XX"), "address.country_code"),
    (with_address(country_code="ZZ"), "address.country_code"),
    (with_address(country_code=1), "address.country_code"),
    ({"address": {k: v for k, v in NEW.items() if k != "province_code"}},
     "address.province_code"),
    (with_address(province_code="ZZ"), "address.province_code"),
    (with_address(country_code="CA", province_code="IL", zip="H2X 1Y4"),
     "address.province_code"),
    (with_address(country_code="AU", province_code=None, zip="2000"), "address.province_code"),
    (with_address(country_code="MX", province_code=None, zip="01000"),
     "address.province_code"),
    (with_address(zip="1234"), "address.zip"),
    (with_address(zip=None), "address.zip"),
    (with_address(zip=62701), "address.zip"),
    (with_address(country_code="CA", province_code="QC", zip="12345"), "address.zip"),
    (with_address(country_code="GB", province_code=None, zip=""), "address.zip"),
    (with_address(city="x" * 256), "address.city"),
    (with_address(first_name="x" * 256), "address.first_name"),
    (with_address(city=123), "address.city"),
    (with_address(company=["Acme"]), "address.company"),
    (with_address(address1="1 Main\nSt"), "address.address1"),
    (with_address(phone="call me"), "address.phone"),
    ({"address": dict(NEW, country="United States")}, "address.country"),
])
def test_invalid_addresses_are_400_naming_the_field(action, body, field):
    """Missing, unknown, malformed or oversized fields: 400 with the field in the body."""
    with pytest.raises(ValidationError) as caught:
        action.validate(body)
    assert caught.value.http_status == 400
    assert caught.value.to_dict()["field"] == field
