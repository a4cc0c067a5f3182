"""Exactly once: replays, key conflicts, concurrent duplicates and retries after Shopify
failed mid-action (the action service through the API, the sandbox store as Shopify)."""

from __future__ import annotations

import threading
from datetime import timedelta

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

from plugin.actions.refund import RefundAction
from plugin.extensions import db
from plugin.models.actions import FAILED, RUNNING, SUCCEEDED
from plugin.models.base import utcnow

app_config, connection, hooks, lead, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.hooks, action_kit.lead,
    action_kit.shop, action_kit.stand_in, action_kit.store)



def refunds_of(store, order) -> list:
    """The refunds Shopify (the sandbox) holds for an order."""
    return list(store.order(SHOP, order.id).refunds)


def test_same_key_and_body_replays_the_first_answer_and_acts_once(client, store, lead):
    """The second call answers exactly the first answer and sends nothing to Shopify."""
    order = paid_order(store, price="30.00")
    first = act(client, lead, order.id, "refund", {"full": True}, key="double-click")
    assert first.status_code == 200
    calls = operations(store)
    second = act(client, lead, order.id, "refund", {"full": True}, key="double-click")
    assert second.status_code == 200
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert operations(store) == calls
    assert operations(store)["RefundCreate"] == 1
    assert len(refunds_of(store, order)) == 1
    assert len(action_requests()) == 1


def test_same_key_with_another_body_is_409(client, store, lead):
    """Another body under a used key: 409 idempotency_conflict, nothing sent, audited."""
    order = paid_order(store)
    assert act(client, lead, order.id, "edit_tags", {"add": ["a"]}, key="k").status_code == 200
    calls = operations(store)
    response = act(client, lead, order.id, "edit_tags", {"add": ["b"]}, key="k")
    assert response.status_code == 409
    assert response.get_json()["error"] == "idempotency_conflict"
    assert operations(store) == calls
    assert audit_events("action.refused")[-1].detail["error"] == "idempotency_conflict"


@pytest.mark.parametrize("change", ["order", "action", "agent"])
def test_same_key_for_another_order_action_or_agent_is_409(client, store, connection, lead,
                                                           change):
    """The key names one request: another order, action or agent cannot reuse it."""
    order, other = paid_order(store), paid_order(store)
    assert act(client, lead, order.id, "edit_tags", {"add": ["a"]}, key="k").status_code == 200
    token, order_id, action, body = lead, order.id, "edit_tags", {"add": ["a"]}
    if change == "order":
        order_id = other.id
    elif change == "action":
        action, body = "edit_note", {"note": "a"}
    else:
        token = session_for(connection, "agent2@example.com")
    response = act(client, token, order_id, action, body, key="k")
    assert response.status_code == 409
    assert response.get_json()["error"] == "idempotency_conflict"


def test_keys_are_per_shop(client, store, lead, connection):
    """Another shop may use the same key string for its own request."""
    from card_fixtures import OTHER_SHOP, install
    from factories import make_connection

    order = paid_order(store)
    assert act(client, lead, order.id, "edit_tags", {"add": ["a"]}, key="k").status_code == 200
    other_shop = install(store, OTHER_SHOP)
    other_connection = make_connection(other_shop, kind="zendesk", account="other")
    token = session_for(other_connection, "someone@other.org")
    customer = store.add_customer(OTHER_SHOP, email="x@y.org")
    other_order = store.add_order(OTHER_SHOP, customer=customer,
                                  lines=[{"title": "Pen", "price": "2.00"}])
    response = act(client, token, other_order.id, "edit_tags", {"add": ["a"]}, key="k")
    assert response.status_code == 200
    assert "a" in store.order(OTHER_SHOP, other_order.id).tags


def test_a_duplicate_arriving_while_the_first_runs_is_409_in_progress(app, client, store,
                                                                      lead, hooks):
    """A second identical call while the first is between its record and Shopify's answer:
    409 `in_progress` (enforced by the unique key in the database); later calls replay."""
    order = paid_order(store, price="30.00")
    seen = {}

    def duplicate_now() -> None:
        seen["second"] = act(app.test_client(), lead, order.id, "refund", {"full": True},
                             key="same")

    hooks.before_next("RefundCreate", duplicate_now)
    first = act(client, lead, order.id, "refund", {"full": True}, key="same")
    assert first.status_code == 200
    assert seen["second"].status_code == 409
    assert seen["second"].get_json()["error"] == "in_progress"
    third = act(client, lead, order.id, "refund", {"full": True}, key="same")
    assert third.get_json() == first.get_json()
    assert operations(store)["RefundCreate"] == 1
    assert len(refunds_of(store, order)) == 1


@pytest.mark.postgres_only
def test_concurrent_duplicates_run_the_action_once_on_postgresql(app, store, lead):
    """Eight threads send the same refund at once: one refund; every answer is the success
    or 409 in_progress; afterwards the key replays the success."""
    order = paid_order(store, price="30.00")
    barrier = threading.Barrier(8)
    answers: list = []
    lock = threading.Lock()

    def send() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = act(client, lead, order.id, "refund", {"full": True}, key="storm")
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 8
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {200, 409}
    successes = [body for status, body in answers if status == 200]
    assert successes and all(b == successes[0] for b in successes)
    assert all(body["error"] == "in_progress" for status, body in answers if status == 409)
    assert len(refunds_of(store, order)) == 1
    assert operations(store)["RefundCreate"] == 1
    assert len(action_requests()) == 1


@pytest.mark.postgres_only
def test_concurrent_different_keys_each_run_on_postgresql(app, store, lead):
    """Different keys are different requests: four tag edits in parallel all succeed."""
    order = paid_order(store)
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def send(n: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        codes.append(act(client, lead, order.id, "edit_tags", {"add": [f"t{n}"]},
                         key=f"key-{n}").status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert codes == [200] * 4
    assert {f"t{n}" for n in range(4)} <= set(store.order(SHOP, order.id).tags)


# -- Shopify failing mid-action ---------------------------------------------------------


def test_refund_whose_answer_was_lost_is_not_doubled_by_a_retry(client, store, lead, hooks):
    """Shopify made the refund but the answer was lost: 502; the retry with the same key
    resends that refund unchanged, Shopify replays it, and there is no second refund."""
    order = paid_order(store, price="30.00")
    hooks.lose_response("RefundCreate")
    first = act(client, lead, order.id, "refund", {"full": True}, key="flaky")
    assert first.status_code == 502
    assert first.get_json()["error"] == "shopify_failed"
    [record] = action_requests()
    assert record.status == FAILED and record.may_have_applied
    assert len(refunds_of(store, order)) == 1
    retry = act(client, lead, order.id, "refund", {"full": True}, key="flaky")
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["status"] == "succeeded"
    assert "30.00" in retry.get_json()["summary"]
    assert len(refunds_of(store, order)) == 1
    # The retry resent the same refund under the same @idempotent key: Shopify replayed it.
    assert operations(store)["RefundCreate"] == 2
    assert [e.event for e in audit_events()] == ["action.failed", "action.succeeded"]
    # And the key now replays the success.
    assert act(client, lead, order.id, "refund", {"full": True},
               key="flaky").get_json() == retry.get_json()


def test_refund_that_never_reached_shopify_runs_on_retry(client, store, lead, hooks):
    """Shopify failed before acting (HTTP 500): 502; the retry refunds, once."""
    order = paid_order(store, price="30.00")
    hooks.before_next("RefundCreate", lambda: store.inject(SHOP, "http_500"))
    first = act(client, lead, order.id, "refund", {"full": True}, key="k")
    assert first.status_code == 502
    assert refunds_of(store, order) == []
    retry = act(client, lead, order.id, "refund", {"full": True}, key="k")
    assert retry.status_code == 200
    assert len(refunds_of(store, order)) == 1
    assert action_requests()[0].attempts == 2


def test_shopify_replays_a_refund_resent_with_the_same_idempotent_key(app, client, store,
                                                                      lead, hooks):
    """With client retries on, a lost refund answer is resent at once under the same
    `@idempotent` key and Shopify replays the first refund: one refund, 200."""
    app.config["SHOPIFY_MAX_RETRIES"] = 1
    order = paid_order(store, price="30.00")
    hooks.lose_response("RefundCreate")
    response = act(client, lead, order.id, "refund", {"full": True}, key="k")
    assert response.status_code == 200, response.get_json()
    assert operations(store)["RefundCreate"] == 2
    assert len(refunds_of(store, order)) == 1


def test_cancel_whose_answer_was_lost_is_cancelled_once_on_retry(client, store, lead, hooks):
    """orderCancel has no Shopify key: the retry re-reads the order; Shopify joins the
    running cancel job rather than cancelling twice."""
    order = paid_order(store, price="30.00")
    body = {"reason": "CUSTOMER", "refund": True}
    hooks.lose_response("OrderCancel")
    first = act(client, lead, order.id, "cancel", body, key="c")
    assert first.status_code == 502
    retry = act(client, lead, order.id, "cancel", body, key="c")
    assert retry.status_code == 200, retry.get_json()
    cancelled = store.order(SHOP, order.id)
    assert cancelled.cancelled_at is not None
    assert len(cancelled.refunds) == 1


def test_cancel_already_done_when_retried_reports_success(client, store, lead, hooks):
    """The lost cancel finished meanwhile: the retry sees it and sends nothing."""
    from card_fixtures import _cancel

    order = paid_order(store, price="30.00")
    body = {"reason": "CUSTOMER", "refund": False}
    hooks.lose_response("OrderCancel")
    assert act(client, lead, order.id, "cancel", body, key="c").status_code == 502
    _cancel(store, store.order(SHOP, order.id))
    calls = operations(store).get("OrderCancel", 0)
    retry = act(client, lead, order.id, "cancel", body, key="c")
    assert retry.status_code == 200
    assert operations(store).get("OrderCancel", 0) == calls
    [event] = audit_events("action.succeeded")
    assert event.detail["details"]["recovered_after_uncertain_failure"] is True


def test_tags_whose_answer_was_lost_are_not_sent_again(client, store, lead, hooks):
    """The tags are on the order already: the retry reports success without resending."""
    order = paid_order(store)
    hooks.lose_response("TagsAdd")
    assert act(client, lead, order.id, "edit_tags", {"add": ["vip"]}, key="t").status_code \
        == 502
    retry = act(client, lead, order.id, "edit_tags", {"add": ["vip"]}, key="t")
    assert retry.status_code == 200
    assert operations(store)["TagsAdd"] == 1


def test_a_failure_before_any_mutation_is_retryable_and_not_uncertain(client, store, lead):
    """Shopify down while reading the order: 502, nothing may have happened."""
    order = paid_order(store)
    store.inject(SHOP, "http_503", seconds=0)
    response = act(client, lead, order.id, "edit_note", {"note": "x"}, key="n")
    assert response.status_code == 502
    [record] = action_requests()
    assert record.status == FAILED and not record.may_have_applied
    assert act(client, lead, order.id, "edit_note", {"note": "x"}, key="n").status_code == 200
    assert store.order(SHOP, order.id).note == "x"


def test_a_crash_mid_action_leaves_the_key_retryable(client, store, lead, monkeypatch):
    """An unexpected error: 500, the record is `failed` (not stuck running); a retry runs."""
    order = paid_order(store, price="30.00")
    real = RefundAction.perform

    def boom(self, *args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(RefundAction, "perform", boom)
    response = act(client, lead, order.id, "refund", {"full": True}, key="k")
    assert response.status_code == 500
    [record] = action_requests()
    assert record.status == FAILED and record.may_have_applied
    monkeypatch.setattr(RefundAction, "perform", real)
    assert act(client, lead, order.id, "refund", {"full": True}, key="k").status_code == 200
    assert len(refunds_of(store, order)) == 1


def test_a_running_record_past_its_lease_is_taken_over(app, client, store, lead):
    """A process that died mid-action left `running`: after the lease, a retry runs."""
    order = paid_order(store)
    assert act(client, lead, order.id, "edit_note", {"note": "x"}, key="n").status_code == 200
    [record] = action_requests()
    record.status, record.response_body = RUNNING, None
    db.session.commit()
    fresh = act(client, lead, order.id, "edit_note", {"note": "x"}, key="n")
    assert fresh.status_code == 409 and fresh.get_json()["error"] == "in_progress"
    record = action_requests()[0]
    record.updated_at = utcnow() - timedelta(seconds=app.config.get(
        "ACTION_LEASE_SECONDS", 300) + 1)
    db.session.commit()
    again = act(client, lead, order.id, "edit_note", {"note": "x"}, key="n")
    assert again.status_code == 200
    assert action_requests()[0].status == SUCCEEDED


def test_a_resent_refund_is_replayed_by_shopify_not_doubled(client, store, lead, hooks,
                                                            monkeypatch):
    """Even without the order comparison, the retry resends under the row's `@idempotent`
    key and Shopify (the sandbox) replays the first refund instead of making a second."""
    from plugin.actions import execution

    monkeypatch.delitem(execution.RECOVERY_RULES, "refund")
    order = paid_order(store, price="10.00", quantity=3)
    body = {"line_items": [{"line_item_id": str(order.lines[0].id), "quantity": 1}]}
    hooks.lose_response("RefundCreate")
    assert act(client, lead, order.id, "refund", body, key="r").status_code == 502
    retry = act(client, lead, order.id, "refund", body, key="r")
    assert retry.status_code == 200, retry.get_json()
    assert operations(store)["RefundCreate"] == 2  # sent twice...
    assert len(refunds_of(store, order)) == 1  # ...refunded once


def test_an_append_whose_answer_was_lost_is_not_appended_twice(client, store, lead, hooks):
    """edit_note in append mode: the retry sees the line already there."""
    order = paid_order(store, note="Fragile")
    body = {"note": "Customer called", "mode": "append"}
    hooks.lose_response("OrderUpdate")
    assert act(client, lead, order.id, "edit_note", body, key="n").status_code == 502
    assert act(client, lead, order.id, "edit_note", body, key="n").status_code == 200
    assert store.order(SHOP, order.id).note == "Fragile\nCustomer called"
    assert operations(store)["OrderUpdate"] == 1
