"""What each topic does once the worker processes it (`run_pending()`)."""

from __future__ import annotations

from datetime import timedelta

from webhook_payloads import SHOP, TOPICS

from plugin.extensions import db
from plugin.jobs import enqueue, run_pending
from plugin.models import AuditEvent, CustomerCache, Job, Shop
from plugin.models.base import utcnow


def fresh(model, ident):
    """Re-read one row."""
    db.session.expire_all()
    return db.session.get(model, ident)


def cache(shop, key, customer_id=None, payload=None):
    """One cached card entry."""
    row = CustomerCache(shop_id=shop.id, cache_key=key, customer_id=customer_id,
                        payload=payload or {"cached": True})
    db.session.add(row)
    db.session.commit()
    return row


def audit(shop, **fields):
    """One audit row."""
    event = AuditEvent(shop_id=shop.id, **{"event": "action.succeeded", **fields})
    db.session.add(event)
    db.session.commit()
    return event


def keys(shop):
    """The shop's cache keys."""
    db.session.expire_all()
    return sorted(db.session.scalars(db.select(CustomerCache.cache_key)
                                     .where(CustomerCache.shop_id == shop.id)))


def test_processing_marks_the_job_done_and_drops_the_body(app, make_shop, send_webhook):
    """After processing, the job is done and keeps the envelope but not the payload."""
    make_shop()
    send_webhook("customers/redact")
    assert run_pending() == 1
    job = db.session.scalar(db.select(Job))
    assert job.status == "done"
    assert "body" not in job.payload and job.payload["topic"] == "customers/redact"


def test_uninstall_clears_tokens_but_keeps_audit_history(app, make_shop, send_webhook):
    """app/uninstalled: tokens gone, uninstalled_at set, audit rows kept plus one new."""
    shop = make_shop()
    audit(shop, summary="Refunded 5.00 on #1001")
    send_webhook("app/uninstalled")
    run_pending()
    shop = fresh(Shop, shop.id)
    assert shop.access_token_enc is None and shop.refresh_token_enc is None
    assert shop.uninstalled_at is not None and not shop.is_installed
    events = [e.event for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert events == ["action.succeeded", "shop.uninstalled"]


def test_uninstall_cancels_queued_jobs_and_drops_cache(app, make_shop, send_webhook):
    """The shop's queued Shopify work is cancelled and its cache emptied; other shops untouched."""
    shop = make_shop()
    other = make_shop("other-shop.myshopify.com")
    refresh = enqueue("refresh_shop_token", {"shop_domain": SHOP}, shop_domain=SHOP,
                      run_at=utcnow() + timedelta(hours=1))
    other_refresh = enqueue("refresh_shop_token", {"shop_domain": other.domain},
                            shop_domain=other.domain, run_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    cache(shop, "customer:1", "1")
    cache(other, "customer:1", "1")
    send_webhook("app/uninstalled")
    run_pending()
    assert fresh(Job, refresh.id).status == "cancelled"
    assert fresh(Job, other_refresh.id).status == "queued"
    assert keys(shop) == [] and keys(other) == ["customer:1"]


def test_uninstall_twice_is_idempotent(app, make_shop, send_webhook):
    """A second uninstall delivery changes nothing and audits nothing more."""
    shop = make_shop()
    send_webhook("app/uninstalled")
    run_pending()
    first = fresh(Shop, shop.id).uninstalled_at
    send_webhook("app/uninstalled")
    run_pending()
    assert fresh(Shop, shop.id).uninstalled_at == first
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 1


def test_late_uninstall_after_reinstall_is_ignored(app, make_shop, send_webhook):
    """An uninstall triggered before the latest install does not wipe the new tokens."""
    shop = make_shop()
    stale = (shop.installed_at - timedelta(minutes=10)).isoformat()
    send_webhook("app/uninstalled", headers={"X-Shopify-Triggered-At": stale})
    run_pending()
    assert fresh(Shop, shop.id).is_installed


def test_uninstall_of_an_unknown_shop_is_a_no_op(app, send_webhook):
    """Nothing held for the shop: the job simply completes."""
    send_webhook("app/uninstalled")
    assert run_pending() == 1
    assert db.session.scalar(db.select(Job.status)) == "done"


def test_scopes_update_stores_current_scopes(app, make_shop, send_webhook):
    """app/scopes_update: Shop.scopes becomes the payload's `current` list."""
    shop = make_shop()
    send_webhook("app/scopes_update")
    run_pending()
    assert fresh(Shop, shop.id).scope_set == {"read_customers", "read_orders", "write_orders"}


def test_order_update_invalidates_the_order_and_its_customer(app, make_shop, send_webhook):
    """orders/updated drops cache rows of that customer and that order only."""
    shop = make_shop()
    other = make_shop("other-shop.myshopify.com")
    cache(shop, "customer:207119551", "207119551")
    cache(shop, "email:jane@example.com", "207119551")
    cache(shop, "order:450789469")
    cache(shop, "customer:42", "42")
    cache(shop, "order:1")
    cache(other, "customer:207119551", "207119551")
    send_webhook("orders/updated")
    run_pending()
    assert keys(shop) == ["customer:42", "order:1"]
    assert keys(other) == ["customer:207119551"]


def test_order_update_without_customer_drops_the_order_entry(app, make_shop, send_webhook):
    """A guest order (customer null) still invalidates the order's own entry."""
    shop = make_shop()
    cache(shop, "order:450789469")
    cache(shop, "customer:42", "42")
    send_webhook("orders/updated", body={"id": 450789469, "customer": None})
    run_pending()
    assert keys(shop) == ["customer:42"]


def test_data_request_exports_what_is_held(app, make_shop, send_webhook):
    """customers/data_request stores one export of the customer's audit rows and cache."""
    shop = make_shop()
    audit(shop, customer_id="191167", order_id="1", summary="Refund for john@example.com")
    audit(shop, order_id="299938", summary="Tagged order")
    audit(shop, customer_id="5", order_id="7", summary="Someone else")
    cache(shop, "customer:191167", "191167", {"email": "john@example.com"})
    cache(shop, "order:280263")
    send_webhook("customers/data_request")
    run_pending()
    export = db.session.scalar(db.select(AuditEvent)
                               .where(AuditEvent.event == "compliance.data_request"))
    detail = export.detail
    assert (export.customer_id, detail["data_request_id"]) == ("191167", 9999)
    assert [e["summary"] for e in detail["audit_events"]] == ["Refund for john@example.com",
                                                             "Tagged order"]
    assert sorted(c["cache_key"] for c in detail["cached_data"]) == ["customer:191167",
                                                                    "order:280263"]


def test_data_request_is_exported_once(app, make_shop, send_webhook):
    """Two deliveries of the same data request produce one export."""
    make_shop()
    send_webhook("customers/data_request")
    send_webhook("customers/data_request")
    run_pending()
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(
        AuditEvent.event == "compliance.data_request")) == 1


def test_customer_redact_removes_cache_and_anonymises_audit(app, make_shop, send_webhook):
    """customers/redact: cache rows deleted; customer data redacted; agent data kept."""
    shop = make_shop()
    row = audit(shop, customer_id="191167", order_id="1", agent_email="agent@shop.com",
                agent_name="Ann Agent",
                summary="Ann refunded 5.00 to John Smith (john@example.com, 555-625-1199)",
                detail={"customer": {"id": 191167, "name": "John Smith",
                                     "email": "john@example.com"},
                        "agent": {"email": "agent@shop.com"}, "amount": "5.00"})
    by_order = audit(shop, order_id="280263", summary="Address changed",
                     detail={"address": {"address1": "1 Main St", "city": "Ottawa"},
                             "note": "call 555-625-1199"})
    untouched = audit(shop, customer_id="5", summary="Jane Roe refunded")
    cache(shop, "customer:191167", "191167", {"id": "gid://shopify/Customer/191167",
                                              "firstName": "John", "lastName": "Smith"})
    cache(shop, "order:299938")
    cache(shop, "customer:5", "5")
    send_webhook("customers/redact")
    run_pending()
    assert keys(shop) == ["customer:5"]
    row = fresh(AuditEvent, row.id)
    assert row.summary == "Ann refunded 5.00 to [redacted] ([redacted], [redacted])"
    assert row.detail == {"customer": {"id": 191167, "name": "[redacted]",
                                       "email": "[redacted]"},
                          "agent": {"email": "agent@shop.com"}, "amount": "5.00"}
    assert (row.agent_email, row.agent_name) == ("agent@shop.com", "Ann Agent")
    by_order = fresh(AuditEvent, by_order.id)
    assert by_order.detail == {"address": {"address1": "[redacted]", "city": "[redacted]"},
                               "note": "call [redacted]"}
    assert fresh(AuditEvent, untouched.id).summary == "Jane Roe refunded"
    assert db.session.scalar(db.select(AuditEvent.event).where(
        AuditEvent.event == "compliance.customer_redacted")) is not None


def test_customer_redact_also_redacts_an_earlier_export(app, make_shop, send_webhook):
    """A data-request export about the customer is emptied by a later redact."""
    shop = make_shop()
    audit(shop, customer_id="191167", summary="Refund for john@example.com")
    send_webhook("customers/data_request")
    run_pending()
    send_webhook("customers/redact")
    run_pending()
    export = db.session.scalar(db.select(AuditEvent)
                               .where(AuditEvent.event == "compliance.data_request"))
    assert export.detail == {"data_request_id": 9999, "redacted": True}
    assert "john@example.com" not in repr(
        [(e.summary, e.detail) for e in db.session.scalars(db.select(AuditEvent))])


def test_customer_redact_scrubs_queued_job_payloads(app, make_shop, send_webhook, monkeypatch):
    """A not-yet-sent job mentioning the customer is anonymised too."""
    from plugin import jobs

    monkeypatch.setattr(jobs, "HANDLERS", {**jobs.HANDLERS, "note": lambda job: None})
    make_shop()
    note = enqueue("note", {"text": "Refunded john@example.com"}, shop_domain=SHOP,
                   run_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    send_webhook("customers/redact")
    run_pending()
    assert fresh(Job, note.id).payload == {"text": "Refunded [redacted]"}


def test_shop_redact_deletes_all_shop_data(app, make_shop, send_webhook):
    """shop/redact after uninstall: cache, audit, jobs, deliveries and the shop row go."""
    shop = make_shop()
    other = make_shop("other-shop.myshopify.com")
    audit(shop, summary="x")
    audit(other, summary="kept")
    cache(shop, "customer:1", "1")
    send_webhook("app/uninstalled")
    run_pending()
    send_webhook("shop/redact")
    run_pending()
    db.session.expire_all()
    assert db.session.scalar(db.select(Shop.domain).where(Shop.domain == SHOP)) is None
    assert [e.summary for e in db.session.scalars(db.select(AuditEvent))] == ["kept"]
    assert keys(shop) == []
    remaining = list(db.session.scalars(db.select(Job)))
    assert [(j.kind, j.payload["topic"]) for j in remaining] == [("process_webhook",
                                                                  "shop/redact")]
    from plugin.models import WebhookDelivery

    assert db.session.scalar(db.select(db.func.count(WebhookDelivery.id))) == 0


def test_shop_redact_for_an_installed_shop_is_ignored(app, make_shop, send_webhook):
    """A shop that reinstalled keeps its data."""
    shop = make_shop()
    audit(shop, summary="x")
    send_webhook("shop/redact")
    run_pending()
    assert fresh(Shop, shop.id) is not None
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 1


def test_every_topic_has_a_handler(app):
    """Each subscribed topic is handled by the worker."""
    from plugin.webhooks.handlers import TOPIC_HANDLERS

    assert set(TOPICS) <= set(TOPIC_HANDLERS)


def test_shop_redact_deletes_helpdesk_connections_and_what_points_at_them(
        app, make_shop, send_webhook):
    """Connections, spent launch tokens and queued notes go too (foreign keys on PostgreSQL)."""
    from factories import launch_token, make_connection

    from plugin.launch import verify_launch_token
    from plugin.models import ConversationNote, HelpdeskConnection, UsedLaunchToken
    from plugin.notes import queue_note

    shop = make_shop()
    connection = make_connection(shop)
    verify_launch_token(launch_token(connection))
    queue_note(shop_id=shop.id, connection_id=connection.id, conversation="42",
               text="Dana refunded $5.00 USD on order #1001")
    db.session.commit()
    send_webhook("app/uninstalled")
    run_pending()
    send_webhook("shop/redact")
    run_pending()
    db.session.expire_all()
    for model in (HelpdeskConnection, UsedLaunchToken, ConversationNote):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0
    assert db.session.scalar(db.select(Shop.domain).where(Shop.domain == SHOP)) is None
