"""A cancel whose Shopify job is still running when the action answers: the worker's
`poll_cancel_job` records the outcome once Shopify has finished."""

from __future__ import annotations

import action_kit
from action_kit import SHOP, act, audit_events, paid_order, session_for, use_permissions

from plugin.actions.cancel import CancelAction
from plugin.jobs import run_pending

app_config, connection, shop, stand_in, store = (
    action_kit.app_config, action_kit.connection, action_kit.shop, action_kit.stand_in,
    action_kit.store)


def test_pending_cancel_is_followed_up_by_the_worker(client, store, connection, shop,
                                                     stand_in, monkeypatch):
    """200 "still processing" at once; the worker polls, then audits and notes the outcome."""
    monkeypatch.setattr(CancelAction, "poll_timeout", 0.0)
    use_permissions(shop)
    token = session_for(connection, "lead@example.com", identity="verified")
    order = paid_order(store, price="30.00")
    response = act(client, token, order.id, "cancel", {"reason": "CUSTOMER", "refund": True})
    assert response.status_code == 200, response.get_json()
    assert "still processing" in response.get_json()["summary"]
    assert store.order(SHOP, order.id).cancelled_at is None
    assert run_pending() >= 1
    assert store.order(SHOP, order.id).cancelled_at is not None
    [done] = audit_events("action.completed")
    assert done.status == "succeeded" and "cancelled" in done.summary
    assert "refunded" in done.summary
    run_pending()  # the note goes out through the worker
    assert any("refunded" in n.body for n in stand_in.notes_for("zendesk"))
