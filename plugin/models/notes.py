"""Conversation notes: the outbox of one-line internal notes for the helpdesk conversation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from plugin.models.helpdesk import HelpdeskConnection

# queued: waiting for (another) attempt; sending: one holder posts it under a lease;
# delivered: the helpdesk has it (helpdesk_note_id); skipped: it cannot go anywhere (reason
# in last_error: ticket gone, api connection, refused by the helpdesk).
NOTE_STATUSES = ("queued", "sending", "delivered", "skipped")
# The note as posted: its text, then this marker so a retry can find what it posted.
MARKER_PREFIX = "sidecard:"


class ConversationNote(db.Model):
    """One internal note for a helpdesk conversation, delivered exactly once by the outbox."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Plain id like AuditEvent.shop_id: notes outlive the install until shop/redact.
    shop_id: Mapped[int] = mapped_column(Integer, index=True)
    # SET NULL: a removed connection leaves its notes behind, skipped with a reason.
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("helpdesk_connections.id", ondelete="SET NULL"), index=True)
    conversation: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    # The order and customer the note is about, so compliance requests can find it.
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    helpdesk_note_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    audit_event_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Stable and unique per note (`sidecard:<id>-<random>`), embedded in the posted text and
    # sent as external id where the API has one: how `find_note` recognises it.
    marker: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The delivery lease: whoever holds `claimed_by` until `lease_until` may post it.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # True once a post may have reached the helpdesk without us seeing the answer: the next
    # attempt looks the note up before posting again.
    needs_lookup: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[HelpdeskConnection | None] = relationship(lazy="joined")

    @property
    def posted_text(self) -> str:
        """The text as it goes to the helpdesk: the summary, then `[marker]`."""
        from plugin.notes.text import with_marker

        return with_marker(self.text, self.marker)

    def __repr__(self) -> str:
        return f"<ConversationNote {self.id} {self.status} conversation={self.conversation!r}>"
