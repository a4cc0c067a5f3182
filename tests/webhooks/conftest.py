"""Webhook fixtures: an installed shop, and a signed delivery sender."""

from __future__ import annotations

import json
import uuid

import pytest
from webhook_payloads import SHOP, TOPICS

from plugin.extensions import db
from plugin.models import Shop
from plugin.models.base import utcnow
from plugin.shopify.hmac import webhook_hmac


@pytest.fixture
def make_shop(app):
    """Create an installed shop with an expiring token set."""

    def make(domain=SHOP, **fields):
        shop = Shop(domain=domain, installed_at=utcnow(), **fields)
        shop.store_tokens(access_token="shpat_test_access", scopes="read_customers,read_orders",
                          expires_in=3600, refresh_token="shprt_test_refresh",
                          refresh_token_expires_in=30 * 86400)
        db.session.add(shop)
        db.session.commit()
        return shop

    return make


@pytest.fixture
def send_webhook(client):
    """POST a webhook as Shopify would; keyword arguments override headers and signature."""

    def send(topic, body=None, *, path=None, shop=SHOP, webhook_id=None, secret="test-secret",
             raw=None, signature=None, drop=(), headers=None):
        default_path, default_body = TOPICS[topic]
        payload = raw if raw is not None else json.dumps(
            default_body if body is None else body).encode()
        sent = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": utcnow().isoformat(),
            "X-Shopify-Hmac-Sha256": signature if signature is not None
            else webhook_hmac(payload, secret),
        }
        sent.update(headers or {})
        for name in drop:
            sent.pop(name, None)
        return client.post(path or default_path, data=payload, headers=sent)

    return send
