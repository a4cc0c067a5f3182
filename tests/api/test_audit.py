"""`GET /api/v1/audit`: every attempt, refusal, approval step and result, per shop."""

from __future__ import annotations

import action_kit
import pytest
from action_kit import act, audit_events, paid_order, session_for, use_permissions
from card_fixtures import OTHER_SHOP, install
from factories import bearer, make_connection

from plugin.extensions import db
from plugin.models import AuditEvent

app_config, connection, hooks, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.hooks, action_kit.shop,
    action_kit.stand_in, action_kit.store)


@pytest.fixture
def people(connection, shop):
    """A verified lead (approver) and a Tier 1 agent, under the kit's permissions."""
    use_permissions(shop)
    return {"lead": session_for(connection, "lead@example.com", identity="verified"),
            "agent": session_for(connection, "agent@example.com", conversation="77")}


def audit(client, token, **params):
    """GET /api/v1/audit with query parameters."""
    return client.get("/api/v1/audit", query_string=params, headers=bearer(token))


def test_every_attempt_and_refusal_is_in_the_order_trail(client, store, people, hooks):
    """Success, refusal, Shopify failure and approval request all appear, newest first,
    with agent, identity, connection, conversation, status, summary and request id."""
    order = paid_order(store, price="80.00")
    agent, lead = people["agent"], people["lead"]
    assert act(client, agent, order.id, "edit_tags", {"add": ["a"]}, key="1").status_code \
        == 200
    assert act(client, agent, order.id, "edit_tags", {"add": ["b"]}, key="1").status_code \
        == 409
    assert act(client, agent, order.id, "refund", {"full": True}, key="2").status_code == 202
    hooks.before_next("OrderUpdate", lambda: store.inject(action_kit.SHOP, "http_500"))
    assert act(client, lead, order.id, "edit_note", {"note": "n"}, key="3").status_code == 502
    response = audit(client, agent, order_id=order.id)
    assert response.status_code == 200
    events = response.get_json()["events"]
    assert [(e["event"], e["status"]) for e in events] == [
        ("action.failed", "failed"),
        ("approval.requested", "pending"),
        ("action.refused", "refused"),
        ("action.succeeded", "succeeded"),
    ]
    succeeded = events[-1]
    assert succeeded["agent"] == {"email": "agent@example.com", "name": "Agent",
                                  "identity": "asserted"}
    assert succeeded["connection_id"] and succeeded["conversation"] == "77"
    assert succeeded["action"] == "edit_tags" and succeeded["order_id"] == str(order.id)
    assert succeeded["shopify_request_id"] and succeeded["summary"]
    assert succeeded["created_at"]
    assert events[2]["detail"]["error"] == "idempotency_conflict"
    assert events[1]["detail"]["amount"] == "80.00"
    assert events[0]["agent"]["identity"] == "verified"


def test_trail_pages_with_limit_and_before(client, store, people):
    """`limit` and `before` page back through the trail."""
    order = paid_order(store)
    for n in range(5):
        act(client, people["lead"], order.id, "edit_tags", {"add": [f"t{n}"]}, key=f"k{n}")
    first = audit(client, people["lead"], order_id=order.id, limit=2).get_json()
    assert len(first["events"]) == 2 and first["next_before"]
    second = audit(client, people["lead"], order_id=order.id, limit=2,
                   before=first["next_before"]).get_json()
    third = audit(client, people["lead"], order_id=order.id, limit=2,
                  before=second["next_before"]).get_json()
    ids = [e["id"] for page in (first, second, third) for e in page["events"]]
    assert len(ids) == 5 == len(set(ids))
    assert [int(i) for i in ids] == sorted((int(i) for i in ids), reverse=True)
    assert third["next_before"] is None


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "abc"}, {"limit": "201"},
                                    {"before": "-1"}, {"order_id": "nope"}])
def test_bad_paging_is_400(client, people, params):
    """Malformed limit, cursor or order id: 400."""
    assert audit(client, people["lead"], **params).status_code == 400


def test_whole_shop_trail_is_for_approvers(client, store, people):
    """Without order_id: approvers see the shop's trail, others only their own entries."""
    order = paid_order(store)
    act(client, people["lead"], order.id, "edit_tags", {"add": ["a"]}, key="a")
    act(client, people["agent"], order.id, "edit_tags", {"add": ["b"]}, key="b")
    lead_view = audit(client, people["lead"]).get_json()
    assert lead_view["scope"] == "shop" and len(lead_view["events"]) == 2
    agent_view = audit(client, people["agent"]).get_json()
    assert agent_view["scope"] == "mine"
    assert [e["agent"]["email"] for e in agent_view["events"]] == ["agent@example.com"]


def test_trail_is_this_shops_only_and_actions_only(client, store, people, shop):
    """Other shops' entries and non-action events (installs, compliance) never show."""
    order = paid_order(store)
    act(client, people["lead"], order.id, "edit_tags", {"add": ["a"]}, key="a")
    other = install(store, OTHER_SHOP)
    db.session.add(AuditEvent(shop_id=other.id, event="action.succeeded", action="refund",
                              order_id=str(order.id), status="succeeded"))
    db.session.add(AuditEvent(shop_id=shop.id, event="compliance.data_request",
                              order_id=str(order.id), status="exported",
                              detail={"secret": "customer data"}))
    db.session.commit()
    events = audit(client, people["lead"], order_id=order.id).get_json()["events"]
    assert [e["event"] for e in events] == ["action.succeeded"]
    other_connection = make_connection(other, kind="zendesk", account="other")
    other_token = session_for(other_connection, "x@other.org")
    theirs = audit(client, other_token, order_id=order.id).get_json()["events"]
    assert [(e["event"], e["action"]) for e in theirs] == [("action.succeeded", "refund")]


def test_refusals_before_the_record_are_audited(client, store, people):
    """Missing key, bad JSON, unknown action, not permitted: each is an audit row."""
    order = paid_order(store)
    agent = people["agent"]
    act(client, agent, order.id, "edit_tags", {"add": ["a"]}, key=None)
    act(client, agent, order.id, "edit_note", None, raw=b"{", key="x")
    act(client, agent, order.id, "nope", {}, key="y")
    act(client, agent, order.id, "update_shipping_address", {"address": {}}, key="z")
    reasons = [e.detail.get("reason") or e.detail.get("error")
               for e in audit_events("action.refused")]
    assert reasons == ["missing_idempotency_key", "malformed_json", "not_found",
                       "bad_request"]


def test_audit_needs_a_session(client):
    """No bearer token: 401."""
    assert client.get("/api/v1/audit").status_code == 401
