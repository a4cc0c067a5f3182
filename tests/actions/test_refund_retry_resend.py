"""A refund retried after an uncertain failure resends the very refund it sent, under the same
`@idempotent` key: Shopify then replays the first or makes it once — never mistaking another
agent's refund for this one, and never losing sight of it on an order with many refunds."""

from __future__ import annotations

import io
import json

import action_kit
import pytest
from action_kit import (
    SHOP,
    act,
    action_requests,
    audit_events,
    operations,
    paid_order,
    session_for,
)

from plugin.models.actions import FAILED
from plugin.shopify.transport import EXTENSION_KEY

app_config, connection, hooks, lead, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.hooks, action_kit.lead,
    action_kit.shop, action_kit.stand_in, action_kit.store)



@pytest.fixture
def other_lead(connection, shop):
    """The lead in another conversation (their refund there has its own reason)."""
    return session_for(connection, "lead@example.com", identity="verified",
                       conversation="2002")


def one_unit(order) -> dict:
    """Refund one unit of the order's only line."""
    return {"line_items": [{"line_item_id": str(order.lines[0].id), "quantity": 1}]}


def test_retry_is_not_taken_as_done_because_another_refund_appeared(client, store, lead,
                                                                    other_lead, hooks):
    """The first attempt failed before Shopify acted; meanwhile another refund of the same
    kind was made under another key. The retry still makes its own refund: two refunds."""
    order = paid_order(store, price="10.00", quantity=3)
    hooks.before_next("RefundCreate", lambda: store.inject(SHOP, "http_500"))
    first = act(client, lead, order.id, "refund", one_unit(order), key="mine")
    assert first.status_code == 502
    assert store.order(SHOP, order.id).refunds == []
    other = act(client, other_lead, order.id, "refund", {**one_unit(order), "reason": "dent"},
                key="theirs")
    assert other.status_code == 200, other.get_json()
    retry = act(client, lead, order.id, "refund", one_unit(order), key="mine")
    assert retry.status_code == 200, retry.get_json()
    assert "recovered_after_uncertain_failure" not in str(audit_events("action.succeeded")[-1]
                                                          .detail)
    assert len(store.order(SHOP, order.id).refunds) == 2
    assert store.order(SHOP, order.id).refundable_qty(store.order(SHOP, order.id).lines[0]) == 1


def test_lost_full_refund_on_an_order_with_many_refunds_is_replayed_not_refused(
        client, store, lead, hooks):
    """With five refunds already on the order (more than the order read lists), the retry of
    a full refund whose answer was lost gets Shopify's replay: 200, one new refund."""
    order = paid_order(store, price="10.00", quantity=7)
    for n in range(5):
        assert act(client, lead, order.id, "refund", one_unit(order),
                   key=f"unit-{n}").status_code == 200
    hooks.lose_response("RefundCreate")
    first = act(client, lead, order.id, "refund", {"full": True}, key="rest")
    assert first.status_code == 502
    assert len(store.order(SHOP, order.id).refunds) == 6
    retry = act(client, lead, order.id, "refund", {"full": True}, key="rest")
    assert retry.status_code == 200, retry.get_json()
    assert "20.00" in retry.get_json()["summary"]
    assert len(store.order(SHOP, order.id).refunds) == 6
    assert operations(store)["RefundCreate"] == 7  # the resend, replayed by Shopify
    assert action_requests()[-1].attempts == 2


class ConcurrentOnce:
    """WSGI middleware: the next RefundCreate runs in the sandbox (Shopify makes the refund)
    but is answered with Shopify's IDEMPOTENCY_CONCURRENT_REQUEST error, as when a resend
    meets the first request still being processed."""

    def __init__(self, inner) -> None:
        self.inner, self.armed = inner, True

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        if self.armed and json.loads(raw or b"{}").get("operationName") == "RefundCreate":
            self.armed = False
            b"".join(self.inner(environ, lambda *a, **k: None))
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"errors": [{
                "message": "A request with this idempotency key is currently being processed.",
                "extensions": {"code": "IDEMPOTENCY_CONCURRENT_REQUEST"}}]}).encode()]
        return self.inner(environ, start_response)


def test_concurrent_request_answer_is_retryable_and_the_retry_gets_the_refund(app, client,
                                                                              store, lead):
    """Shopify saying the same key is still being processed is not a final refusal: 502,
    the key stays retryable, and the retry reports the one refund Shopify made."""
    app.extensions["sandbox_wsgi"] = ConcurrentOnce(app.extensions["sandbox_wsgi"])
    app.extensions.pop(EXTENSION_KEY, None)
    order = paid_order(store, price="30.00")
    first = act(client, lead, order.id, "refund", {"full": True}, key="slow")
    assert first.status_code == 502, first.get_json()
    [record] = action_requests()
    assert record.status == FAILED and record.may_have_applied
    assert len(store.order(SHOP, order.id).refunds) == 1
    retry = act(client, lead, order.id, "refund", {"full": True}, key="slow")
    assert retry.status_code == 200, retry.get_json()
    assert "30.00" in retry.get_json()["summary"]
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_a_failed_retry_does_not_forget_that_the_first_attempt_may_have_refunded(
        client, store, lead, hooks):
    """Refund answer lost, then a retry failing before it reaches the refund (the order read
    fails): the third try still knows the refund may exist and reports it — 200, one refund."""
    order = paid_order(store, price="30.00")
    hooks.lose_response("RefundCreate")
    assert act(client, lead, order.id, "refund", {"full": True}, key="k").status_code == 502
    hooks.before_next("OrderDetail", lambda: store.inject(SHOP, "http_503"))
    second = act(client, lead, order.id, "refund", {"full": True}, key="k")
    assert second.status_code == 502
    assert action_requests()[0].may_have_applied
    third = act(client, lead, order.id, "refund", {"full": True}, key="k")
    assert third.status_code == 200, third.get_json()
    assert "30.00" in third.get_json()["summary"]
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_a_cancel_retry_failing_early_still_finds_the_cancel_done(client, store, lead, hooks):
    """Cancel answer lost, a retry failing at the order read, then a retry: the cancel is
    found done (200), not refused as "already cancelled"."""
    from card_fixtures import _cancel

    order = paid_order(store, price="30.00")
    hooks.lose_response("OrderCancel")
    assert act(client, lead, order.id, "cancel", {"reason": "CUSTOMER"},
               key="c").status_code == 502
    _cancel(store, store.order(SHOP, order.id))  # Shopify's job finished meanwhile
    hooks.before_next("OrderDetail", lambda: store.inject(SHOP, "http_503"))
    assert act(client, lead, order.id, "cancel", {"reason": "CUSTOMER"},
               key="c").status_code == 502
    third = act(client, lead, order.id, "cancel", {"reason": "CUSTOMER"}, key="c")
    assert third.status_code == 200, third.get_json()
    assert store.order(SHOP, order.id).cancelled_at is not None


def test_same_refund_under_a_new_key_after_an_uncertain_failure_is_not_doubled(
        client, store, lead, hooks):
    """The answer was lost (502) and the agent sends the same refund again under a new key
    (the card's Back, then Confirm): it continues the uncertain attempt — one refund, 200."""
    order = paid_order(store, price="30.00")
    body = {"amount": "12.00", "reason": "scratched"}
    hooks.lose_response("RefundCreate")
    assert act(client, lead, order.id, "refund", body, key="first").status_code == 502
    assert len(store.order(SHOP, order.id).refunds) == 1
    again = act(client, lead, order.id, "refund", body, key="second")
    assert again.status_code == 200, again.get_json()
    assert "12.00" in again.get_json()["summary"]
    assert len(store.order(SHOP, order.id).refunds) == 1
    # The first key was continued by the second: it now says so, and sends nothing.
    calls = operations(store)
    retired = act(client, lead, order.id, "refund", body, key="first")
    assert retired.status_code == 409
    assert retired.get_json()["reason"] == "continued_elsewhere"
    assert operations(store) == calls
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_same_refund_under_a_new_key_after_a_certain_failure_runs(client, store, lead, hooks):
    """A failure Shopify answered before acting (throttled) leaves nothing uncertain: the
    same refund under a new key is simply made."""
    order = paid_order(store, price="30.00")
    body = {"amount": "12.00"}
    hooks.before_next("RefundCreate", lambda: store.inject(SHOP, "http_429"))
    assert act(client, lead, order.id, "refund", body, key="first").status_code in (429, 502,
                                                                                      503)
    assert store.order(SHOP, order.id).refunds == []
    assert act(client, lead, order.id, "refund", body, key="second").status_code == 200
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_same_append_under_a_new_key_after_a_lost_answer_is_not_appended_twice(
        client, store, lead, hooks):
    """The continuation works for every action: a note append whose answer was lost, sent
    again under a new key, is found done rather than appended again."""
    order = paid_order(store, note="Fragile")
    body = {"note": "Customer called", "mode": "append"}
    hooks.lose_response("OrderUpdate")
    assert act(client, lead, order.id, "edit_note", body, key="n1").status_code == 502
    assert act(client, lead, order.id, "edit_note", body, key="n2").status_code == 200
    assert store.order(SHOP, order.id).note == "Fragile\nCustomer called"
    assert operations(store)["OrderUpdate"] == 1
