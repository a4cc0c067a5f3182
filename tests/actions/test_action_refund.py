"""The `refund` action against the sandbox store's refund rules."""

from __future__ import annotations

from decimal import Decimal

import action_fixtures
import pytest
from action_fixtures import AGENT, SHOP, calls, fresh_order, run

from plugin.actions import get_action
from plugin.actions.refund import shopify_idempotency_key
from plugin.exceptions import (
    ActionUnavailableError,
    IdempotencyConflictError,
    ShopifyUserError,
    ValidationError,
)
from plugin.sandbox.models import Transaction

# Fixtures shared by the action tests (tests/actions/action_fixtures.py).
shop, shopify, store = action_fixtures.shop, action_fixtures.shopify, action_fixtures.store


def paid_order(store, **kwargs):
    """Mugs 2 × 12.50 and a Tee 20.00, 10 % tax, 5.00 shipping: 54.50 paid by card."""
    options = {"lines": [{"title": "Mug", "price": "12.50", "quantity": 2,
                          "variant_title": "Blue"},
                         {"title": "Tee", "price": "20.00", "quantity": 1}],
               "shipping": "5.00", "tax_rate": "0.10"}
    options.update(kwargs)
    return store.add_order(SHOP, **options)


def refund_lines(order):
    """(line title, quantity, restock type) of every refund line recorded in the sandbox."""
    return sorted((order.line(rl.line_item_id).title, rl.quantity, rl.restock_type)
                  for r in order.refunds for rl in r.lines)


@pytest.fixture
def action():
    """The registered refund action."""
    return get_action("refund")


def test_full_refund_refunds_everything_paid(store, shopify):
    """`{"full": true}` refunds lines, tax and shipping: the whole 54.50."""
    order = paid_order(store)
    presented, preview, result = run("refund", shopify, order,
                                     {"full": True, "reason": "damaged", "notify": True})
    assert preview["total"] == {"amount": "54.50", "currency": "USD"}
    assert preview["tax"] == {"amount": "4.50", "currency": "USD"}
    assert preview["shipping"]["amount"] == {"amount": "5.00", "currency": "USD"}
    assert preview["gateways"] == ["Shopify Payments"]
    assert order.refunded == Decimal("54.50")
    assert order.financial_status == "REFUNDED"
    assert order.refunds[0].note == "damaged"
    assert result.details["amount"] == "54.50" and result.details["currency"] == "USD"
    assert result.details["refund_id"] == str(order.refunds[0].id)
    assert result.shopify_request_id
    # The refund reuses the suggestion its preview just showed: one suggestedRefund call.
    assert store.stats(SHOP)["operations"]["RefundPreview"] == 1


def test_partial_refund_by_amount_moves_only_money(store, shopify):
    """A manual amount alone refunds that much and touches no line item."""
    order = paid_order(store)
    _, preview, result = run("refund", shopify, order, {"amount": "10.00"})
    assert preview["total"]["amount"] == "10.00" and preview["manual_amount"] is True
    assert order.refunded == Decimal("10.00")
    assert refund_lines(order) == []
    assert result.details["amount"] == "10.00"


def test_chosen_lines_with_restock_return_shipped_and_cancel_unshipped_units(store, shopify):
    """Restocking 2 mugs, 1 shipped: one RETURN, one CANCEL; money = 2 × 12.50 + tax."""
    order = paid_order(store)
    mug, tee = order.lines
    store.fulfill(order, {mug.id: 1})
    _, preview, result = run("refund", shopify, order, {"line_items": [
        {"line_item_id": str(mug.id), "quantity": 2, "restock": True}]})
    assert refund_lines(order) == [("Mug", 1, "CANCEL"), ("Mug", 1, "RETURN")]
    assert preview["total"]["amount"] == "27.50"
    assert preview["line_items"][0]["restock_types"] == {"CANCEL": 1, "RETURN": 1}
    assert order.refunded == Decimal("27.50")
    assert result.details["line_items"][0]["title"] == "Mug - Blue"


def test_chosen_lines_without_restock_are_no_restock(store, shopify):
    """`restock: false` (or left out) refunds the units without restocking."""
    order = paid_order(store)
    tee = order.lines[1]
    run("refund", shopify, order, {"line_items": [
        {"line_item_id": f"gid://shopify/LineItem/{tee.id}", "quantity": 1}]})
    assert refund_lines(order) == [("Tee", 1, "NO_RESTOCK")]
    assert order.refunded == Decimal("22.00")


@pytest.mark.parametrize(("shipping", "refunded"), [
    ({"full": True}, "5.00"),
    ({"amount": "2.00"}, "2.00"),
])
def test_shipping_full_or_an_amount(store, shopify, shipping, refunded):
    """Shipping alone: all of what is left, or the amount asked."""
    order = paid_order(store)
    _, preview, _ = run("refund", shopify, order, {"shipping": shipping})
    assert preview["total"]["amount"] == refunded
    assert order.refunded == Decimal(refunded)
    assert order.refunded_shipping == Decimal(refunded)


def test_shipping_amount_above_what_is_left_is_400(store, shopify, action):
    """Asking for 6.00 of 5.00 shipping is refused before refundCreate."""
    order = paid_order(store)
    presented = fresh_order(shopify, order)
    body = action.validate({"shipping": {"amount": "6.00"}})
    with pytest.raises(ValidationError, match="shipping"):
        action.preview(shopify, presented, body)
    assert order.refunds == []


def test_manual_amount_with_lines_overrides_the_money(store, shopify):
    """Lines removed and restocked, but only the manual amount goes back."""
    order = paid_order(store)
    mug = order.lines[0]
    _, preview, _ = run("refund", shopify, order, {
        "line_items": [{"line_item_id": mug.id, "quantity": 1, "restock": True}],
        "amount": "5.00"})
    assert preview["suggested_total"]["amount"] == "13.75"
    assert preview["total"]["amount"] == "5.00"
    assert refund_lines(order) == [("Mug", 1, "CANCEL")]
    assert order.refunded == Decimal("5.00")


def two_payment_order(store):
    """A 54.50 order paid 30.00 by card and 24.50 by gift card."""
    order = paid_order(store, payment="partially_paid", paid_amount="30.00")
    order.transactions.append(Transaction(
        id=store.next_id("OrderTransaction"), kind="SALE", amount=Decimal("24.50"),
        gateway="gift_card", created_at=store.now()))
    return order


def test_manual_amount_is_allocated_across_payments_within_each_maximum(store, shopify):
    """40.00 over a 30.00 card payment and a 24.50 gift card: 30.00 + 10.00."""
    order = two_payment_order(store)
    _, preview, result = run("refund", shopify, order, {"amount": "40.00"})
    moved = sorted((t.gateway, t.amount) for t in order.transactions if t.kind == "REFUND")
    assert moved == [("gift_card", Decimal("10.00")), ("shopify_payments", Decimal("30.00"))]
    assert [t["amount"]["amount"] for t in preview["transactions"]] == ["30.00", "10.00"]
    assert len(result.details["gateways"]) == 2


def test_manual_amount_above_every_payment_is_400(store, shopify, action):
    """More than both payments can take back: 400 (from `check`), nothing refunded."""
    order = two_payment_order(store)
    presented = fresh_order(shopify, order)
    with pytest.raises(ValidationError, match="can still be refunded"):
        action.check(presented, action.validate({"amount": "54.51"}))
    assert order.refunds == []


def test_manual_amount_above_what_was_paid_is_400_from_the_preview(store, shopify, action):
    """30.00 paid of 54.50: the order's totals allow 40.00, Shopify's maximum does not."""
    order = paid_order(store, payment="partially_paid", paid_amount="30.00")
    presented = fresh_order(shopify, order)
    body = action.validate({"amount": "40.00"})
    action.check(presented, body)  # the presented order alone cannot tell
    with pytest.raises(ValidationError, match=r"\$30\.00 USD that can still be refunded"):
        action.preview(shopify, presented, body)
    with pytest.raises(ValidationError):
        action.perform(shopify, presented, body, idempotency_key="too-much")
    assert order.refunds == []
    assert "RefundCreate" not in store.stats(SHOP)["operations"]


@pytest.mark.parametrize("body", [
    {"amount": "1000.00"},
    {"line_items": [{"line_item_id": "MUG", "quantity": 3}]},
    {"line_items": [{"line_item_id": "999999", "quantity": 1}]},
])
def test_more_than_refundable_is_400_before_shopify(store, shopify, action, body):
    """Too much money, too many units or an unknown line: 400, no call to Shopify."""
    order = paid_order(store)
    for item in body.get("line_items", []):
        if item["line_item_id"] == "MUG":
            item["line_item_id"] = str(order.lines[0].id)
    presented = fresh_order(shopify, order)
    before = calls(store)
    with pytest.raises(ValidationError) as caught:
        action.check(presented, action.validate(body))
    assert caught.value.http_status == 400
    assert calls(store) == before
    assert order.refunds == []


def test_units_already_refunded_are_not_refundable_again(store, shopify, action):
    """After refunding both mugs, one more mug is a 400 from `check`."""
    order = paid_order(store)
    mug = order.lines[0]
    run("refund", shopify, order, {"line_items": [{"line_item_id": mug.id, "quantity": 2}]})
    presented = fresh_order(shopify, order)
    with pytest.raises(ValidationError, match="Only 0"):
        action.check(presented, action.validate(
            {"line_items": [{"line_item_id": mug.id, "quantity": 1}]}))


@pytest.mark.parametrize("payment", ["pending", "authorized", "voided"])
def test_unpaid_order_is_409(store, shopify, action, payment):
    """Nothing paid: unavailable, with the reason, and `check` is a 409."""
    order = paid_order(store, payment=payment)
    presented = fresh_order(shopify, order)
    assert action.availability(presented).available is False
    before = calls(store)
    with pytest.raises(ActionUnavailableError) as caught:
        action.check(presented, action.validate({"full": True}))
    assert caught.value.http_status == 409
    assert caught.value.to_dict()["reason"]
    assert calls(store) == before


def test_fully_refunded_order_is_unavailable(store, shopify, action):
    """Once everything is refunded the action says why it is not there."""
    order = paid_order(store)
    run("refund", shopify, order, {"full": True})
    availability = action.availability(fresh_order(shopify, order))
    assert availability.available is False
    assert "refunded" in availability.reason


def test_same_idempotency_key_twice_refunds_once(store, shopify, action):
    """A retry with the same key replays Shopify's answer: one refund in the store."""
    order = paid_order(store)
    _, _, first = run("refund", shopify, order, {"amount": "10.00"}, key="retry-me")
    presented = fresh_order(shopify, order)
    again = action.perform(shopify, presented, action.validate({"amount": "10.00"}),
                           idempotency_key="retry-me")
    assert len(order.refunds) == 1
    assert again.details["refund_id"] == first.details["refund_id"]
    assert order.refunded == Decimal("10.00")


def test_other_keys_make_separate_refunds(store, shopify):
    """Two keys are two refunds (the key, not the body, identifies a refund)."""
    order = paid_order(store)
    run("refund", shopify, order, {"amount": "10.00"}, key="a")
    run("refund", shopify, order, {"amount": "10.00"}, key="b")
    assert len(order.refunds) == 2


def test_reused_key_with_other_amounts_is_a_conflict_and_refunds_once(store, shopify, action):
    """Shopify refuses a known key with different input: 409, still one refund."""
    order = paid_order(store)
    run("refund", shopify, order, {"amount": "10.00"}, key="k")
    presented = fresh_order(shopify, order)
    with pytest.raises(IdempotencyConflictError) as caught:
        action.perform(shopify, presented, action.validate({"amount": "12.00"}),
                       idempotency_key="k")
    assert caught.value.http_status == 409
    assert len(order.refunds) == 1


def test_idempotency_key_is_scoped_to_the_shop_and_hashed():
    """The @idempotent key differs per shop and never shows the agent's key."""
    one = shopify_idempotency_key("a.myshopify.com", "secret-key")
    two = shopify_idempotency_key("b.myshopify.com", "secret-key")
    assert one != two and one.startswith("sidecard:") and "secret-key" not in one
    assert one == shopify_idempotency_key("a.myshopify.com", "secret-key")


def test_shopify_user_errors_are_422_with_shopifys_message(store, shopify, action):
    """A stale view (the unit is not shipped any more) → Shopify's userError, 422."""
    order = paid_order(store)
    mug = order.lines[0]
    presented = fresh_order(shopify, order)
    # The card read the order while a mug looked shipped; Shopify knows better.
    presented["line_items"][0]["unfulfilled_quantity"] = 0
    with pytest.raises(ShopifyUserError) as caught:
        action.perform(shopify, presented, action.validate(
            {"line_items": [{"line_item_id": mug.id, "quantity": 1, "restock": True}]}),
            idempotency_key="stale")
    assert caught.value.http_status == 422
    assert "RETURN" in caught.value.message
    assert caught.value.errors[0]["field"][-1] == "restockType"
    assert order.refunds == []


def test_amount_is_the_preview_total_or_the_manual_amount(store, shopify, action):
    """`amount()` is what counts against the limit."""
    order = paid_order(store)
    presented = fresh_order(shopify, order)
    full = action.validate({"full": True})
    assert action.amount(presented, full, action.preview(shopify, presented, full)) \
        == Decimal("54.50")
    assert action.amount(presented, action.validate({"amount": "7.25"})) == Decimal("7.25")
    # Without a preview, never less than the refund may be.
    assert action.amount(presented, full) == Decimal("54.50")


def test_preview_changes_nothing(store, shopify, action):
    """A preview calls suggestedRefund only."""
    order = paid_order(store)
    presented = fresh_order(shopify, order)
    action.preview(shopify, presented, action.validate({"full": True}))
    assert order.refunds == []
    assert "RefundCreate" not in store.stats(SHOP)["operations"]


def test_summary_names_agent_amount_items_and_reason(store, shopify, action):
    """One line: who, how much, which order, what, why."""
    order = paid_order(store)
    mug = order.lines[0]
    body = {"line_items": [{"line_item_id": mug.id, "quantity": 2}], "shipping": {"full": True},
            "reason": "damaged"}
    presented, _, result = run("refund", shopify, order, body)
    text = action.summary(presented, action.validate(body), result, AGENT)
    assert text == (f"Dana (dana@x.com) refunded $32.50 USD on order {order.name} "
                    "(2 × Mug - Blue, shipping) — reason: damaged")


@pytest.mark.parametrize("body", [
    None,
    [],
    "full",
    {},
    {"full": False},
    {"full": "true"},
    {"full": 1},
    {"full": True, "amount": "5.00"},
    {"full": True, "line_items": [{"line_item_id": "1", "quantity": 1}]},
    {"full": True, "shipping": {"full": True}},
    {"everything": True},
    {"amount": 10},
    {"amount": 10.5},
    {"amount": "-5.00"},
    {"amount": "0"},
    {"amount": "0.00"},
    {"amount": "abc"},
    {"amount": "1.234"},
    {"amount": "1e3"},
    {"amount": "NaN"},
    {"amount": ""},
    {"line_items": {}},
    {"line_items": []},
    {"line_items": [1]},
    {"line_items": [{"quantity": 1}]},
    {"line_items": [{"line_item_id": "1"}]},
    {"line_items": [{"line_item_id": "1", "quantity": 0}]},
    {"line_items": [{"line_item_id": "1", "quantity": -1}]},
    {"line_items": [{"line_item_id": "1", "quantity": "2"}]},
    {"line_items": [{"line_item_id": "1", "quantity": 1.5}]},
    {"line_items": [{"line_item_id": "1", "quantity": True}]},
    {"line_items": [{"line_item_id": "1", "quantity": 1, "restock": "yes"}]},
    {"line_items": [{"line_item_id": "1", "quantity": 1, "extra": 1}]},
    {"line_items": [{"line_item_id": "abc", "quantity": 1}]},
    {"line_items": [{"line_item_id": "gid://shopify/Order/1", "quantity": 1}]},
    {"line_items": [{"line_item_id": "1", "quantity": 1}, {"line_item_id": 1, "quantity": 2}]},
    {"shipping": {}},
    {"shipping": {"full": False}},
    {"shipping": {"full": True, "amount": "1.00"}},
    {"shipping": {"amount": "-1"}},
    {"shipping": {"amount": 3}},
    {"shipping": True},
    {"shipping": {"full": True, "tax": True}},
    {"amount": "5.00", "notify": "yes"},
    {"amount": "5.00", "reason": 5},
    {"amount": "5.00", "reason": "x" * 256},
])
def test_malformed_refund_bodies_are_400(action, body):
    """Strict input: wrong types, unknown keys, bad amounts and quantities are 400."""
    with pytest.raises(ValidationError) as caught:
        action.validate(body)
    assert caught.value.http_status == 400
    assert caught.value.message


def test_valid_body_is_normalised(action):
    """Ids from GIDs or numbers, amounts to two places, defaults spelled out."""
    body = action.validate({"line_items": [{"line_item_id": "gid://shopify/LineItem/7",
                                            "quantity": 1, "restock": True}],
                            "shipping": {"amount": "2.5"}, "amount": "10",
                            "reason": "  late  "})
    assert body == {"full": False, "line_items": [{"line_item_id": "7", "quantity": 1,
                                                   "restock": True}],
                    "shipping": {"amount": "2.50"}, "amount": "10.00", "reason": "late",
                    "notify": False}
