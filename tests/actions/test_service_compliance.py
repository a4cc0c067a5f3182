"""The action tables in the compliance topics: export, redact a customer, erase a shop."""

from __future__ import annotations

import action_kit
from action_kit import act, action_requests, approvals, paid_order, session_for, use_permissions

from plugin.extensions import db
from plugin.models import ActionRequest, ApprovalRequest, PermissionConfig
from plugin.webhooks.compliance import (
    SHOP_ERASERS,
    customers_data_request,
    customers_redact,
)
from plugin.webhooks.handlers import WebhookEvent

app_config, connection, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.shop, action_kit.stand_in,
    action_kit.store)


def event(topic: str, body: dict) -> WebhookEvent:
    """A verified delivery for the acme shop."""
    return WebhookEvent(topic=topic, shop_domain=action_kit.SHOP, body=body,
                        webhook_id=f"wh-{topic}", triggered_at=None, job_id=None)


def customer_actions(client, store, connection, shop):
    """A tags edit (done) and a refund above the limit (approval) on one customer's order."""
    use_permissions(shop)
    token = session_for(connection, "agent@example.com")
    order = paid_order(store, price="80.00")
    assert act(client, token, order.id, "edit_tags", {"add": ["x"]}, key="a").status_code \
        == 200
    assert act(client, token, order.id, "refund", {"full": True}, key="b").status_code == 202
    return order


def test_data_request_exports_action_and_approval_requests(app, client, store, connection,
                                                           shop):
    """The customer's export lists the actions on their orders and approval requests."""
    order = customer_actions(client, store, connection, shop)
    customer_id = action_requests()[0].customer_id
    customers_data_request(event("customers/data_request", {
        "customer": {"id": int(customer_id)}, "orders_requested": [order.id],
        "data_request": {"id": 1}}))
    db.session.commit()
    from plugin.models import AuditEvent

    export = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.event == "compliance.data_request")).one().detail
    assert [r["action"] for r in export["action_requests"]] == ["edit_tags", "refund"]
    assert [a["amount"] for a in export["approval_requests"]] == ["80.00"]


def test_customer_redact_scrubs_stored_answers_and_approvals(app, client, store, connection,
                                                             shop):
    """Names and emails leave the stored answers, snapshots and approval requests."""
    order = customer_actions(client, store, connection, shop)
    record = action_requests()[0]
    email = record.response_body["order"]["email"]
    assert email
    customers_redact(event("customers/redact", {
        "customer": {"id": int(record.customer_id), "email": email},
        "orders_to_redact": [order.id]}))
    db.session.commit()
    record = action_requests()[0]
    assert email not in str(record.response_body)
    assert email not in str(record.order_snapshot)
    assert record.response_body["status"] == "succeeded"  # ids and outcome stay
    assert approvals()[0].amount == "80.00"


def test_shop_erasure_deletes_actions_approvals_and_permission_sets(app, client, store,
                                                                    connection, shop):
    """shop/redact's `actions` step deletes every action row of the shop, and only its."""
    customer_actions(client, store, connection, shop)
    deleted = SHOP_ERASERS["actions"](action_kit.SHOP, shop.id, None)
    db.session.commit()
    assert deleted == 4  # two action requests, one approval, the permission sets
    for model in (ActionRequest, ApprovalRequest, PermissionConfig):
        assert db.session.scalars(db.select(model)).all() == []
    assert SHOP_ERASERS["actions"]("gone.myshopify.com", None, None) == 0
