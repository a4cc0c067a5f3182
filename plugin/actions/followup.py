"""Actions Shopify finishes later: a cancel whose job was still running when we answered.

The action's answer (200, "Shopify is still processing the cancellation") is stored as the
key's final answer; a `poll_cancel_job` job, enqueued in the same transaction, asks Shopify
again with the action's `resume(client, details)` until the job is done, then records the
outcome in the audit trail and the conversation.
"""

from __future__ import annotations

import logging
from typing import Any

from plugin.actions import get_action
from plugin.actions.events import Actor, audit, queue_note
from plugin.exceptions import ShopifyError, ShopifyUserError, ShopNotInstalledError
from plugin.extensions import db
from plugin.jobs import RetryLater, enqueue, register
from plugin.models.actions import ActionRequest
from plugin.models.jobs import Job
from plugin.models.shop import Shop

log = logging.getLogger("sidecard.actions")

JOB_KIND = "poll_cancel_job"
MAX_POLLS = 60  # about an hour with the delays below
POLL_DELAYS = (5.0, 10.0, 30.0, 60.0)


def pending(details: dict[str, Any]) -> bool:
    """Whether an action's result says Shopify is still working on it."""
    return bool(details.get("job_pending"))


def schedule(record: ActionRequest, action_name: str, body: dict[str, Any],
             details: dict[str, Any], shop_domain: str) -> Job:
    """Queue the follow-up in the caller's transaction (no commit)."""
    return enqueue(JOB_KIND, {"action_request_id": record.id, "action": action_name,
                              "body": body, "details": details},
                   dedupe_key=f"followup:{record.id}", shop_domain=shop_domain)


@register(JOB_KIND, max_attempts=MAX_POLLS)
def poll_pending_action(job: Job) -> None:
    """Ask Shopify whether the pending job finished; record its outcome once it has."""
    from plugin.shopify.client import client_for_shop

    payload = job.payload or {}
    record = db.session.get(ActionRequest, payload.get("action_request_id"))
    if record is None:
        return
    shop = db.session.get(Shop, record.shop_id)
    if shop is None or not shop.is_installed:
        return
    action = get_action(payload["action"])
    actor = Actor(shop_id=shop.id, shop_domain=shop.domain, agent_id=record.agent_id,
                  email=record.agent_email or "", name=record.agent_name,
                  identity=record.agent_identity, connection_id=record.connection_id,
                  conversation=record.conversation)
    before = record.order_snapshot or {"id": record.order_id}
    try:
        result = action.resume(client_for_shop(shop), payload.get("details") or {})
    except ShopifyUserError as exc:
        text = f"Shopify did not finish: {exc.message}"
        event = audit(actor, "action.failed", action=action.name, order_id=record.order_id,
                      customer_id=record.customer_id, status="shopify_refused", summary=text,
                      shopify_request_id=exc.request_id,
                      detail={"action_id": record.id, "errors": exc.errors})
        queue_note(actor, text, event)
        return
    except (ShopifyError, ShopNotInstalledError) as exc:
        raise RetryLater(_delay(job.attempts), str(exc)) from exc
    if pending(result.details):
        raise RetryLater(_delay(job.attempts), "Shopify's job is still running")
    from plugin.card_data import invalidate_order

    # First (it commits on its own), so the audit row and note commit with the job's `done`.
    invalidate_order(shop, record.order_id, record.customer_id)
    summary = action.summary(before, payload.get("body") or {}, result,
                             {"id": record.agent_id, "email": record.agent_email,
                              "name": record.agent_name, "identity": record.agent_identity})
    event = audit(actor, "action.completed", action=action.name, order_id=record.order_id,
                  customer_id=record.customer_id, status="succeeded", summary=summary,
                  shopify_request_id=result.shopify_request_id,
                  detail={"action_id": record.id})
    queue_note(actor, summary, event)
    log.info("pending %s on order %s finished", action.name, record.order_id)


def _delay(attempts: int) -> float:
    return POLL_DELAYS[min(max(attempts - 1, 0), len(POLL_DELAYS) - 1)]
