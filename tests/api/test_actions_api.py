"""`POST /api/v1/orders/{id}/actions/{action}` and `/preview` against the sandbox store."""

from __future__ import annotations

import action_kit
import pytest
from action_kit import (
    SHOP,
    act,
    action_requests,
    audit_events,
    operations,
    paid_order,
    preview,
    session_for,
    use_permissions,
)
from factories import bearer

# Fixtures (tests/action_kit.py).
app_config, connection, hooks, lead, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.hooks, action_kit.lead,
    action_kit.shop, action_kit.stand_in, action_kit.store)


@pytest.fixture
def agent(connection, shop):
    """A Tier 1 agent (refunds up to 50.00, approval above) under the contract's example."""
    use_permissions(shop)
    return session_for(connection, "agent@example.com")



# -- success ---------------------------------------------------------------------------------


def test_refund_within_limit_succeeds_with_summary_and_fresh_order(client, store, agent,
                                                                   stand_in):
    """200 with status, action_id, summary and the refreshed order (with its actions)."""
    order = paid_order(store, price="30.00")
    response = act(client, agent, order.id, "refund", {"full": True, "reason": "damaged"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "succeeded"
    assert body["action_id"]
    assert "refunded" in body["summary"] and "30.00" in body["summary"]
    assert body["order"]["id"] == str(order.id)
    assert body["order"]["status"]["payment"] == "refunded"
    assert {a["name"] for a in body["order"]["actions"]} >= {"refund", "cancel"}
    assert store.order(SHOP, order.id).refunds  # Shopify (the sandbox) made the refund
    [event] = audit_events("action.succeeded")
    assert event.agent_email == "agent@example.com" and event.agent_identity == "asserted"
    assert event.conversation == "1001" and event.order_id == str(order.id)
    assert event.shopify_request_id
    [note] = stand_in.notes_for("zendesk")
    assert "refunded" in note.body and note.conversation == "1001"


@pytest.mark.parametrize(("action", "body", "check"), [
    ("edit_tags", {"add": ["vip"], "remove": []}, lambda o: "vip" in o.tags),
    ("edit_note", {"note": "Call before delivery"}, lambda o: o.note == "Call before delivery"),
    ("cancel", {"reason": "CUSTOMER", "refund": False, "restock": True},
     lambda o: o.cancelled_at is not None),
    ("update_shipping_address",
     {"address": {"first_name": "Bo", "last_name": "Wang", "address1": "2 Pine St",
                  "city": "Austin", "province_code": "TX", "zip": "78701",
                  "country_code": "US"}},
     lambda o: o.shipping_address.city == "Austin"),
])
def test_every_action_runs_through_the_api(client, store, lead, action, body, check):
    """Each registered action runs on the sandbox order and answers 200."""
    order = paid_order(store, price="20.00")
    response = act(client, lead, order.id, action, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "succeeded"
    assert check(store.order(SHOP, order.id))


def test_order_accepts_a_gid_in_the_action_url(client, store, lead):
    """`gid://shopify/Order/N` works as well as N."""
    order = paid_order(store)
    response = act(client, lead, f"gid://shopify/Order/{order.id}", "edit_tags",
                   {"add": ["x"]})
    assert response.status_code == 200


# -- bad input: 400/404/413 and nothing sent to Shopify -----------------------------------


@pytest.mark.parametrize(("key", "reason"), [
    (None, "missing_idempotency_key"),
    ("", "missing_idempotency_key"),
    ("has space", "bad_idempotency_key"),
    ("x" * 256, "bad_idempotency_key"),
    ("caf\u00e9", "bad_idempotency_key"),
])
def test_missing_or_bad_idempotency_key_is_400(client, store, agent, key, reason):
    """The key is required: 1–255 visible ASCII characters; nothing reaches Shopify."""
    order = paid_order(store)
    headers = bearer(agent)
    if key is not None:
        headers["Idempotency-Key"] = key.encode("utf-8").decode("latin-1")
    response = client.post(f"/api/v1/orders/{order.id}/actions/edit_tags",
                           json={"add": ["a"]}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["reason"] == reason
    assert operations(store) == {}
    assert action_requests() == []
    [event] = audit_events("action.refused")
    assert event.detail["reason"] == reason


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "not_an_object"),
    (b'"text"', "not_an_object"),
    (b"", "empty_body"),
    (b'{"note": NaN}', "malformed_json"),
    (b"\xff\xfe", "malformed_json"),
])
def test_malformed_or_non_object_json_is_400(client, store, agent, raw, reason):
    """Bodies must be JSON objects; refusals are audited and nothing reaches Shopify."""
    order = paid_order(store)
    response = act(client, agent, order.id, "edit_note", None, raw=raw)
    assert response.status_code == 400
    assert response.get_json()["reason"] == reason
    assert operations(store) == {}
    assert [e.status for e in audit_events("action.refused")] == ["refused"]


def test_oversized_body_is_413(app, client, store, agent):
    """Bodies over MAX_CONTENT_LENGTH are refused before they are read."""
    order = paid_order(store)
    raw = b'{"note": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}'
    response = act(client, agent, order.id, "edit_note", None, raw=raw)
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert operations(store) == {}


def test_unknown_action_is_404(client, store, agent):
    """An action name the registry doesn't know: 404, audited."""
    order = paid_order(store)
    response = act(client, agent, order.id, "teleport", {})
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert audit_events("action.refused")[0].action == "teleport"


@pytest.mark.parametrize(("action", "body"), [
    ("refund", {"amount": "-5.00"}),
    ("refund", {"amount": "abc"}),
    ("refund", {"amount": 5.5}),
    ("refund", {"line_items": [{"line_item_id": "1", "quantity": 0}]}),
    ("cancel", {"reason": "BORED"}),
    ("edit_tags", {"add": "vip"}),
    ("edit_note", {"note": 5}),
])
def test_invalid_body_is_400_and_nothing_is_sent(client, store, lead, action, body):
    """The action's validation refuses it before the idempotency record and Shopify."""
    order = paid_order(store)
    response = act(client, lead, order.id, action, body)
    assert response.status_code == 400, response.get_json()
    assert operations(store) == {}
    assert action_requests() == []


def test_unknown_line_item_is_400_and_no_mutation(client, store, lead):
    """Checked against the fresh order: no refund is attempted."""
    order = paid_order(store)
    response = act(client, lead, order.id, "refund",
                   {"line_items": [{"line_item_id": "999", "quantity": 1}]})
    assert response.status_code == 400
    assert "RefundCreate" not in operations(store)


def test_quantity_above_what_remains_is_400(client, store, lead):
    """Two units ordered, three asked: refused before Shopify is asked to refund."""
    order = paid_order(store, price="10.00", quantity=2)
    line = order.lines[0].id
    response = act(client, lead, order.id, "refund",
                   {"line_items": [{"line_item_id": str(line), "quantity": 3}]})
    assert response.status_code == 400
    assert "RefundCreate" not in operations(store)


def test_amount_above_refundable_is_400(client, store, lead):
    """A manual amount above what was paid: 400, no refund."""
    order = paid_order(store, price="10.00")
    response = act(client, lead, order.id, "refund", {"amount": "25.00"})
    assert response.status_code == 400
    assert "RefundCreate" not in operations(store)


def test_unknown_order_is_404_and_stored(client, store, lead):
    """An order this shop doesn't have: 404, the key's final answer."""
    response = act(client, lead, 424242, "edit_tags", {"add": ["a"]})
    assert response.status_code == 404
    again = act(client, lead, 424242, "edit_tags", {"add": ["a"]})
    assert again.status_code == 404
    assert again.headers["Idempotent-Replayed"] == "true"


# -- 409 availability, 422 Shopify refused ----------------------------------------------


def test_cancel_of_a_fulfilled_order_is_409_with_reason(client, store, lead):
    """The order's state forbids it: 409 `not_available` with the reason; no cancel sent."""
    order = paid_order(store)
    store.fulfill(order)
    store.reset()
    response = act(client, lead, order.id, "cancel", {"reason": "CUSTOMER"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "not_available" and body["reason"]
    assert "OrderCancel" not in operations(store)
    [event] = audit_events("action.refused")
    assert event.detail["http_status"] == 409


def test_shopify_user_errors_are_422_and_replayed(client, store, lead, hooks):
    """The order shipped between our read and the cancel: Shopify's own message, 422; the
    same key replays the same 422 without asking Shopify again."""
    order = paid_order(store)
    hooks.before_next("OrderCancel", lambda: store.fulfill(order))
    response = act(client, lead, order.id, "cancel", {"reason": "CUSTOMER", "refund": False})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "shopify_refused"
    assert "fulfilled" in body["errors"][0]["message"]
    calls_before = operations(store)
    again = act(client, lead, order.id, "cancel", {"reason": "CUSTOMER", "refund": False})
    assert again.status_code == 422 and again.get_json() == body
    assert operations(store) == calls_before
    [event] = audit_events("action.failed")
    assert event.status == "shopify_refused"


# -- preview --------------------------------------------------------------------------------


def test_preview_shows_amounts_and_that_approval_is_needed(client, store, agent):
    """Preview changes nothing and says whether the agent's limit covers it."""
    order = paid_order(store, price="80.00")
    response = preview(client, agent, order.id, "refund", {"full": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"]["amount"] == "80.00"
    assert body["amount"] == "80.00" and body["currency"] == "USD"
    assert body["within_limit"] is False and body["requires_approval"] is True
    assert body["allowed"] is True
    assert body["refund_limit"] == "50.00"
    assert not store.order(SHOP, order.id).refunds
    assert action_requests() == []


def test_preview_within_limit(client, store, agent):
    """A small refund: within the limit, no approval."""
    order = paid_order(store, price="20.00")
    body = preview(client, agent, order.id, "refund", {"full": True}).get_json()
    assert body["within_limit"] is True and body["requires_approval"] is False


def test_preview_needs_no_idempotency_key_and_checks_permission(client, store, connection,
                                                                 shop):
    """An agent whose set lacks the action gets 403 on preview too."""
    use_permissions(shop, {"default": "Tags", "permission_sets": [
        {"name": "Tags", "actions": ["edit_tags"], "agents": []}]})
    token = session_for(connection, "someone@else.org")
    order = paid_order(store)
    response = preview(client, token, order.id, "refund", {"full": True})
    assert response.status_code == 403
    assert response.get_json()["reason"] == "not_in_permission_set"
    assert operations(store) == {}


def test_preview_of_unavailable_action_is_409(client, store, lead):
    """Preview checks the order's state like the action does."""
    order = paid_order(store, payment="pending")
    response = preview(client, lead, order.id, "refund", {"full": True})
    assert response.status_code == 409


def test_preview_requires_a_session(client, store):
    """No bearer token: 401."""
    response = client.post("/api/v1/orders/1/actions/refund/preview", json={"full": True})
    assert response.status_code == 401
