"""Approving re-checks what may run now: the shop's switches and the requester's set; and an
approval's own execution key cannot be taken by a client's Idempotency-Key."""

from __future__ import annotations

import action_kit
import pytest
from action_kit import (
    SHOP,
    act,
    approvals,
    audit_events,
    operations,
    paid_order,
    session_for,
    use_permissions,
)
from factories import bearer

app_config, connection, hooks, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.hooks, action_kit.shop,
    action_kit.stand_in, action_kit.store)

LEADS = {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
         "agents": ["lead@acme.test"]}
TIER1 = {"name": "Tier 1", "actions": ["refund", "cancel", "edit_tags", "edit_note"],
         "refund_limit": "50.00", "request_approval_above_limit": True,
         "agents": ["*@acme.test"]}
TAGS_ONLY = {"name": "Tags only", "actions": ["edit_tags"], "agents": ["amy@acme.test"]}


def sets(*permission_sets, enabled=None) -> dict:
    """A permissions document with these sets (and switches when given)."""
    document = {"permission_sets": list(permission_sets)}
    if enabled is not None:
        document["enabled_actions"] = enabled
    return document


@pytest.fixture
def tokens(connection, shop):
    """Amy (Tier 1, limit 50) and a verified lead who approves."""
    use_permissions(shop, sets(LEADS, TIER1))
    return {"amy": session_for(connection, "amy@acme.test", name="Amy"),
            "lead": session_for(connection, "lead@acme.test", identity="verified")}


def approve(client, token, approval_id):
    """POST approve."""
    return client.post(f"/api/v1/approvals/{approval_id}/approve", json={},
                       headers=bearer(token))


def ask(client, store, token, key="k"):
    """An 80.00 order and Amy's full refund of it, sent for approval."""
    order = paid_order(store, price="80.00")
    response = act(client, token, order.id, "refund", {"full": True}, key=key)
    assert response.status_code == 202, response.get_json()
    return order, response.get_json()["approval_id"]


@pytest.mark.parametrize(("document", "reason"), [
    (sets(LEADS, TIER1, enabled=["cancel", "edit_tags", "edit_note"]), "not_enabled"),
    (sets(LEADS, TAGS_ONLY, TIER1), "not_in_permission_set"),
], ids=["refunds-switched-off", "requester-lost-refunds"])
def test_approving_refuses_an_action_no_longer_permitted(client, store, shop, tokens,
                                                         document, reason):
    """A refund switched off for the shop, or no longer in the requester's set, since it was
    asked is not run by approving it: 403, nothing sent to Shopify, the request stays pending."""
    order, approval_id = ask(client, store, tokens["amy"])
    use_permissions(shop, document)
    before = operations(store)
    response = approve(client, tokens["lead"], approval_id)
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["reason"] == reason
    assert operations(store) == before
    assert store.order(SHOP, order.id).refunds == []
    [approval] = approvals()
    assert approval.status == "pending"
    assert audit_events("approval.refused")[-1].detail["reason"] == reason


def test_approving_runs_once_permissions_allow_it_again(client, store, shop, tokens):
    """Once the merchant switches refunds back on, the same request can be approved."""
    order, approval_id = ask(client, store, tokens["amy"])
    use_permissions(shop, sets(LEADS, TIER1, enabled=["cancel"]))
    assert approve(client, tokens["lead"], approval_id).status_code == 403
    use_permissions(shop, sets(LEADS, TIER1))
    response = approve(client, tokens["lead"], approval_id)
    assert response.status_code == 200, response.get_json()
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_client_key_in_the_approval_namespace_is_refused(client, store, tokens):
    """`approval:<id>` keys belong to approval runs: a client sending one gets 400 and the
    approval still runs its refund when approved."""
    order, approval_id = ask(client, store, tokens["amy"])
    before = operations(store)
    response = act(client, tokens["amy"], order.id, "refund", {"full": True},
                   key=f"approval:{approval_id}")
    assert response.status_code == 400
    assert response.get_json()["reason"] == "bad_idempotency_key"
    assert operations(store) == before
    assert len(approvals()) == 1
    approved = approve(client, tokens["lead"], approval_id)
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "succeeded"
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_same_request_under_a_new_key_joins_the_pending_approval(client, store, tokens,
                                                                 stand_in):
    """Sending the same refund again with another key while it waits for approval answers
    the same approval (no second request, no second note), so approving refunds once."""
    order, approval_id = ask(client, store, tokens["amy"], key="first")
    again = act(client, tokens["amy"], order.id, "refund", {"full": True}, key="second")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["approval_id"] == approval_id
    assert len(approvals()) == 1
    assert len(stand_in.notes_for("zendesk")) == 1
    assert [e.event for e in audit_events()] == ["approval.requested", "approval.requested"]
    assert audit_events()[-1].detail["duplicate_of"] == int(approval_id)
    assert approve(client, tokens["lead"], approval_id).status_code == 200
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_a_different_request_while_one_waits_gets_its_own_approval(client, store, tokens):
    """Another body (here a reason) is another request: a second approval."""
    order, approval_id = ask(client, store, tokens["amy"], key="first")
    other = act(client, tokens["amy"], order.id, "refund", {"full": True, "reason": "late"},
                key="second")
    assert other.status_code == 202
    assert other.get_json()["approval_id"] != approval_id
    assert len(approvals()) == 2


def test_requester_cannot_continue_an_approved_run_under_a_new_key(client, store, tokens,
                                                                   hooks):
    """An approved refund whose answer was lost is retried by approving again, not by the
    requester resending the body: that is judged as a new request (above the limit: 202)."""
    order, approval_id = ask(client, store, tokens["amy"], key="first")
    hooks.lose_response("RefundCreate")
    assert approve(client, tokens["lead"], approval_id).status_code == 502
    calls = operations(store)
    again = act(client, tokens["amy"], order.id, "refund", {"full": True}, key="second")
    assert again.status_code in (202, 409), again.get_json()
    assert operations(store).get("RefundCreate") == calls.get("RefundCreate")
    retried = approve(client, tokens["lead"], approval_id)
    assert retried.status_code == 200, retried.get_json()
    assert len(store.order(SHOP, order.id).refunds) == 1
