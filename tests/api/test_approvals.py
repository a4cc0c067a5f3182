"""The approval queue: `GET /api/v1/approvals`, approve (runs the request once) and deny."""

from __future__ import annotations

import threading
from datetime import timedelta

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

from plugin.extensions import db
from plugin.models.base import utcnow

app_config, connection, hooks, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.hooks, action_kit.shop,
    action_kit.stand_in, action_kit.store)

SETS = {
    "default": "Tier 1",
    "permission_sets": [
        {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
         "agents": ["lead@acme.test", "lead2@acme.test"]},
        {"name": "Supervisors", "actions": ["*"], "refund_limit": "100.00",
         "request_approval_above_limit": True, "can_approve": True,
         "agents": ["sup@acme.test", "sup2@acme.test"]},
        {"name": "Tier 1", "actions": ["refund", "cancel", "edit_tags", "edit_note"],
         "refund_limit": "50.00", "request_approval_above_limit": True,
         "agents": ["*@acme.test"]},
    ],
}


@pytest.fixture
def sets(shop):
    """The permission sets above."""
    use_permissions(shop, SETS)


@pytest.fixture
def tokens(connection, sets):
    """Sessions: a Tier 1 agent, verified leads, a supervisor, an asserted lead."""
    return {
        "amy": session_for(connection, "amy@acme.test", name="Amy", conversation="1001"),
        "ben": session_for(connection, "ben@acme.test", name="Ben", conversation="1002"),
        "lead": session_for(connection, "lead@acme.test", identity="verified", name="Lee",
                            conversation="2001"),
        "lead2": session_for(connection, "lead2@acme.test", identity="verified"),
        "lead_asserted": session_for(connection, "lead@acme.test"),
        "sup": session_for(connection, "sup@acme.test", identity="verified"),
        "sup2": session_for(connection, "sup2@acme.test", identity="verified"),
    }


def request_refund(client, store, token, *, price: str = "80.00", body=None, key="k"):
    """An order and a refund request above the agent's limit; returns (order, approval id)."""
    order = paid_order(store, price=price)
    response = act(client, token, order.id, "refund", body or {"full": True}, key=key)
    assert response.status_code == 202, response.get_json()
    return order, response.get_json()["approval_id"]


def approve(client, token, approval_id, comment=None):
    """POST approve."""
    return client.post(f"/api/v1/approvals/{approval_id}/approve",
                       json={"comment": comment} if comment else {}, headers=bearer(token))


def deny(client, token, approval_id, comment=None):
    """POST deny."""
    return client.post(f"/api/v1/approvals/{approval_id}/deny",
                       json={"comment": comment} if comment else {}, headers=bearer(token))


def test_approver_approves_and_the_request_runs_once_as_asked(client, store, tokens,
                                                              stand_in):
    """Approve runs the stored refund: 200 succeeded, one refund of the amount asked."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    response = approve(client, tokens["lead"], approval_id, "ok, damaged in transit")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "succeeded"
    assert "approved by Lee" in body["summary"]
    assert body["approval"]["status"] == "executed"
    assert body["approval"]["decided_by"]["email"] == "lead@acme.test"
    assert body["approval"]["comment"] == "ok, damaged in transit"
    refunds = store.order(SHOP, order.id).refunds
    assert len(refunds) == 1
    [approval] = approvals()
    assert approval.status == "executed" and approval.execution_request_id
    events = [e.event for e in audit_events()]
    assert events == ["approval.requested", "approval.approved", "action.succeeded"]
    succeeded = audit_events("action.succeeded")[0]
    assert succeeded.agent_email == "amy@acme.test"  # the requester's action...
    assert succeeded.detail["approved_by"]["email"] == "lead@acme.test"  # ...approved by
    # Notes go to the requester's conversation: asked, approved, done.
    notes = stand_in.notes_for("zendesk")
    assert [n.conversation for n in notes] == ["1001", "1001", "1001"]
    assert "approved" in notes[1].body and "refunded" in notes[2].body


def test_approval_runs_the_body_as_the_requester_sent_it(client, store, tokens):
    """A line-item refund with restock is executed exactly so."""
    order = paid_order(store, price="40.00", quantity=3)
    line = str(order.lines[0].id)
    body = {"line_items": [{"line_item_id": line, "quantity": 2, "restock": True}],
            "reason": "two broken"}
    response = act(client, tokens["amy"], order.id, "refund", body)
    assert response.status_code == 202
    approval_id = response.get_json()["approval_id"]
    assert approve(client, tokens["lead"], approval_id).status_code == 200
    [refund] = store.order(SHOP, order.id).refunds
    assert sum(r.quantity for r in refund.lines) == 2


def test_approving_twice_runs_once(client, store, tokens):
    """The second approve is 409 and nothing more is refunded."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    assert approve(client, tokens["lead"], approval_id).status_code == 200
    again = approve(client, tokens["lead2"], approval_id)
    assert again.status_code == 409
    assert again.get_json()["reason"] == "already_executed"
    assert len(store.order(SHOP, order.id).refunds) == 1
    assert operations(store)["RefundCreate"] == 1


def test_a_second_approver_during_the_run_gets_409(app, client, store, tokens, hooks):
    """Two approvers at once: the conditional update lets one run it; the other gets 409."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    seen = {}
    hooks.before_next("RefundCreate", lambda: seen.setdefault(
        "other", approve(app.test_client(), tokens["lead2"], approval_id)))
    first = approve(client, tokens["lead"], approval_id)
    assert first.status_code == 200
    assert seen["other"].status_code == 409
    assert seen["other"].get_json()["error"] in ("in_progress", "not_available")
    assert len(store.order(SHOP, order.id).refunds) == 1


@pytest.mark.postgres_only
def test_concurrent_approvals_run_once_on_postgresql(app, store, tokens):
    """Two verified leads approve at the same instant: one refund."""
    client = app.test_client()
    order, approval_id = request_refund(client, store, tokens["amy"])
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def send(token: str) -> None:
        barrier.wait(timeout=10)
        codes.append(approve(app.test_client(), token, approval_id).status_code)

    threads = [threading.Thread(target=send, args=(tokens[n],)) for n in ("lead", "lead2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(codes) == [200, 409]
    assert len(store.order(SHOP, order.id).refunds) == 1


@pytest.mark.parametrize(("who", "reason", "message"), [
    ("ben", "cannot_approve", "cannot approve"),  # Tier 1: no can_approve
    ("amy", "cannot_approve", "cannot approve"),  # the requester, who cannot approve anyway
    ("lead_asserted", "unverified_identity", "verified identity"),  # a lead, asserted
    ("sup2", "approver_limit", "does not cover 150.00"),  # limit 100 < 150
])
def test_who_cannot_approve(client, store, tokens, who, reason, message):
    """No right, too low a limit, or an asserted identity: 403 with the reason; no refund."""
    order, approval_id = request_refund(client, store, tokens["amy"], price="150.00")
    response = approve(client, tokens[who], approval_id)
    assert response.status_code == 403
    assert response.get_json()["reason"] == reason
    assert message in response.get_json()["message"]
    assert not store.order(SHOP, order.id).refunds
    assert approvals()[0].status == "pending"
    assert audit_events("approval.refused")[-1].detail["reason"] == reason


def test_approving_needs_a_verified_identity(client, store, connection, shop):
    """An approver set that does not require verification: asserted still cannot approve."""
    use_permissions(shop, {"default": "Tier 1", "permission_sets": [
        {"name": "Leads", "actions": ["*"], "can_approve": True, "agents": ["lead@acme.test"]},
        {"name": "Tier 1", "actions": ["refund"], "refund_limit": "50.00",
         "request_approval_above_limit": True, "agents": ["*@acme.test"]}]})
    amy = session_for(connection, "amy@acme.test")
    order, approval_id = request_refund(client, store, amy)
    response = approve(client, session_for(connection, "lead@acme.test"), approval_id)
    assert response.status_code == 403
    assert response.get_json()["reason"] == "unverified_identity"
    assert "Approving needs a verified identity" in response.get_json()["message"]
    verified = session_for(connection, "lead@acme.test", identity="verified")
    assert approve(client, verified, approval_id).status_code == 200


def test_requester_cannot_approve_their_own_request(client, store, tokens):
    """A supervisor above their own limit asks; approving it themselves is 403."""
    order, approval_id = request_refund(client, store, tokens["sup"], price="150.00")
    response = approve(client, tokens["sup"], approval_id)
    assert response.status_code == 403
    assert response.get_json()["reason"] == "own_request"
    assert approve(client, tokens["lead"], approval_id).status_code == 200


def test_expired_request_is_409_and_marked_expired(client, store, tokens):
    """After APPROVAL_TTL_SECONDS the request can no longer be approved."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    [approval] = approvals()
    approval.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = approve(client, tokens["lead"], approval_id)
    assert response.status_code == 409
    assert response.get_json()["reason"] == "expired"
    assert approvals()[0].status == "expired"
    assert audit_events("approval.expired")
    assert not store.order(SHOP, order.id).refunds


def test_requests_expire_after_the_configured_time(app, client, store, tokens):
    """expires_at = now + APPROVAL_TTL_SECONDS (72 h by default)."""
    app.config["APPROVAL_TTL_SECONDS"] = 600
    request_refund(client, store, tokens["amy"])
    [approval] = approvals()
    remaining = (approval.expires_at - utcnow()).total_seconds()
    assert 590 < remaining <= 600


def test_deny_closes_the_request_with_a_note(client, store, tokens, stand_in):
    """Deny: 200 with the approval, status denied, audit and a note; approve is then 409."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    response = deny(client, tokens["lead"], approval_id, "not eligible")
    assert response.status_code == 200
    body = response.get_json()["approval"]
    assert body["status"] == "denied" and body["comment"] == "not eligible"
    assert audit_events("approval.denied")[0].summary.endswith("comment: not eligible")
    assert "denied" in stand_in.notes_for("zendesk")[-1].body
    assert approve(client, tokens["lead"], approval_id).status_code == 409
    assert deny(client, tokens["lead"], approval_id).status_code == 409
    assert not store.order(SHOP, order.id).refunds


@pytest.mark.parametrize(("who", "reason"), [("ben", "cannot_approve"),
                                             ("lead_asserted", "unverified_identity")])
def test_who_cannot_deny(client, store, tokens, who, reason):
    """Denying needs an approver too."""
    _, approval_id = request_refund(client, store, tokens["amy"])
    response = deny(client, tokens[who], approval_id)
    assert response.status_code == 403 and response.get_json()["reason"] == reason


def test_shopify_failure_during_the_run_can_be_retried_by_approving_again(client, store,
                                                                          tokens, hooks):
    """Shopify fails after approval: 502, the approval stays approved; approving again
    retries under the same key — one refund in all."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    hooks.lose_response("RefundCreate")
    first = approve(client, tokens["lead"], approval_id)
    assert first.status_code == 502
    assert first.get_json()["approval"]["status"] == "approved"
    retry = approve(client, tokens["lead2"], approval_id)
    assert retry.status_code == 200, retry.get_json()
    assert len(store.order(SHOP, order.id).refunds) == 1
    assert approvals()[0].status == "executed"


def test_shopify_refusal_during_the_run_fails_the_approval(client, store, tokens, hooks):
    """The order was fully refunded elsewhere meanwhile: the run is refused; approval failed."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    lead = tokens["lead"]
    assert act(client, lead, order.id, "refund", {"full": True}, key="other").status_code \
        == 200
    response = approve(client, lead, approval_id)
    assert response.status_code == 409
    assert response.get_json()["approval"]["status"] == "failed"
    assert len(store.order(SHOP, order.id).refunds) == 1


def test_amount_larger_than_approved_is_refused(client, store, tokens):
    """The run re-checks the amount: more than was approved is 409 amount_changed."""
    order, approval_id = request_refund(client, store, tokens["amy"])
    [approval] = approvals()
    approval.amount = "60.00"
    db.session.commit()
    response = approve(client, tokens["lead"], approval_id)
    assert response.status_code == 409
    assert response.get_json()["reason"] == "amount_changed"
    assert not store.order(SHOP, order.id).refunds


def test_queue_for_approvers_and_requesters(client, store, tokens):
    """Approvers see the shop's pending requests; agents see their own; others see none."""
    _, first = request_refund(client, store, tokens["amy"], key="a")
    _, second = request_refund(client, store, tokens["ben"], key="b")
    lead_view = client.get("/api/v1/approvals", headers=bearer(tokens["lead"])).get_json()
    assert lead_view["can_approve"] is True and lead_view["scope"] == "shop"
    assert [a["id"] for a in lead_view["approvals"]] == [second, first]
    assert all(a["can_approve"] for a in lead_view["approvals"])
    amy_view = client.get("/api/v1/approvals", headers=bearer(tokens["amy"])).get_json()
    assert [a["id"] for a in amy_view["approvals"]] == [first]
    assert amy_view["approvals"][0]["can_approve"] is False
    assert amy_view["approvals"][0]["reason"]
    assert amy_view["approvals"][0]["requested_by"]["email"] == "amy@acme.test"
    assert amy_view["approvals"][0]["amount"] == "80.00"
    other = session_for(action_kit_connection(), "cy@acme.test")
    assert client.get("/api/v1/approvals", headers=bearer(other)).get_json()["approvals"] == []


def action_kit_connection():
    """The test's connection row."""
    from plugin.models import HelpdeskConnection

    return db.session.scalars(db.select(HelpdeskConnection)).first()


def test_queue_filters(client, store, tokens):
    """`status=all` shows decided requests; `order_id` narrows; bad status is 400."""
    order, first = request_refund(client, store, tokens["amy"], key="a")
    request_refund(client, store, tokens["amy"], key="b")
    assert deny(client, tokens["lead"], first).status_code == 200
    headers = bearer(tokens["lead"])
    pending = client.get("/api/v1/approvals", headers=headers).get_json()["approvals"]
    assert first not in [a["id"] for a in pending]
    everything = client.get("/api/v1/approvals?status=all", headers=headers).get_json()
    assert first in [a["id"] for a in everything["approvals"]]
    by_order = client.get(f"/api/v1/approvals?status=all&order_id={order.id}",
                          headers=headers).get_json()["approvals"]
    assert [a["id"] for a in by_order] == [first]
    assert client.get("/api/v1/approvals?status=bogus", headers=headers).status_code == 400


def test_unknown_or_other_shops_approval_is_404(client, store, tokens):
    """Approval ids are per shop."""
    assert approve(client, tokens["lead"], "999").status_code == 404
    assert approve(client, tokens["lead"], "abc").status_code == 404
    assert deny(client, tokens["lead"], "999").status_code == 404


def test_bad_comment_is_400(client, store, tokens):
    """Comments are text up to 1000 characters."""
    _, approval_id = request_refund(client, store, tokens["amy"])
    response = client.post(f"/api/v1/approvals/{approval_id}/approve",
                           json={"comment": 5}, headers=bearer(tokens["lead"]))
    assert response.status_code == 400
    response = client.post(f"/api/v1/approvals/{approval_id}/deny",
                           json={"comment": "x" * 1001}, headers=bearer(tokens["lead"]))
    assert response.status_code == 400
    assert approvals()[0].status == "pending"


def test_approvals_need_a_session(client):
    """No bearer token: 401."""
    assert client.get("/api/v1/approvals").status_code == 401
    assert client.post("/api/v1/approvals/1/approve", json={}).status_code == 401
