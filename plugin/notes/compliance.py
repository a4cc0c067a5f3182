"""Conversation notes in the compliance topics: export, redact a customer, erase a shop."""

from __future__ import annotations

from typing import Any

from plugin.extensions import db
from plugin.models import ConversationNote
from plugin.webhooks.compliance import CustomerRef, exporter, redactor, scrub, shop_eraser

PENDING = ("queued", "sending")


def matching_notes(ref: CustomerRef) -> list[ConversationNote]:
    """The shop's notes about the customer or one of the listed orders."""
    conditions = []
    if ref.customer_ids:
        conditions.append(ConversationNote.customer_id.in_(ref.customer_ids))
    if ref.order_ids:
        conditions.append(ConversationNote.order_id.in_(ref.order_id_forms))
    if not conditions:
        return []
    return list(db.session.scalars(db.select(ConversationNote).where(
        ConversationNote.shop_id == ref.shop.id, db.or_(*conditions))
        .order_by(ConversationNote.id)))


@exporter("conversation_notes")
def export_notes(ref: CustomerRef) -> list[dict[str, Any]]:
    """Notes written into helpdesk conversations about the customer's orders."""
    return [{"id": n.id, "created_at": n.created_at.isoformat() if n.created_at else None,
             "conversation": n.conversation, "order_id": n.order_id,
             "customer_id": n.customer_id, "status": n.status, "text": n.text,
             "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None}
            for n in matching_notes(ref)]


@redactor("conversation_notes")
def redact_notes(ref: CustomerRef) -> int:
    """Replace the customer's email, phone and names in notes about them, and in every note
    of the shop not sent yet (so none carries them to the helpdesk afterwards)."""
    notes = {n.id: n for n in matching_notes(ref)}
    pending = db.session.scalars(db.select(ConversationNote).where(
        ConversationNote.shop_id == ref.shop.id, ConversationNote.status.in_(PENDING)))
    notes.update({n.id: n for n in pending})
    changed = 0
    for note in notes.values():
        scrubbed = scrub(note.text, ref.personal_values)
        if scrubbed != note.text:
            note.text = scrubbed
            changed += 1
    return changed


@shop_eraser("conversation_notes")
def erase_notes(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's notes (their jobs go with the shop's jobs)."""
    if shop_id is None:
        return 0
    return db.session.execute(db.delete(ConversationNote)
                              .where(ConversationNote.shop_id == shop_id)).rowcount
