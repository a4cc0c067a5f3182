"""orderCancel: refused like Shopify refuses it, otherwise a job that cancels when polled."""

from __future__ import annotations

import pytest
from sandbox_kit import gid

CANCEL = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!,
                     $refundMethod: OrderCancelRefundMethodInput, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock,
              refundMethod: $refundMethod, notifyCustomer: false, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}"""

POLL = "query JobPoll($id: ID!) { job(id: $id) { id done } }"

ORDER = """query($id: ID!) { order(id: $id) { cancelledAt cancelReason closed
  displayFinancialStatus totalRefundedSet { shopMoney { amount } }
  fulfillmentOrders(first: 1) { nodes { status } } } }"""


def cancel(sandbox, order, *, refund=True, restock=True, **extra):
    """Run orderCancel; returns its payload."""
    variables = {"orderId": gid("Order", order.id), "reason": "CUSTOMER", "restock": restock,
                 "refundMethod": {"originalPaymentMethodsRefund": refund}, **extra}
    return sandbox.gql(CANCEL, variables)["orderCancel"]


def test_cancel_returns_a_job_and_cancels_when_it_is_polled(sandbox, paid_order):
    """The mutation answers a pending job; the next job poll finishes it and the order."""
    result = cancel(sandbox, paid_order, staffNote="Customer asked by phone")
    assert result["orderCancelUserErrors"] == []
    assert result["job"]["done"] is False
    assert paid_order.cancelled_at is None  # not yet: Shopify cancels asynchronously
    polled = sandbox.gql(POLL, {"id": result["job"]["id"]})
    assert polled["job"] == {"id": result["job"]["id"], "done": True}
    order = sandbox.gql(ORDER, {"id": gid("Order", paid_order.id)})["order"]
    assert order["cancelledAt"] and order["cancelReason"] == "CUSTOMER" and order["closed"]
    assert order["displayFinancialStatus"] == "REFUNDED"
    assert order["totalRefundedSet"]["shopMoney"]["amount"] == "109.0"
    assert order["fulfillmentOrders"]["nodes"] == [{"status": "CANCELLED"}]
    assert paid_order.cancel_staff_note == "Customer asked by phone"


def test_cancel_without_refund_keeps_the_payment(sandbox, paid_order):
    """refundMethod false: cancelled, still paid."""
    job = cancel(sandbox, paid_order, refund=False)["job"]
    sandbox.gql(POLL, {"id": job["id"]})
    assert paid_order.cancelled_at is not None
    assert paid_order.financial_status == "PAID"


def test_cancelling_an_authorized_order_voids_the_authorization(sandbox, store):
    """Nothing captured: the authorization is released (VOIDED), nothing is refunded."""
    order = store.add_order(payment="authorized", lines=[{"title": "Tee", "price": "20.00"}])
    sandbox.gql(POLL, {"id": cancel(sandbox, order)["job"]["id"]})
    assert order.financial_status == "VOIDED"
    assert order.refunded == 0


@pytest.mark.parametrize("shipped", [{"all": True}, {"partial": True}])
def test_cancel_is_refused_once_anything_shipped(sandbox, paid_order, store, shipped):
    """A fulfilled or partially fulfilled order cannot be cancelled."""
    quantities = None if "all" in shipped else {paid_order.lines[1].id: 1}
    store.fulfill(paid_order, quantities, company="UPS", number="1Z999AA10123456784")
    result = cancel(sandbox, paid_order)
    assert result["job"] is None
    assert result["orderCancelUserErrors"][0]["code"] == "INVALID"
    assert paid_order.cancelled_at is None


def test_cancel_is_refused_with_an_open_return(sandbox, paid_order, store):
    """An active return blocks cancelling (Shopify's precondition)."""
    paid_order.fulfillments.clear()
    store.add_return(paid_order, "REQUESTED", {paid_order.lines[0].id: 1})
    result = cancel(sandbox, paid_order)
    assert result["orderCancelUserErrors"][0]["message"] == (
        "Cannot cancel an order with an open return")


def test_cancelling_twice_is_refused(sandbox, paid_order):
    """An already-cancelled order answers INVALID."""
    sandbox.gql(POLL, {"id": cancel(sandbox, paid_order)["job"]["id"]})
    again = cancel(sandbox, paid_order)
    assert again["orderCancelUserErrors"] == [{
        "code": "INVALID", "field": ["orderId"], "message": "Order has already been cancelled"}]


def test_a_second_cancel_while_the_job_runs_gets_the_same_job(sandbox, paid_order):
    """A retried orderCancel before the poll does not queue a second cancellation."""
    first = cancel(sandbox, paid_order)["job"]["id"]
    assert cancel(sandbox, paid_order)["job"]["id"] == first


def test_cancel_of_unknown_order_is_not_found(sandbox):
    """An id the shop does not have: NOT_FOUND on orderId."""
    result = sandbox.gql(CANCEL, {"orderId": gid("Order", 7), "reason": "OTHER",
                                  "restock": False})["orderCancel"]
    assert result["orderCancelUserErrors"][0]["code"] == "NOT_FOUND"


def test_staff_note_is_limited_to_255_characters(sandbox, paid_order):
    """Shopify's limit on staffNote."""
    result = cancel(sandbox, paid_order, staffNote="x" * 256)
    assert result["orderCancelUserErrors"][0]["field"] == ["staffNote"]


def test_unknown_job_is_null(sandbox):
    """Polling a job id the shop never got answers null."""
    assert sandbox.gql(POLL, {"id": "gid://shopify/Job/nope"})["job"] is None


def test_the_deprecated_refund_argument_is_rejected(sandbox, paid_order):
    """orderCancel(refund:) is deprecated: the document fails validation."""
    errors = sandbox.errors("""mutation($id: ID!) { orderCancel(orderId: $id, reason: OTHER,
      restock: true, refund: true) { job { id } } }""", {"id": gid("Order", paid_order.id)})
    assert errors[0]["extensions"]["code"] == "deprecated"
