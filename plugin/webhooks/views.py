"""Webhook endpoints, one per subscription URI in shopify.app.toml.

Each view only verifies the delivery, records it once and enqueues `process_webhook`, so that
Shopify gets its 200 well inside its 5 s budget; the worker does the rest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from plugin.exceptions import InvalidShopError, ValidationError
from plugin.extensions import db
from plugin.jobs import enqueue
from plugin.models import WebhookDelivery
from plugin.shopify.hmac import normalize_shop, verify_webhook_hmac

log = logging.getLogger("sidecard.webhooks")

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

# Endpoint path (under /webhooks/) → the topics Shopify may send there (shopify.app.toml).
ENDPOINT_TOPICS: dict[str, tuple[str, ...]] = {
    "app/uninstalled": ("app/uninstalled",),
    "app/scopes_update": ("app/scopes_update",),
    "orders/updated": ("orders/updated",),
    "compliance": ("customers/data_request", "customers/redact", "shop/redact"),
}

# Order payloads of big orders outgrow the app-wide body limit; Shopify would retry a 413
# until it gives up, so webhooks get more room.
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
# Shopify's ids are UUIDs; the column holds 255.
MAX_WEBHOOK_ID_CHARS = 200


@bp.before_request
def _allow_large_payloads() -> None:
    request.max_content_length = MAX_WEBHOOK_BYTES


@bp.post("/app/uninstalled")
def app_uninstalled():
    """The merchant uninstalled Sidecard (handled by handlers.app_uninstalled)."""
    return receive(ENDPOINT_TOPICS["app/uninstalled"])


@bp.post("/app/scopes_update")
def app_scopes_update():
    """Granted scopes changed (handled by handlers.app_scopes_update)."""
    return receive(ENDPOINT_TOPICS["app/scopes_update"])


@bp.post("/orders/updated")
def orders_updated():
    """An order changed; cached cards go stale (handled by handlers.orders_updated)."""
    return receive(ENDPOINT_TOPICS["orders/updated"])


@bp.post("/compliance")
def compliance():
    """The three mandatory compliance topics (handled by compliance.py)."""
    return receive(ENDPOINT_TOPICS["compliance"])


def receive(allowed_topics: Iterable[str]):
    """Verify, deduplicate and enqueue one delivery; 200 fast.

    :raise 401: missing or wrong `X-Shopify-Hmac-Sha256`.
    :raise 400: missing headers, a topic this URI does not take, a bad shop, a malformed body.
    """
    raw_body = request.get_data(cache=False)
    verify_webhook_hmac(raw_body, request.headers.get("X-Shopify-Hmac-Sha256"), _secrets())

    headers = _required_headers("X-Shopify-Topic", "X-Shopify-Shop-Domain",
                                "X-Shopify-Webhook-Id")
    topic = headers["X-Shopify-Topic"]
    if topic not in allowed_topics:
        raise ValidationError(f"topic {topic!r} is not delivered to {request.path}")
    try:
        shop_domain = normalize_shop(headers["X-Shopify-Shop-Domain"])
    except InvalidShopError as exc:
        raise ValidationError("X-Shopify-Shop-Domain is not a *.myshopify.com domain") from exc
    try:
        body = json.loads(raw_body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ValidationError("the webhook body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError("the webhook body must be a JSON object")

    webhook_id = headers["X-Shopify-Webhook-Id"]
    if len(webhook_id) > MAX_WEBHOOK_ID_CHARS:
        raise ValidationError("X-Shopify-Webhook-Id is too long")
    if db.session.scalar(db.select(WebhookDelivery.id)
                         .where(WebhookDelivery.webhook_id == webhook_id)) is not None:
        return _duplicate(webhook_id, topic)
    try:
        job = enqueue("process_webhook", {
            "webhook_id": webhook_id,
            "topic": topic,
            "shop_domain": shop_domain,
            "api_version": request.headers.get("X-Shopify-API-Version"),
            "triggered_at": request.headers.get("X-Shopify-Triggered-At"),
            "body": body,
        }, dedupe_key=f"webhook:{webhook_id}", shop_domain=shop_domain)
        db.session.flush()
        db.session.add(WebhookDelivery(webhook_id=webhook_id, topic=topic,
                                       shop_domain=shop_domain, job_id=job.id))
        db.session.commit()
    except IntegrityError:
        # A concurrent delivery of the same id won the unique key (delivery or job).
        db.session.rollback()
        return _duplicate(webhook_id, topic)
    log.info("webhook %s %s for %s accepted as job %s", topic, webhook_id, shop_domain, job.id)
    return jsonify({"status": "accepted"}), 200


def _secrets() -> list[str]:
    """The current API secret, and the previous one during a rotation."""
    config = current_app.config
    return [s for s in (config["SHOPIFY_API_SECRET"], config.get("SHOPIFY_OLD_API_SECRET")) if s]


def _required_headers(*names: str) -> dict[str, str]:
    """The named headers, stripped.

    :raises ValidationError: one is missing or empty.
    """
    values = {name: (request.headers.get(name) or "").strip() for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ValidationError("missing webhook header(s): " + ", ".join(missing))
    return values


def _duplicate(webhook_id: str, topic: str):
    log.info("webhook %s %s is a duplicate; ignored", topic, webhook_id)
    return jsonify({"status": "duplicate"}), 200
