"""What the worker does with each webhook topic: one small, idempotent function per topic.

"Webhook requests can trigger multiple times": every handler may see the same event again
(retries, a crashed worker) and must leave the same state behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.extensions import db
from plugin.jobs import cancel_shop_jobs, register
from plugin.models import AuditEvent, CustomerCache, Job, Shop
from plugin.models.base import utcnow

log = logging.getLogger("sidecard.webhooks")


@dataclass(frozen=True)
class WebhookEvent:
    """One verified delivery as the worker sees it."""

    topic: str
    shop_domain: str
    body: dict[str, Any]
    webhook_id: str
    triggered_at: datetime | None
    job_id: int | None


TopicHandler = Callable[[WebhookEvent], None]
TOPIC_HANDLERS: dict[str, TopicHandler] = {}


def topic(name: str) -> Callable[[TopicHandler], TopicHandler]:
    """Decorator registering the handler of one webhook topic."""

    def decorator(fn: TopicHandler) -> TopicHandler:
        TOPIC_HANDLERS[name] = fn
        return fn

    return decorator


def get_topic_handler(name: str) -> TopicHandler:
    """The handler of a topic.

    :raises LookupError: the topic has no handler.
    """
    try:
        return TOPIC_HANDLERS[name]
    except KeyError:
        raise LookupError(f"no webhook handler for topic {name!r}") from None


@register("process_webhook", max_attempts=12, survives_uninstall=True)
def process_webhook(job: Job) -> None:
    """Run the topic's handler for a recorded delivery, then drop the stored body."""
    payload = job.payload
    event = WebhookEvent(topic=payload["topic"], shop_domain=payload["shop_domain"],
                         body=payload.get("body") or {}, webhook_id=payload["webhook_id"],
                         triggered_at=parse_timestamp(payload.get("triggered_at")),
                         job_id=job.id)
    get_topic_handler(event.topic)(event)
    # Bodies carry customer data (compliance payloads, orders); keep only the envelope.
    job.payload = {k: v for k, v in payload.items() if k != "body"}


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 header value (X-Shopify-Triggered-At) as aware UTC, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def find_shop(domain: str) -> Shop | None:
    """The shop row for a domain, if any."""
    return db.session.scalar(db.select(Shop).where(Shop.domain == domain))


def order_cache_key(order_id: Any) -> str:
    """The cache key of one order's cached card data."""
    return f"order:{order_id}"


@topic("app/uninstalled")
def app_uninstalled(event: WebhookEvent) -> None:
    """Forget the shop's tokens, stop its jobs and drop cached cards; audit history stays."""
    shop = find_shop(event.shop_domain)
    if shop is None:
        return
    if event.triggered_at and shop.installed_at and shop.installed_at > event.triggered_at:
        # A late retry of an uninstall that a reinstall has since overtaken.
        log.info("app/uninstalled %s predates the reinstall of %s; ignored",
                 event.webhook_id, shop.domain)
        return
    first_time = shop.uninstalled_at is None
    shop.clear_tokens()
    if first_time:
        shop.uninstalled_at = utcnow()
    cancelled = cancel_shop_jobs(shop.domain, exclude_job_id=event.job_id)
    cleared = db.session.execute(
        db.delete(CustomerCache).where(CustomerCache.shop_id == shop.id)).rowcount
    if first_time:
        db.session.add(AuditEvent(shop_id=shop.id, event="shop.uninstalled", status="done",
                                  summary="Sidecard was uninstalled; tokens deleted.",
                                  detail={"cancelled_jobs": cancelled,
                                          "cleared_cache_entries": cleared}))
    log.info("shop %s uninstalled: %s job(s) cancelled, %s cache entries cleared",
             shop.domain, cancelled, cleared)


@topic("app/scopes_update")
def app_scopes_update(event: WebhookEvent) -> None:
    """Store the scopes the merchant now grants (payload `current`)."""
    shop = find_shop(event.shop_domain)
    if shop is None:
        return
    current = event.body.get("current")
    if isinstance(current, str):
        current = current.split(",")
    if not isinstance(current, list):
        log.warning("app/scopes_update %s has no `current` list; ignored", event.webhook_id)
        return
    shop.scopes = ",".join(sorted({str(s).strip() for s in current if str(s).strip()}))
    log.info("shop %s scopes updated", shop.domain)


@topic("orders/updated")
def orders_updated(event: WebhookEvent) -> None:
    """Invalidate cached cards of the order and of its customer."""
    shop = find_shop(event.shop_domain)
    if shop is None:
        return
    order_id = event.body.get("id")
    customer = event.body.get("customer") or {}
    customer_id = customer.get("id") if isinstance(customer, dict) else None
    conditions = []
    if order_id is not None:
        conditions.append(CustomerCache.cache_key == order_cache_key(order_id))
    if customer_id is not None:
        conditions.append(CustomerCache.customer_id == str(customer_id))
    if not conditions:
        return
    db.session.execute(db.delete(CustomerCache).where(CustomerCache.shop_id == shop.id,
                                                      db.or_(*conditions)))
