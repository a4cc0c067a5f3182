"""Conversation notes in the compliance topics: export, redact a customer, erase a shop."""

from __future__ import annotations

from typing import Any

from plugin.extensions import db
from plugin.models import ConversationNote
from plugin.webhooks.compliance import (
    CustomerRef,
    delete_shop_rows,
    exporter,
    iso,
    redactor,
    rows_about,
    scrub_fields,
    shop_eraser,
)

PENDING = ("queued", "sending")


def matching_notes(ref: CustomerRef) -> list[ConversationNote]:
    """The shop's notes about the customer or one of the listed orders."""
    return rows_about(ConversationNote, ref)


@exporter("conversation_notes")
def export_notes(ref: CustomerRef) -> list[dict[str, Any]]:
    """Notes written into helpdesk conversations about the customer's orders."""
    return [{"id": n.id, "created_at": iso(n.created_at),
             "conversation": n.conversation, "order_id": n.order_id,
             "customer_id": n.customer_id, "status": n.status, "text": n.text,
             "delivered_at": iso(n.delivered_at)}
            for n in matching_notes(ref)]


@redactor("conversation_notes")
def redact_notes(ref: CustomerRef) -> int:
    """Replace the customer's email, phone and names in notes about them, and in every note
    of the shop not sent yet (so none carries them to the helpdesk afterwards)."""
    notes = {n.id: n for n in matching_notes(ref)}
    pending = db.session.scalars(db.select(ConversationNote).where(
        ConversationNote.shop_id == ref.shop.id, ConversationNote.status.in_(PENDING)))
    notes.update({n.id: n for n in pending})
    return scrub_fields(notes.values(), ref, "text")


@shop_eraser("conversation_notes")
def erase_notes(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's notes (their jobs go with the shop's jobs)."""
    return delete_shop_rows(shop_id, ConversationNote)
