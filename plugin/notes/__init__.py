"""Conversation notes: a one-line internal note in the helpdesk conversation after an action.

After an action succeeds, is sent for approval, is approved or denied, the caller adds the
note to its own transaction and commits it with its audit row, then asks for an immediate try:

    note = queue_note(shop_id=shop.id, connection_id=session.connection_id,
                      conversation=session.conversation, text=summary,
                      audit_event_id=audit.id, order_id=order_id, customer_id=customer_id)
    db.session.commit()                       # the audit row, the note and its job together
    deliver_after_commit([note.id] if note else [])

The note is an outbox row (`ConversationNote`) with a `deliver_note` job: it is retried by the
worker until the helpdesk has it, and posted at most once (see `plugin.notes.delivery`).
There is no note when the launch had no `conversation`, or for a connection of kind `api`
(bots have no conversation to write into and read `GET /api/v1/audit` instead); the audit
trail records the action either way.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from flask import Flask, current_app

from plugin.extensions import db
from plugin.helpdesks import get_adapter
from plugin.helpdesks.base import helpdesk_timeout
from plugin.jobs import enqueue
from plugin.models import ConversationNote, HelpdeskConnection
from plugin.models.notes import MARKER_PREFIX
from plugin.notes.delivery import JOB_KIND, deliver_inline, job_dedupe_key
from plugin.notes.text import clean_note_text

__all__ = ["ConversationNote", "deliver_after_commit", "init_app", "queue_note"]

log = logging.getLogger("sidecard.notes")

DEFAULT_INLINE_TIMEOUT = 3.0


def _find_connection(connection_id: int | str | HelpdeskConnection) -> HelpdeskConnection | None:
    """A connection by row id, by public id (`conn_…`), or the connection itself."""
    if isinstance(connection_id, HelpdeskConnection):
        return connection_id
    if isinstance(connection_id, int):
        return db.session.get(HelpdeskConnection, connection_id)
    return db.session.scalar(db.select(HelpdeskConnection)
                             .where(HelpdeskConnection.public_id == str(connection_id)))


def _short_id(value: object) -> str | None:
    """An order/customer id as stored (string, ≤ 64 characters), or None."""
    if value is None or value == "":
        return None
    return str(value)[:64]


def queue_note(*, shop_id: int, connection_id: int | str | HelpdeskConnection,
               conversation: str | int | None, text: str, audit_event_id: int | None = None,
               order_id: str | int | None = None, customer_id: str | int | None = None
               ) -> ConversationNote | None:
    """Add a note and its `deliver_note` job to the current session, without committing.

    `connection_id` is the connection's row id, its public id (`conn_…`, as sessions carry
    it) or the connection. The caller commits the note with its audit row. Returns None (and
    adds nothing) when there is no conversation, the connection is unknown, or its kind takes
    no notes (`api`).
    """
    conversation = str(conversation).strip() if conversation is not None else ""
    if not conversation:
        return None
    connection = _find_connection(connection_id)
    if connection is None:
        log.warning("no note: helpdesk connection %s not found", connection_id)
        return None
    if not get_adapter(connection.kind).wants_notes(connection):
        return None
    line = clean_note_text(text)
    if not line:
        return None
    note = ConversationNote(
        shop_id=shop_id, connection_id=connection.id, conversation=conversation[:255],
        text=line, order_id=_short_id(order_id), customer_id=_short_id(customer_id),
        audit_event_id=audit_event_id, status="queued", attempts=0, needs_lookup=False)
    db.session.add(note)
    db.session.flush()  # the id names the job and the marker
    note.marker = f"{MARKER_PREFIX}{note.id}-{secrets.token_hex(3)}"
    enqueue(JOB_KIND, {"note_id": note.id}, dedupe_key=job_dedupe_key(note.id),
            shop_domain=connection.shop.domain if connection.shop else None)
    return note


def deliver_after_commit(note_ids: Iterable[int | None]) -> dict[int, str]:
    """Try to deliver just-committed notes now (short timeouts); never raises.

    Returns each note's outcome (`delivered`, `skipped`, `retry`, `busy`, `done`, `error`);
    whatever is not delivered stays queued for the worker. Call it after the commit that
    holds the notes: with uncommitted changes in the session it does nothing.
    """
    ids = [int(n) for n in note_ids if n is not None]
    if not ids:
        return {}
    try:
        if db.session.new or db.session.dirty or db.session.deleted:
            log.warning("deliver_after_commit called before commit; leaving notes %s to the "
                        "worker", ids)
            return {}
        limit = float(current_app.config.get("NOTES_INLINE_TIMEOUT", DEFAULT_INLINE_TIMEOUT))
        return deliver_inline(ids, timeout=helpdesk_timeout(current_app.config, limit))
    except Exception:  # noqa: BLE001  (the action already succeeded; the worker retries)
        log.exception("deliver_after_commit failed for notes %s; the worker will retry", ids)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            log.exception("rollback after deliver_after_commit failed")
        return {}


def init_app(app: Flask) -> None:
    """Register the `deliver_note` job, the notes' compliance steps and the helpdesk stand-in
    (demo mode and tests, see `plugin.sandbox.helpdesk.install_stand_in`)."""
    from plugin.notes import compliance, delivery  # noqa: F401  (registration on import)
    from plugin.sandbox.helpdesk import install_stand_in

    install_stand_in(app)
