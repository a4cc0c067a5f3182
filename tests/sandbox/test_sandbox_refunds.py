"""refundCreate and suggestedRefund: bounded by what is refundable, like Shopify."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sandbox_kit import REFUND, gid, refund_input

SUGGEST = """
query Suggest($id: ID!, $lines: [RefundLineItemInput!], $shipping: Boolean, $full: Boolean) {
  order(id: $id) {
    suggestedRefund(refundLineItems: $lines, refundShipping: $shipping, suggestFullRefund: $full) {
      amountSet { shopMoney { amount } }
      maximumRefundableSet { shopMoney { amount } }
      subtotalSet { shopMoney { amount } }
      totalTaxSet { shopMoney { amount } }
      shipping { amountSet { shopMoney { amount } } taxSet { shopMoney { amount } } }
      refundLineItems { quantity restockType lineItem { id } }
      suggestedTransactions { gateway kind amountSet { shopMoney { amount } }
        maximumRefundableSet { shopMoney { amount } } parentTransaction { id } }
    }
  }
}"""


def refund(sandbox, order, key="key-1", **kwargs):
    """Run refundCreate; returns its payload."""
    data = sandbox.gql(REFUND, {"key": key, "input": refund_input(order, **kwargs)})
    return data["refundCreate"]


def test_partial_refund_moves_money_and_quantities(sandbox, paid_order):
    """Refunding one mug with money makes the order partially refunded, one mug left."""
    mug = paid_order.lines[0]
    result = refund(sandbox, paid_order, lines=[(mug, 1, "CANCEL")], amount="27.50")
    assert result["userErrors"] == []
    assert result["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert result["order"]["totalRefundedSet"]["shopMoney"]["amount"] == "27.5"
    line = result["order"]["lineItems"]["nodes"][0]
    assert (line["currentQuantity"], line["refundableQuantity"]) == (1, 1)
    assert result["refund"]["refundLineItems"]["nodes"] == [
        {"quantity": 1, "restockType": "CANCEL", "restocked": True}]


def test_refunding_everything_makes_the_order_refunded(sandbox, paid_order):
    """All lines, shipping and the whole payment: REFUNDED, and restocked."""
    lines = [(li, li.quantity, "CANCEL") for li in paid_order.lines]
    result = refund(sandbox, paid_order, lines=lines, shipping={"fullRefund": True},
                    amount=str(paid_order.total_price))
    assert result["userErrors"] == []
    assert result["order"]["displayFinancialStatus"] == "REFUNDED"
    assert result["order"]["displayFulfillmentStatus"] == "RESTOCKED"
    assert paid_order.net_payment == 0


def test_refund_quantity_cannot_exceed_refundable(sandbox, paid_order):
    """Three mugs of two is refused with a userError on the quantity, and nothing changes."""
    result = refund(sandbox, paid_order, lines=[(paid_order.lines[0], 3, "NO_RESTOCK")])
    assert result["refund"] is None
    assert result["userErrors"][0]["field"] == ["refundLineItems", "0", "quantity"]
    assert paid_order.refunds == []


def test_refund_quantity_counts_earlier_refunds(sandbox, paid_order):
    """After refunding one mug, refunding two more is over the refundable quantity."""
    mug = paid_order.lines[0]
    assert refund(sandbox, paid_order, key="a", lines=[(mug, 1, "NO_RESTOCK")])["refund"]
    again = refund(sandbox, paid_order, key="b", lines=[(mug, 2, "NO_RESTOCK")])
    assert again["refund"] is None and again["userErrors"]


def test_refund_amount_cannot_exceed_the_payment(sandbox, paid_order):
    """Money above captured minus refunded is refused."""
    too_much = str(paid_order.total_price + Decimal("0.01"))
    result = refund(sandbox, paid_order, amount=too_much)
    assert result["refund"] is None
    assert result["userErrors"][0]["field"][:2] == ["transactions", "0"]


def test_refund_amount_bound_shrinks_after_a_refund(sandbox, paid_order):
    """The bound is what is left: total minus what was already refunded."""
    assert refund(sandbox, paid_order, key="a", amount="100.00")["refund"]
    left = paid_order.total_price - Decimal("100.00")
    over = refund(sandbox, paid_order, key="b", amount=str(left + Decimal("1")))
    assert over["refund"] is None
    exact = refund(sandbox, paid_order, key="c", amount=str(left))
    assert exact["order"]["displayFinancialStatus"] == "REFUNDED"


def test_shipping_refund_is_bounded(sandbox, paid_order):
    """More shipping than was charged is refused."""
    result = refund(sandbox, paid_order, shipping={"amount": "10.01"})
    assert result["userErrors"][0]["field"] == ["shipping", "amount"]


@pytest.mark.parametrize("payment", ["pending", "authorized", "voided"])
def test_unpaid_orders_cannot_be_refunded(sandbox, store, payment):
    """Nothing captured (pending, authorized only, voided): refundCreate refuses."""
    order = store.add_order(payment=payment, lines=[{"title": "Tee", "price": "20.00"}])
    result = refund(sandbox, order, lines=[(order.lines[0], 1, "NO_RESTOCK")])
    assert result["refund"] is None
    assert result["userErrors"][0]["field"] == ["orderId"]


@pytest.mark.parametrize(("restock", "fulfilled", "ok"), [
    ("CANCEL", False, True), ("CANCEL", True, False),
    ("RETURN", True, True), ("RETURN", False, False),
    ("NO_RESTOCK", True, True), ("NO_RESTOCK", False, True)])
def test_restock_type_must_match_fulfillment(sandbox, store, restock, fulfilled, ok):
    """CANCEL restocks unshipped units, RETURN shipped ones; NO_RESTOCK fits both."""
    order = store.add_order(lines=[{"title": "Tee", "price": "20.00"}])
    if fulfilled:
        store.fulfill(order, company="USPS", number="9400111899223197428490")
    result = refund(sandbox, order, lines=[(order.lines[0], 1, restock)])
    assert (result["userErrors"] == []) is ok


def test_refund_needs_a_successful_parent_transaction(sandbox, paid_order):
    """A refund transaction pointing at another kind of transaction is refused."""
    data = refund_input(paid_order, amount="5.00")
    data["transactions"][0]["parentId"] = gid("OrderTransaction", 1)
    result = sandbox.gql(REFUND, {"key": "k", "input": data})["refundCreate"]
    assert result["userErrors"][0]["field"] == ["transactions", "0", "parentId"]


def test_refund_of_unknown_order_is_a_user_error(sandbox):
    """An order id the shop does not have answers a userError, not a crash."""
    result = sandbox.gql(REFUND, {"key": "k", "input": {"orderId": gid("Order", 42)}})
    assert result["refundCreate"] == {"refund": None, "order": None, "userErrors": [
        {"field": ["orderId"], "message": "Order does not exist"}]}


def test_suggested_refund_prices_lines_tax_and_shipping(sandbox, paid_order):
    """One mug + shipping: subtotal, proportional tax, shipping, one suggested transaction."""
    mug = paid_order.lines[0]
    data = sandbox.gql(SUGGEST, {"id": gid("Order", paid_order.id), "shipping": True,
                                 "lines": [{"lineItemId": gid("LineItem", mug.id),
                                            "quantity": 1, "restockType": "CANCEL"}]})
    suggested = data["order"]["suggestedRefund"]
    assert suggested["subtotalSet"]["shopMoney"]["amount"] == "25.0"
    assert suggested["totalTaxSet"]["shopMoney"]["amount"] == "2.5"
    assert suggested["shipping"]["amountSet"]["shopMoney"]["amount"] == "10.0"
    assert suggested["amountSet"]["shopMoney"]["amount"] == "37.5"
    assert suggested["maximumRefundableSet"]["shopMoney"]["amount"] == "109.0"
    [txn] = suggested["suggestedTransactions"]
    assert txn["kind"] == "SUGGESTED_REFUND" and txn["gateway"] == "shopify_payments"
    assert txn["parentTransaction"]["id"] == gid("OrderTransaction",
                                                 paid_order.transactions[0].id)
    assert suggested["refundLineItems"][0]["restockType"] == "CANCEL"


def test_suggested_refund_caps_quantities_and_amount(sandbox, paid_order):
    """Asking for five mugs suggests the two there are; a full refund suggests everything."""
    mug = paid_order.lines[0]
    capped = sandbox.gql(SUGGEST, {"id": gid("Order", paid_order.id), "lines": [
        {"lineItemId": gid("LineItem", mug.id), "quantity": 5}]})
    assert capped["order"]["suggestedRefund"]["refundLineItems"][0]["quantity"] == 2
    full = sandbox.gql(SUGGEST, {"id": gid("Order", paid_order.id), "full": True})
    assert full["order"]["suggestedRefund"]["amountSet"]["shopMoney"]["amount"] == "109.0"


def test_suggested_refund_follows_the_suggestion_into_refund_create(sandbox, paid_order):
    """Refunding exactly what suggestFullRefund proposed leaves the order REFUNDED."""
    full = sandbox.gql(SUGGEST, {"id": gid("Order", paid_order.id), "full": True})
    suggestion = full["order"]["suggestedRefund"]
    [txn] = suggestion["suggestedTransactions"]
    result = sandbox.gql(REFUND, {"key": "full", "input": {
        "orderId": gid("Order", paid_order.id), "shipping": {"fullRefund": True},
        "refundLineItems": [{"lineItemId": rl["lineItem"]["id"], "quantity": rl["quantity"],
                             "restockType": "CANCEL"} for rl in suggestion["refundLineItems"]],
        "transactions": [{"orderId": gid("Order", paid_order.id), "kind": "REFUND",
                          "gateway": txn["gateway"],
                          "amount": txn["amountSet"]["shopMoney"]["amount"],
                          "parentId": txn["parentTransaction"]["id"]}]}})
    assert result["refundCreate"]["order"]["displayFinancialStatus"] == "REFUNDED"


def test_multi_currency_refund_needs_the_presentment_currency(sandbox, store):
    """An order paid in EUR refunds in EUR: another currency is refused."""
    order = store.add_order(presentment_currency="EUR", rate="1.08",
                            lines=[{"title": "Scarf", "price": "50.00"}])
    wrong = refund(sandbox, order, amount="10.00", currency="USD")
    assert wrong["userErrors"][0]["field"] == ["currency"]
    right = refund(sandbox, order, key="eur", amount="10.00", currency="EUR")
    assert right["refund"]["totalRefundedSet"]["shopMoney"]["amount"] == "10.8"
