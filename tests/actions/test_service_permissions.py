"""Permission sets enforced by the action service: switches, sets, limits, approval requests,
verified-only sets, the order's `actions` list and the session's permissions."""

from __future__ import annotations

import action_kit
import pytest
from action_kit import (
    SHOP,
    act,
    action_requests,
    approvals,
    audit_events,
    operations,
    paid_order,
    session_for,
    use_permissions,
)
from factories import bearer, launch_token

app_config, connection, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.shop, action_kit.stand_in,
    action_kit.store)

SETS = {
    "enabled_actions": ["refund", "cancel", "edit_tags", "edit_note"],  # no address changes
    "default": "Basic",
    "permission_sets": [
        {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
         "agents": ["lead@acme.test"], "require_verified_identity": True},
        {"name": "Seniors", "actions": ["refund", "edit_tags"], "refund_limit": "100.00",
         "request_approval_above_limit": False, "agents": ["*@senior.acme.test",
                                                           "Pat@Acme.Test"]},
        {"name": "Tier 1", "actions": ["refund", "cancel", "edit_tags", "edit_note"],
         "refund_limit": "50.00", "request_approval_above_limit": True,
         "agents": ["*@acme.test"]},
        {"name": "Basic", "actions": ["edit_note"], "refund_limit": "0.00", "agents": []},
    ],
}


@pytest.fixture
def sets(shop):
    """The shop's permission sets above."""
    use_permissions(shop, SETS)


@pytest.mark.parametrize(("email", "identity", "action", "price", "status", "reason"), [
    # Tier 1: refunds up to 50.00, above that an approval request.
    ("amy@acme.test", "asserted", "refund", "40.00", 200, None),
    ("amy@acme.test", "asserted", "refund", "50.00", 200, None),
    ("amy@acme.test", "asserted", "refund", "50.01", 202, None),
    ("amy@acme.test", "asserted", "cancel", "80.00", 202, None),  # a paid cancel refunds
    ("amy@acme.test", "asserted", "edit_tags", "80.00", 200, None),
    # Seniors: up to 100.00, no approval above it; exact and *@domain, any case.
    ("bo@senior.acme.test", "asserted", "refund", "100.00", 200, None),
    ("bo@senior.acme.test", "asserted", "refund", "120.00", 403, "above_limit"),
    ("PAT@acme.TEST", "asserted", "refund", "120.00", 403, "above_limit"),
    ("bo@senior.acme.test", "asserted", "cancel", "10.00", 403, "not_in_permission_set"),
    # Leads need a verified identity; asserted, the lead falls through to Tier 1.
    ("lead@acme.test", "verified", "refund", "500.00", 200, None),
    ("lead@acme.test", "asserted", "refund", "500.00", 202, None),
    # Nobody may change addresses: the shop switched it off.
    ("lead@acme.test", "verified", "update_shipping_address", "10.00", 403, "not_enabled"),
    # Not matched: the default set (notes only).
    ("stranger@elsewhere.org", "asserted", "edit_note", "10.00", 200, None),
    ("stranger@elsewhere.org", "asserted", "refund", "10.00", 403, "not_in_permission_set"),
])
def test_permission_matrix(client, store, connection, sets, email, identity, action, price,
                           status, reason):
    """Who may do what, up to which amount, and what happens above it."""
    token = session_for(connection, email, identity=identity)
    order = paid_order(store, price=price)
    bodies = {
        "refund": {"full": True},
        "cancel": {"reason": "CUSTOMER"},
        "edit_tags": {"add": ["x"]},
        "edit_note": {"note": "x"},
        "update_shipping_address": {"address": {
            "first_name": "Bo", "last_name": "Wang", "address1": "1 Main St",
            "city": "Austin", "province_code": "TX", "zip": "78701", "country_code": "US"}},
    }
    response = act(client, token, order.id, action, bodies[action])
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    if status == 403:
        assert body["error"] == "forbidden" and body["reason"] == reason
        assert not {"RefundCreate", "OrderCancel", "TagsAdd", "OrderUpdate"} & set(
            operations(store))
        assert audit_events("action.refused")[-1].detail["reason"] == reason
    if status == 202:
        assert body["status"] == "pending_approval" and body["approval_id"]
        assert not {"RefundCreate", "OrderCancel"} & set(operations(store))


def test_no_default_and_no_match_means_no_actions(client, store, connection, shop):
    """Without a default set an unmatched agent may do nothing, and is told why."""
    use_permissions(shop, {"permission_sets": [
        {"name": "Staff", "actions": ["*"], "agents": ["*@acme.test"]}]})
    token = session_for(connection, "outsider@else.org")
    order = paid_order(store)
    response = act(client, token, order.id, "edit_note", {"note": "x"})
    assert response.status_code == 403
    assert response.get_json()["reason"] == "no_permission_set"
    assert "permission set" in response.get_json()["message"]


def test_shop_without_config_asks_approval_for_every_refund(client, store, connection):
    """The built-in default: every action, but any refund becomes an approval request."""
    token = session_for(connection, "agent@anywhere.org")
    order = paid_order(store, price="5.00")
    refund = act(client, token, order.id, "refund", {"full": True}, key="r")
    assert refund.status_code == 202
    assert act(client, token, order.id, "edit_tags", {"add": ["x"]}, key="t").status_code \
        == 200
    assert not store.order(SHOP, order.id).refunds


def test_approval_request_is_stored_audited_and_noted(client, store, connection, sets,
                                                      stand_in):
    """202 with approval_id; the request is pending with the body as sent; audit + note."""
    token = session_for(connection, "amy@acme.test", name="Amy")
    order = paid_order(store, price="80.00")
    body = {"full": True, "reason": "broken", "notify": True}
    response = act(client, token, order.id, "refund", body)
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["amount"] == "80.00" and answer["currency"] == "USD"
    assert answer["refund_limit"] == "50.00" and answer["expires_at"]
    [approval] = approvals()
    assert str(approval.id) == answer["approval_id"]
    assert approval.status == "pending" and approval.body == body
    assert approval.requester_email == "amy@acme.test" and approval.conversation == "1001"
    [event] = audit_events("approval.requested")
    assert event.status == "pending" and event.detail["approval_id"] == approval.id
    [note] = stand_in.notes_for("zendesk")
    assert "asked for approval" in note.body and "80.00" in note.body
    # The key replays the 202.
    again = act(client, token, order.id, "refund", body)
    assert again.status_code == 202 and again.get_json() == answer
    assert len(approvals()) == 1 and len(action_requests()) == 1


def test_order_actions_say_why_an_action_is_not_there(client, store, connection, sets):
    """`actions` combine the shop's switches, the agent's set and the order's state."""
    token = session_for(connection, "bo@senior.acme.test")
    order = paid_order(store, price="30.00")
    body = client.get(f"/api/v1/orders/{order.id}", headers=bearer(token)).get_json()
    actions = {a["name"]: a for a in body["actions"]}
    assert actions["update_shipping_address"]["available"] is False
    assert actions["update_shipping_address"]["reason_code"] == "not_enabled"
    assert "not enabled for this shop" in actions["update_shipping_address"]["reason"]
    assert actions["cancel"]["reason_code"] == "not_in_permission_set"
    assert "does not include cancel order" in actions["cancel"]["reason"]
    assert actions["refund"]["available"] is True
    assert actions["refund"]["refund_limit"] == "100.00"
    assert actions["refund"]["above_limit"] == "refused"
    assert actions["edit_tags"]["available"] is True


def test_order_actions_show_the_approval_note(client, store, connection, sets):
    """A Tier 1 agent sees that refunds above 50.00 need approval."""
    token = session_for(connection, "amy@acme.test")
    order = paid_order(store)
    body = client.get(f"/api/v1/orders/{order.id}", headers=bearer(token)).get_json()
    refund = next(a for a in body["actions"] if a["name"] == "refund")
    assert refund["above_limit"] == "approval"
    assert refund["limit_note"] == "Refunds above 50.00 USD need approval."


def test_order_state_reason_when_permitted(client, store, connection, sets):
    """Permitted but the order forbids it: the order's reason."""
    token = session_for(connection, "amy@acme.test")
    order = paid_order(store, payment="pending")
    body = client.get(f"/api/v1/orders/{order.id}", headers=bearer(token)).get_json()
    refund = next(a for a in body["actions"] if a["name"] == "refund")
    assert refund["available"] is False and refund["reason_code"] == "order_state"


def test_missing_shopify_scope_makes_the_action_unavailable(client, store, connection,
                                                            shop):
    """A shop that granted no write_orders: actions are 409 with that reason."""
    shop.scopes = "read_orders,read_customers"
    from plugin.extensions import db

    db.session.commit()
    token = session_for(connection, "agent@anywhere.org")
    order = paid_order(store)
    response = act(client, token, order.id, "edit_tags", {"add": ["x"]})
    assert response.status_code == 409
    assert response.get_json()["reason"] == "missing_scope"


@pytest.mark.parametrize(("email", "identity", "expected"), [
    ("amy@acme.test", "asserted", {"set": "Tier 1", "refund_limit": "50.00",
                                   "request_approval_above_limit": True, "can_approve": False,
                                   "actions": ["refund", "cancel", "edit_tags", "edit_note"]}),
    ("lead@acme.test", "asserted", {"set": "Tier 1", "can_approve": False}),
    ("stranger@else.org", "asserted", {"set": "Basic", "actions": ["edit_note"],
                                       "refund_limit": "0.00"}),
])
def test_session_carries_the_resolved_permissions(client, connection, sets, email, identity,
                                                  expected):
    """POST /api/v1/sessions answers the agent's set, actions (switches applied) and limits."""
    response = client.post("/api/v1/sessions", json={
        "launch_token": launch_token(connection, email=email)})
    assert response.status_code == 201
    permissions = response.get_json()["permissions"]
    for key, value in expected.items():
        assert permissions[key] == value, key


def test_permissions_change_takes_effect_at_once(client, store, connection, shop, sets):
    """Sets are read per request: a new import applies to open sessions."""
    token = session_for(connection, "amy@acme.test")
    order = paid_order(store, price="80.00")
    assert act(client, token, order.id, "refund", {"full": True}, key="a").status_code == 202
    use_permissions(shop, {**SETS, "enabled_actions": ["edit_note"]})
    response = act(client, token, order.id, "refund", {"full": True}, key="b")
    assert response.status_code == 403 and response.get_json()["reason"] == "not_enabled"
