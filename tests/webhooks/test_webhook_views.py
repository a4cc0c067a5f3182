"""Webhook endpoints: verify the signature, check headers, deduplicate, enqueue, answer fast."""

from __future__ import annotations

import pytest
from webhook_payloads import TOPICS

from plugin.extensions import db
from plugin.models import Job, WebhookDelivery


def count(model):
    """Rows in a table."""
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_signed_delivery_is_recorded_and_enqueued(app, send_webhook, topic):
    """A good delivery answers 200 and leaves one delivery row and one process_webhook job."""
    response = send_webhook(topic, webhook_id=f"wh-{topic}")
    assert response.status_code == 200
    assert response.get_json() == {"status": "accepted"}
    delivery = db.session.scalar(db.select(WebhookDelivery))
    job = db.session.get(Job, delivery.job_id)
    assert (delivery.webhook_id, delivery.topic, delivery.shop_domain) == (
        f"wh-{topic}", topic, "test-shop.myshopify.com")
    assert (job.kind, job.status, job.shop_domain) == ("process_webhook", "queued",
                                                       "test-shop.myshopify.com")
    assert job.payload["topic"] == topic and job.payload["body"] == TOPICS[topic][1]


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_badly_signed_delivery_is_refused(app, send_webhook, topic):
    """A delivery signed with another secret gets 401 JSON and changes nothing."""
    response = send_webhook(topic, secret="not-the-secret")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert count(WebhookDelivery) == 0 and count(Job) == 0


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_duplicate_delivery_is_acknowledged_once(app, send_webhook, topic):
    """The same X-Shopify-Webhook-Id twice: 200 both times, one job only."""
    assert send_webhook(topic, webhook_id="same-id").status_code == 200
    again = send_webhook(topic, webhook_id="same-id")
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate"}
    assert count(WebhookDelivery) == 1 and count(Job) == 1


def test_missing_signature_is_refused(app, send_webhook):
    """No X-Shopify-Hmac-Sha256 at all: 401."""
    response = send_webhook("app/uninstalled", drop=["X-Shopify-Hmac-Sha256"])
    assert response.status_code == 401
    assert count(Job) == 0


def test_signature_over_another_body_is_refused(app, send_webhook):
    """A valid signature of a different body does not verify (raw body is what is signed)."""
    from plugin.shopify.hmac import webhook_hmac

    response = send_webhook("app/uninstalled", signature=webhook_hmac(b"{}", "test-secret"))
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["X-Shopify-Topic", "X-Shopify-Shop-Domain",
                                    "X-Shopify-Webhook-Id"])
def test_missing_header_is_a_bad_request(app, send_webhook, header):
    """A signed delivery without a required header: 400 naming it."""
    response = send_webhook("app/uninstalled", drop=[header])
    assert response.status_code == 400
    assert header in response.get_json()["message"]
    assert count(Job) == 0


def test_topic_sent_to_the_wrong_uri_is_a_bad_request(app, send_webhook):
    """orders/updated posted to the uninstall URI: 400."""
    response = send_webhook("orders/updated", path="/webhooks/app/uninstalled")
    assert response.status_code == 400
    assert count(Job) == 0


@pytest.mark.parametrize("shop", ["evil.com", "test-shop.myshopify.com.evil.com",
                                  "-shop.myshopify.com", "https://test-shop.myshopify.com"])
def test_bad_shop_domain_is_a_bad_request(app, send_webhook, shop):
    """X-Shopify-Shop-Domain must be a *.myshopify.com domain."""
    response = send_webhook("app/uninstalled", shop=shop)
    assert response.status_code == 400
    assert count(Job) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_malformed_body_is_a_bad_request(app, send_webhook, raw):
    """A signed body that is not a JSON object: 400, nothing queued."""
    response = send_webhook("orders/updated", raw=raw)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert count(Job) == 0


def test_webhooks_take_only_post(client):
    """GET on a webhook URI is 405."""
    assert client.get("/webhooks/app/uninstalled").status_code == 405


def test_large_order_payloads_are_accepted(app, send_webhook):
    """An order webhook over the app-wide body limit (256 KB) is still accepted."""
    body = {"id": 1, "customer": {"id": 2}, "line_items": [{"title": "x" * 1000}] * 400}
    assert send_webhook("orders/updated", body=body).status_code == 200


def test_overlong_webhook_id_is_a_bad_request(app, send_webhook):
    """A webhook id longer than any Shopify sends: 400, not a database error."""
    assert send_webhook("app/uninstalled", webhook_id="x" * 300).status_code == 400
