"""Notes in the compliance topics: exported, redacted, erased with the shop."""

from __future__ import annotations

from notes_kit import connection_for, note, queue_committed, shop_for_tests

from plugin.extensions import db
from plugin.jobs import run_pending
from plugin.models import AuditEvent, ConversationNote, CustomerCache
from plugin.models.base import utcnow
from plugin.webhooks.compliance import (
    SHOP_ERASERS,
    customers_data_request,
    customers_redact,
)
from plugin.webhooks.handlers import WebhookEvent

SHOP = "acme.myshopify.com"
CUSTOMER = {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}


def event(topic: str, body: dict) -> WebhookEvent:
    """A compliance delivery as the worker hands it to the topic handler."""
    return WebhookEvent(topic=topic, shop_domain=SHOP, body={"shop_domain": SHOP, **body},
                        webhook_id=f"wh-{topic}", triggered_at=utcnow(), job_id=None)


def test_data_request_exports_the_customers_notes(app):
    """customers/data_request includes notes about the customer and requested orders."""
    connection = connection_for("zendesk")
    mine = queue_committed(connection, text="Refunded $5 on #1001", customer_id="191167")
    by_order = queue_committed(connection, text="Cancelled #1002", order_id="280263")
    queue_committed(connection, text="Someone else's order", order_id="1", customer_id="2")
    customers_data_request(event("customers/data_request", {
        "customer": CUSTOMER, "orders_requested": [280263], "data_request": {"id": 7}}))
    db.session.commit()
    export = db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.event == "compliance.data_request")).detail
    assert [n["id"] for n in export["conversation_notes"]] == [mine, by_order]
    assert export["conversation_notes"][0]["text"] == "Refunded $5 on #1001"


def test_customer_redact_scrubs_notes_not_sent_yet(app, stand_in):
    """customers/redact replaces the customer's name/email/phone in notes before sending."""
    connection = connection_for("gorgias")
    db.session.add(CustomerCache(shop_id=connection.shop_id, cache_key="customer:191167",
                                 customer_id="191167",
                                 payload={"customer": {"id": "191167", "displayName":
                                                       "John Smith"}}))
    about = queue_committed(connection, text="Refund for John Smith, john@example.com "
                                             "(555-625-1199)", order_id="299938")
    unlinked = queue_committed(connection, text="Ask JOHN@example.com to confirm")
    customers_redact(event("customers/redact", {"customer": CUSTOMER,
                                                "orders_to_redact": [299938]}))
    db.session.commit()
    assert note(about).text == "Refund for [redacted], [redacted] ([redacted])"
    assert note(unlinked).text == "Ask [redacted] to confirm"
    run_pending()
    assert all("john@" not in n.body for n in stand_in.notes_for("gorgias"))


def test_shop_redact_erases_the_shops_notes(app):
    """shop/redact (48 h after uninstall) deletes the shop's notes, and their jobs go too."""
    connection = connection_for("kustomer")
    queue_committed(connection)
    shop = shop_for_tests()
    erased = {name: fn(SHOP, shop.id, None) for name, fn in SHOP_ERASERS.items()
              if name in ("conversation_notes", "jobs")}
    db.session.commit()
    assert erased == {"conversation_notes": 1, "jobs": 1}
    assert db.session.scalar(db.select(db.func.count(ConversationNote.id))) == 0
    assert run_pending() == 0
