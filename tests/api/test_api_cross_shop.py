"""A session reads and acts on its own shop only: every /api/v1 route with another shop's ids."""

from __future__ import annotations

import action_kit
import pytest
from action_kit import SHOP, act, approvals, paid_order, session_for, use_permissions
from card_fixtures import OTHER_SHOP, install
from factories import bearer, make_connection

app_config, connection, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.shop, action_kit.stand_in,
    action_kit.store)

SETS = {"default": "Tier 1", "permission_sets": [
    {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
     "agents": ["lead@example.com"]},
    {"name": "Tier 1", "actions": ["*"], "refund_limit": "50.00",
     "request_approval_above_limit": True, "agents": ["*@example.com"]},
]}


@pytest.fixture
def acme(client, store, shop, connection):
    """In `acme`: an order, its customer, a pending approval and audit rows."""
    use_permissions(shop, SETS)
    order = paid_order(store, price="80.00")
    agent = session_for(connection, "amy@example.com")
    response = act(client, agent, order.id, "refund", {"full": True})
    assert response.status_code == 202, response.get_json()
    return {"order": order, "approval_id": response.get_json()["approval_id"],
            "customer_id": order.customer_id}


@pytest.fixture
def intruder(store):
    """A verified lead (can approve, no limit) of another installed shop."""
    other = install(store, OTHER_SHOP)
    use_permissions(other, SETS)
    other_connection = make_connection(other, kind="zendesk", account="other")
    return bearer(session_for(other_connection, "lead@example.com", identity="verified"))


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/orders/{order}", None),
    ("GET", "/api/v1/orders/gid://shopify/Order/{order}", None),
    ("GET", "/api/v1/customers/{customer}", None),
    ("POST", "/api/v1/orders/{order}/actions/refund/preview", {"full": True}),
    ("POST", "/api/v1/orders/{order}/actions/refund", {"full": True}),
    ("POST", "/api/v1/orders/{order}/actions/edit_note", {"note": "x"}),
    ("POST", "/api/v1/approvals/{approval}/approve", {}),
    ("POST", "/api/v1/approvals/{approval}/deny", {}),
])
def test_another_shops_ids_are_not_found(client, store, acme, intruder, method, path, body):
    """Orders, customers and approvals of another shop are 404, and nothing changes there."""
    url = path.format(order=acme["order"].id, customer=acme["customer_id"],
                      approval=acme["approval_id"])
    response = client.open(url, method=method, headers={**intruder, "Idempotency-Key": "x-1"},
                           json=body)
    assert response.status_code == 404, response.get_json()
    assert store.order(SHOP, acme["order"].id).refunds == []
    assert store.order(SHOP, acme["order"].id).note != "x"
    assert [a.status for a in approvals()] == ["pending"]


def test_another_shops_customers_are_not_searched(client, store, acme, intruder):
    """A search by the other shop's customer email finds nobody."""
    email = store.customer(SHOP, acme["customer_id"]).email
    response = client.get("/api/v1/customers", query_string={"email": email}, headers=intruder)
    assert response.status_code == 200
    assert response.get_json()["customers"] == []


def test_another_shops_approvals_and_audit_are_not_listed(client, acme, intruder):
    """The approval queue and the audit trail show this shop's rows only."""
    queue = client.get("/api/v1/approvals", query_string={"status": "all"}, headers=intruder)
    assert queue.status_code == 200 and queue.get_json()["approvals"] == []
    for query in ({}, {"order_id": str(acme["order"].id)}):
        trail = client.get("/api/v1/audit", query_string=query, headers=intruder)
        assert trail.status_code == 200 and trail.get_json()["events"] == []
