"""seed.json: every interesting order state, and Sidecard's own operations run against it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_kit import SHOP, gid

from plugin.sandbox import SandboxStore
from plugin.shopify.operations import load, names

MAPLE = "maple-outfitters.myshopify.com"


@pytest.fixture(scope="module")
def seed() -> SandboxStore:
    """One seeded store for the read-only checks of this module."""
    return SandboxStore.seeded()


def test_two_shops_in_two_currencies(seed):
    """The demo shop in USD and a second shop in CAD."""
    assert {d: s.currency for d, s in seed.shops.items()} == {SHOP: "USD", MAPLE: "CAD"}
    assert len(seed.shop_orders(SHOP)) >= 15 and len(seed.shop_customers(SHOP)) >= 6


@pytest.mark.parametrize(("name", "financial", "fulfillment"), [
    ("#1001", "PAID", "FULFILLED"),
    ("#1002", "PAID", "UNFULFILLED"),
    ("#1003", "PAID", "PARTIALLY_FULFILLED"),
    ("#1004", "PARTIALLY_REFUNDED", "FULFILLED"),
    ("#1005", "REFUNDED", "RESTOCKED"),
    ("#1006", "REFUNDED", "RESTOCKED"),
    ("#1007", "PENDING", "UNFULFILLED"),
    ("#1008", "AUTHORIZED", "UNFULFILLED"),
    ("#1009", "VOIDED", "UNFULFILLED"),
    ("#1012", "PAID", "ON_HOLD"),
    ("#1016", "PARTIALLY_PAID", "UNFULFILLED"),
])
def test_seeded_order_states(seed, name, financial, fulfillment):
    """Each interesting state is there, derived from transactions, fulfillments and refunds."""
    order = seed.order_by_name(SHOP, name)
    assert (order.financial_status, order.fulfillment_status) == (financial, fulfillment)


def test_seeded_special_cases(seed):
    """Cancelled, old, multi-currency, open return, discount, tracking, guest checkout."""
    order = {o.name: o for o in seed.shop_orders(SHOP)}
    assert order["#1006"].cancelled_at is not None
    assert seed.now() - order["#1010"].created_at > timedelta(days=60)
    assert order["#1013"].presentment_currency == "EUR"
    assert order["#1014"].return_status == "IN_PROGRESS"
    assert order["#1002"].discount_codes == ["WELCOME10"] and order["#1002"].total_discounts > 0
    assert order["#1002"].note and order["#1002"].tags
    assert order["#1015"].customer_id is None
    carriers = {t.company for o in order.values() for f in o.fulfillments for t in f.tracking}
    assert {"UPS", "USPS", "DHL Express"} <= carriers
    assert all(t.url and t.url.startswith("https://") for o in order.values()
               for f in o.fulfillments for t in f.tracking)


def test_seeded_customers(seed):
    """One person with two accounts (found by email and by phone), one with no orders; emails
    and phones are unique per shop, in E.164, as Shopify keeps them."""
    customers = seed.shop_customers(SHOP)
    lucia = [c for c in customers if c.display_name == "Lucía Fernández"]
    assert len(lucia) == 2 and len({c.email for c in lucia}) == 2
    assert any(c.phone == "+13105550144" for c in lucia)
    assert any(not seed.customer_orders(c) for c in customers)
    phones = [c.phone for c in customers if c.phone]
    emails = [c.email for c in customers]
    assert len(set(phones)) == len(phones) and len(set(emails)) == len(emails)
    assert all(phone.startswith("+") for phone in phones)


def test_seed_ids_are_stable(seed):
    """Two loads give the same GIDs (tests and the demo can rely on them)."""
    again = SandboxStore.seeded()
    assert sorted(seed.orders) == sorted(again.orders)
    assert sorted(seed.customers) == sorted(again.customers)


def _variables(store: SandboxStore) -> dict[str, dict]:
    """Variables for each Sidecard operation, pointing at seeded records."""
    bo = next(c for c in store.shop_customers(SHOP) if c.email == "bo.wang@example.com")
    unfulfilled, refunded = store.order_by_name(SHOP, "#1002"), store.order_by_name(SHOP, "#1004")
    return {
        "ShopInfo": {},
        "CustomerSearch": {"query": 'email:"bo.wang@example.com"'},
        "OrderSearch": {"query": "name:1004"},
        "CardSearch": {"emailQuery": 'email:"bo.wang@example.com"', "byEmail": True,
                       "phoneQuery": 'phone:"+13105550144"', "byPhone": True,
                       "nameQuery": '"wang"', "byName": True, "orderQuery": "name:1004",
                       "byOrder": True},
        "CustomerCard": {"id": gid("Customer", bo.id)},
        "CardCustomers": {"id": gid("Customer", bo.id), "secondId": gid("Customer", bo.id),
                          "withSecond": True},
        "OrderDetail": {"id": gid("Order", refunded.id)},
        "SuggestedRefund": {"id": gid("Order", refunded.id), "suggestFullRefund": True},
        "OrderUpdate": {"input": {"id": gid("Order", unfulfilled.id), "note": "n"}},
        "TagsAdd": {"id": gid("Order", unfulfilled.id), "tags": ["x"]},
        "TagsRemove": {"id": gid("Order", unfulfilled.id), "tags": ["x"]},
        "OrderCancel": {"orderId": gid("Order", unfulfilled.id), "reason": "CUSTOMER",
                        "restock": True, "refundMethod": {"originalPaymentMethodsRefund": True}},
        "JobPoll": {"id": "gid://shopify/Job/unknown"},
        "RefundCreate": {"key": "k", "input": {"orderId": gid("Order", refunded.id),
                                               "note": "test", "shipping": {"fullRefund": True}}},
    }


def test_sidecards_operations_run_cleanly_against_the_seed(seeded):
    """Each of plugin/shopify/operations answers without errors, under the cost limit, and
    selects only fields the sandbox models."""
    variables = _variables(seeded.store)
    ran = []
    for name in sorted(set(names()) & set(variables)):
        operation = load(name)
        response = seeded.http.post(
            "/" + SHOP + "/admin/api/2026-10/graphql.json",
            json={"query": operation.text, "variables": variables[name], "operationName": name},
            headers={"X-Shopify-Access-Token": seeded.token})
        body = response.json()
        assert "errors" not in body, (name, body["errors"])
        assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000
        ran.append(name)
    assert len(ran) >= 10
    assert seeded.store.unmodelled_fields == set()
