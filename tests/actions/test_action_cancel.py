"""The `cancel` action against the sandbox store's cancel rules and its asynchronous job."""

from __future__ import annotations

from decimal import Decimal

import action_fixtures
import pytest
from action_fixtures import AGENT, SHOP, calls, fresh_order, run

from plugin.actions.cancel import CancelAction
from plugin.exceptions import ActionUnavailableError, ShopifyUserError, ValidationError

# Fixtures shared by the action tests (tests/actions/action_fixtures.py).
shop, shopify, store = action_fixtures.shop, action_fixtures.shopify, action_fixtures.store


class FakeTime:
    """A clock that moves only when slept on; `on_sleep` runs before each sleep."""

    def __init__(self, on_sleep=None):
        self.now, self.slept, self.on_sleep = 0.0, [], on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if self.on_sleep:
            self.on_sleep()
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    """Injectable sleep and clock: polling never really waits in tests."""
    return FakeTime()


@pytest.fixture
def action(fake_time):
    """The cancel action with the fake clock."""
    return CancelAction(sleep=fake_time.sleep, clock=fake_time.clock)


def order_with(store, **kwargs):
    """An unshipped 40.00 order (two lines, 5.00 shipping)."""
    return store.add_order(SHOP, lines=[{"title": "Lamp", "price": "25.00"},
                                        {"title": "Bulb", "price": "5.00", "quantity": 2}],
                           shipping="5.00", **kwargs)


def polls(store) -> int:
    """JobPoll requests the sandbox answered."""
    return store.stats(SHOP)["operations"].get("JobPoll", 0)


def test_cancel_of_an_unfulfilled_paid_order_refunds_and_restocks(store, shopify, action,
                                                                  fake_time):
    """Paid → refund defaults to true: cancelled, 40.00 back, items restocked."""
    order = order_with(store)
    presented, preview, result = run("cancel", shopify, order, {"reason": "CUSTOMER"},
                                     action=action)
    assert preview["refund"] is True
    assert preview["refund_amount"] == {"amount": "40.00", "currency": "USD"}
    assert order.cancelled_at is not None and order.cancel_reason == "CUSTOMER"
    assert order.refunded == Decimal("40.00")
    assert {rl.restock_type for r in order.refunds for rl in r.lines} == {"CANCEL"}
    assert result.details["job_pending"] is False and result.details["cancelled"] is True
    assert result.details["refunded"] == {"amount": "40.00", "currency": "USD"}
    assert result.order["status"]["order"] == "cancelled"
    assert result.shopify_request_id
    assert 1 <= polls(store) and sum(fake_time.slept) < 1


def test_cancel_of_an_unpaid_order_does_not_refund(store, shopify, action):
    """Payment pending → refund defaults to false: cancelled, nothing refunded."""
    order = order_with(store, payment="pending")
    presented, preview, result = run("cancel", shopify, order,
                                     {"reason": "DECLINED", "restock": False}, action=action)
    assert preview["refund"] is False and preview["refund_amount"]["amount"] == "0.00"
    assert order.cancelled_at is not None
    assert order.refunded == 0
    assert result.details["refund"] is False
    assert result.details["refunded"]["amount"] == "0.00"
    assert action.amount(presented, action.validate({"reason": "DECLINED"}), preview) == 0


def test_cancel_of_an_authorized_order_releases_the_authorization(store, shopify, action):
    """Authorized only: no refund, the authorization is voided."""
    order = order_with(store, payment="authorized")
    _, preview, _ = run("cancel", shopify, order, {"reason": "FRAUD"}, action=action)
    assert preview["releases_authorization"] is True
    assert order.cancelled_at is not None
    assert order.financial_status == "VOIDED"


def test_explicit_refund_on_an_unpaid_order_is_400(store, shopify, action):
    """`refund: true` with nothing paid: 400 before Shopify."""
    order = order_with(store, payment="pending")
    presented = fresh_order(shopify, order)
    before = calls(store)
    with pytest.raises(ValidationError, match="Nothing has been paid"):
        action.check(presented, action.validate({"reason": "OTHER", "refund": True}))
    assert calls(store) == before


def test_refund_false_on_a_paid_order_cancels_without_money(store, shopify, action):
    """A paid order can be cancelled keeping the money (refund: false)."""
    order = order_with(store)
    _, _, result = run("cancel", shopify, order,
                       {"reason": "STAFF", "refund": False, "restock": False,
                        "staff_note": "Keep payment, reshipping later"}, action=action)
    assert order.cancelled_at is not None and order.refunded == 0
    assert order.cancel_staff_note == "Keep payment, reshipping later"
    assert result.details["refunded"]["amount"] == "0.00"


@pytest.mark.parametrize("state", ["fulfilled", "partially_fulfilled", "cancelled", "return"])
def test_cancel_is_unavailable_after_shipping_or_cancelling(store, shopify, action, state):
    """Shipped, cancelled or being returned: unavailable with a reason, and `check` is 409."""
    order = order_with(store)
    if state == "fulfilled":
        store.fulfill(order)
    elif state == "partially_fulfilled":
        store.fulfill(order, {order.lines[0].id: 1})
    elif state == "cancelled":
        run("cancel", shopify, order, {"reason": "CUSTOMER"}, action=action)
    else:
        store.fulfill(order)
        store.add_return(order, status="REQUESTED")
    presented = fresh_order(shopify, order)
    availability = action.availability(presented)
    assert availability.available is False and availability.reason
    before = calls(store)
    with pytest.raises(ActionUnavailableError) as caught:
        action.check(presented, action.validate({"reason": "CUSTOMER"}))
    assert caught.value.http_status == 409
    assert calls(store) == before


def test_shopify_refusal_is_422_with_its_cancel_user_errors(store, shopify, action):
    """Shipped between the read and the cancel: Shopify's orderCancelUserErrors, as given."""
    order = order_with(store)
    presented = fresh_order(shopify, order)
    store.fulfill(order)
    with pytest.raises(ShopifyUserError) as caught:
        action.perform(shopify, presented, action.validate({"reason": "CUSTOMER"}),
                       idempotency_key="k")
    assert caught.value.http_status == 422
    assert caught.value.errors[0]["code"] == "INVALID"
    assert "fulfilled" in caught.value.message
    assert order.cancelled_at is None


def test_job_still_running_is_reported_pending_then_resumed(store, shopify):
    """No time to wait: `job_pending` with the job id; `resume` reports the outcome."""
    action = CancelAction(sleep=FakeTime().sleep)
    action.poll_timeout = 0.0
    order = order_with(store)
    presented, _, result = run("cancel", shopify, order, {"reason": "INVENTORY"},
                               action=action)
    assert result.details["job_pending"] is True
    assert result.details["job_id"].startswith("gid://shopify/Job/")
    assert result.order is None
    assert polls(store) == 0
    body = action.validate({"reason": "INVENTORY"})
    assert "still processing" in action.summary(presented, body, result, AGENT)
    done = CancelAction().resume(shopify, result.details)
    assert done.details["job_pending"] is False and done.details["cancelled"] is True
    assert done.details["refunded"]["amount"] == "40.00"
    assert done.order["status"]["order"] == "cancelled"


def test_polling_is_bounded_and_survives_failed_polls(store, shopify):
    """Every poll failing: about 10 s of (fake) sleeps, then pending — not an error."""
    time = FakeTime(on_sleep=lambda: store.inject(SHOP, "http_500", times=None))
    action = CancelAction(sleep=time.sleep, clock=time.clock)
    order = order_with(store)
    _, _, result = run("cancel", shopify, order, {"reason": "OTHER"}, action=action)
    assert result.details["job_pending"] is True
    assert 9.9 <= sum(time.slept) <= CancelAction.poll_timeout
    assert len(time.slept) <= CancelAction.max_polls
    store.reset()  # Shopify is back
    assert action.resume(shopify, result.details).details["cancelled"] is True


def test_resume_of_a_job_still_pending_keeps_it_pending(store, shopify):
    """A worker's poll that fails keeps `job_pending` true, with the same job."""
    action = CancelAction()
    action.poll_timeout = 0.0
    order = order_with(store)
    _, _, result = run("cancel", shopify, order, {"reason": "OTHER"}, action=action)
    store.inject(SHOP, "http_503", times=1)
    again = action.resume(shopify, result.details)
    assert again.details["job_pending"] is True
    assert again.details["job_id"] == result.details["job_id"]


def test_summary_says_who_what_and_how_much(store, shopify, action):
    """One line: agent, order, reason, refund, restock."""
    order = order_with(store)
    body = {"reason": "CUSTOMER", "notify": True}
    presented, _, result = run("cancel", shopify, order, body, action=action)
    assert action.summary(presented, action.validate(body), result, AGENT) == (
        f"Dana (dana@x.com) cancelled order {order.name} (reason: customer), refunded "
        "$40.00 USD, restocked the items, customer notified")


@pytest.mark.parametrize("body", [
    None,
    {},
    {"reason": None},
    {"reason": "BORED"},
    {"reason": 3},
    {"reason": "CUSTOMER", "refund": "yes"},
    {"reason": "CUSTOMER", "restock": 1},
    {"reason": "CUSTOMER", "notify": "false"},
    {"reason": "CUSTOMER", "staff_note": "x" * 256},
    {"reason": "CUSTOMER", "staff_note": 12},
    {"reason": "CUSTOMER", "refund_method": "store_credit"},
])
def test_malformed_cancel_bodies_are_400(action, body):
    """The reason is Shopify's enum; booleans are booleans; the staff note fits 255."""
    with pytest.raises(ValidationError):
        action.validate(body)


def test_cancel_defaults(action):
    """refund decided by the order, restock on, notify off; reason upper-cased."""
    assert action.validate({"reason": "customer"}) == {
        "reason": "CUSTOMER", "refund": None, "restock": True, "notify": False,
        "staff_note": None}
