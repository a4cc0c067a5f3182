"""Helpers for the notes tests (a uniquely named module, imported by tests/notes)."""

from __future__ import annotations

from datetime import timedelta

from factories import make_connection, make_shop

from plugin.extensions import db
from plugin.models import ConversationNote, Job, Shop
from plugin.models.base import utcnow
from plugin.notes import queue_note

CREDENTIALS = {
    "zendesk": {"api_token": "zd-oauth-token"},
    "gorgias": {"api_user": "bot@acme.test", "api_token": "gorgias-api-key"},
    "kustomer": {"api_token": "kustomer-api-key"},
    "api": {},
}
CONVERSATIONS = {"zendesk": "1001", "gorgias": "2002", "kustomer": "5f1e2d3c4b5a69788796a5b4",
                 "api": "bot-run-1"}


def shop_for_tests() -> Shop:
    """The `acme` shop (created once per test)."""
    shop = db.session.scalar(db.select(Shop).where(Shop.domain == "acme.myshopify.com"))
    return shop or make_shop()


def connection_for(kind: str = "zendesk", **overrides):
    """A connection of `kind` on the acme shop, with that helpdesk's credentials."""
    fields = {"account": "acme", **CREDENTIALS[kind], **overrides}
    return make_connection(shop_for_tests(), kind=kind, **fields)


def queue_committed(connection, text: str = "Agent One refunded $12.50 on order #1001.",
                    conversation: str | None = None, **fields) -> int:
    """Queue a note for the connection's conversation and commit it; returns its id."""
    note = queue_note(shop_id=connection.shop_id, connection_id=connection.id,
                      conversation=conversation or CONVERSATIONS[connection.kind], text=text,
                      **fields)
    assert note is not None
    db.session.commit()
    return note.id


def note(note_id: int) -> ConversationNote:
    """The note as stored now."""
    db.session.expire_all()
    return db.session.get(ConversationNote, note_id)


def note_job(note_id: int) -> Job:
    """The note's deliver_note job as stored now."""
    db.session.expire_all()
    return db.session.scalar(db.select(Job).where(Job.dedupe_key == f"note:{note_id}"))


def make_jobs_due() -> None:
    """Let time pass: every queued job is due now."""
    db.session.execute(db.update(Job).where(Job.status == "queued")
                       .values(run_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
