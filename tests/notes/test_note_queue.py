"""queue_note: the outbox row and its job join the caller's transaction."""

from __future__ import annotations

import pytest
from notes_kit import CONVERSATIONS, connection_for, note, note_job, shop_for_tests

from plugin.extensions import db
from plugin.models import AuditEvent, ConversationNote, Job
from plugin.notes import queue_note
from plugin.notes.text import MAX_NOTE_CHARS, clean_note_text, with_marker


def test_queue_note_adds_note_and_job_without_committing(app):
    """The note and its deliver_note job are in the session, committed with the caller."""
    connection = connection_for("zendesk")
    audit = AuditEvent(shop_id=connection.shop_id, event="action.succeeded")
    db.session.add(audit)
    db.session.flush()
    queued = queue_note(shop_id=connection.shop_id, connection_id=connection.id,
                        conversation="1001", text="Refunded $5.00 on #1001.",
                        audit_event_id=audit.id, order_id="450789469", customer_id="207119551")
    assert queued is not None and queued.status == "queued"
    assert queued.marker == f"sidecard:{queued.id}-{queued.marker.rsplit('-', 1)[1]}"
    db.session.commit()
    stored, job = note(queued.id), note_job(queued.id)
    assert (stored.audit_event_id, stored.order_id, stored.customer_id) == (
        audit.id, "450789469", "207119551")
    assert job.kind == "deliver_note" and job.payload == {"note_id": queued.id}
    assert job.status == "queued" and job.max_attempts is None
    assert job.shop_domain == "acme.myshopify.com"


def test_rolled_back_caller_leaves_no_note_and_no_job(app):
    """A caller that rolls back (its action failed) leaves neither note nor job behind."""
    connection = connection_for("zendesk")
    queue_note(shop_id=connection.shop_id, connection_id=connection.id, conversation="1001",
               text="Refunded $5.00 on #1001.")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(ConversationNote.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Job.id))) == 0


@pytest.mark.parametrize("conversation", [None, "", "   "])
def test_no_conversation_means_no_note(app, conversation):
    """A launch without `conversation` gets no note (the audit trail is enough)."""
    connection = connection_for("zendesk")
    assert queue_note(shop_id=connection.shop_id, connection_id=connection.id,
                      conversation=conversation, text="Refunded.") is None
    assert not db.session.new


def test_api_connection_gets_no_note(app):
    """Bots (kind `api`) have no conversation to write into: no note, no job."""
    connection = connection_for("api")
    assert queue_note(shop_id=connection.shop_id, connection_id=connection.id,
                      conversation=CONVERSATIONS["api"], text="Refunded.") is None
    assert not db.session.new


def test_connection_may_be_named_by_its_public_id(app):
    """Sessions carry the public `conn_…` id; queue_note accepts it."""
    connection = connection_for("gorgias")
    queued = queue_note(shop_id=connection.shop_id, connection_id=connection.public_id,
                        conversation=2002, text="Cancelled #1002.")
    assert queued is not None and queued.connection_id == connection.id
    assert queued.conversation == "2002"


def test_unknown_connection_gets_no_note(app):
    """An unknown connection id is logged and skipped rather than failing the action."""
    shop = shop_for_tests()
    assert queue_note(shop_id=shop.id, connection_id="conn_nope", conversation="1",
                      text="x") is None


def test_note_text_is_one_plain_line():
    """Newlines, tabs, control and bidi characters go; whitespace collapses."""
    assert clean_note_text("Refunded\n$5.00\t on\x00 #1001\u202e  ") == "Refunded $5.00 on #1001"


def test_note_text_with_marker_never_exceeds_500_characters():
    """A long summary is cut with an ellipsis so text plus marker fit 500 characters."""
    posted = with_marker("x" * 2000, "sidecard:123456-abcdef")
    assert len(posted) == MAX_NOTE_CHARS
    assert posted.endswith("… [sidecard:123456-abcdef]")


def test_stored_text_is_cleaned_and_capped(app):
    """queue_note stores the cleaned line, at most 500 characters."""
    connection = connection_for("kustomer")
    queued = queue_note(shop_id=connection.shop_id, connection_id=connection.id,
                        conversation="abc", text="line one\nline two " + "y" * 900)
    assert "\n" not in queued.text and len(queued.text) == MAX_NOTE_CHARS
