"""Delivering notes through the helpdesk stand-in: once, whatever the helpdesk does."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from notes_kit import (
    CONVERSATIONS,
    connection_for,
    make_jobs_due,
    note,
    note_job,
    queue_committed,
)

from plugin.extensions import db
from plugin.helpdesks.base import HTTP_CLIENTS_KEY
from plugin.jobs import cancel_shop_jobs, run_pending
from plugin.models import ConversationNote
from plugin.models.base import utcnow
from plugin.notes import deliver_after_commit
from plugin.notes.delivery import attempt_delivery


@pytest.mark.parametrize("kind", ["zendesk", "gorgias", "kustomer"])
def test_note_is_delivered_right_after_commit(app, stand_in, kind):
    """deliver_after_commit posts the note at once and completes its job in the same commit."""
    note_id = queue_committed(connection_for(kind))
    assert deliver_after_commit([note_id]) == {note_id: "delivered"}
    stored, job = note(note_id), note_job(note_id)
    [received] = stand_in.notes_for(kind, "acme", CONVERSATIONS[kind])
    assert stored.status == "delivered" and stored.helpdesk_note_id == received.id
    assert stored.delivered_at is not None and stored.attempts == 1
    assert received.body == f"Agent One refunded $12.50 on order #1001. [{stored.marker}]"
    assert received.public is False
    assert job.status == "done"
    assert run_pending() == 0


def test_worker_delivers_a_note_nobody_tried_yet(app, stand_in):
    """Without the in-request try (a crash after commit), the worker delivers the note."""
    note_id = queue_committed(connection_for("zendesk"))
    assert run_pending() == 1
    assert note(note_id).status == "delivered" and note_job(note_id).status == "done"
    assert len(stand_in.notes_for("zendesk")) == 1


def test_rate_limited_note_is_rescheduled_at_retry_after(app, stand_in):
    """A 429 with Retry-After puts the job back exactly that long, the note stays queued."""
    stand_in.fail(429, retry_after=120, times=1)
    note_id = queue_committed(connection_for("gorgias"))
    before = utcnow()
    assert run_pending() == 1
    job, stored = note_job(note_id), note(note_id)
    assert job.status == "queued"
    assert before + timedelta(seconds=119) <= job.run_at <= utcnow() + timedelta(seconds=121)
    assert stored.status == "queued" and "429" in stored.last_error
    assert stored.needs_lookup is False  # a 429 created nothing: no lookup before the retry
    make_jobs_due()
    assert run_pending() == 1
    assert note(note_id).status == "delivered"
    assert len(stand_in.notes_for("gorgias")) == 1


def test_rate_limit_after_commit_holds_the_job_back_too(app, stand_in):
    """The in-request try that meets a 429 moves the queued job to the Retry-After time."""
    stand_in.fail(429, retry_after=300, times=1)
    note_id = queue_committed(connection_for("zendesk"))
    assert deliver_after_commit([note_id]) == {note_id: "retry"}
    job = note_job(note_id)
    assert job.status == "queued" and job.run_at >= utcnow() + timedelta(seconds=290)
    assert run_pending() == 0


def test_helpdesk_down_then_back_delivers_once(app, stand_in):
    """503s keep the note queued (action unaffected); after recovery it arrives once."""
    stand_in.fail(503)
    note_id = queue_committed(connection_for("zendesk"))
    assert deliver_after_commit([note_id]) == {note_id: "retry"}
    assert run_pending() == 1
    assert note(note_id).status == "queued" and note_job(note_id).run_at > utcnow()
    make_jobs_due()
    assert run_pending() == 1
    assert note(note_id).attempts == 3 and "503" in note(note_id).last_error
    stand_in.recover()
    make_jobs_due()
    assert run_pending() == 1
    stored = note(note_id)
    assert stored.status == "delivered" and stored.last_error is None
    assert len(stand_in.notes_for("zendesk")) == 1
    # A 503 may have been acted on, so the successful retry looked first.
    assert ("zendesk", "GET", "/api/v2/tickets/1001/comments") in stand_in.requests


def test_lost_answer_is_not_posted_twice(app, stand_in):
    """The helpdesk stored the note but the answer was lost (504): the retry finds it."""
    stand_in.lose_next_response(status=504)
    note_id = queue_committed(connection_for("kustomer"))
    assert deliver_after_commit([note_id]) == {note_id: "retry"}
    assert note(note_id).needs_lookup is True
    make_jobs_due()
    assert run_pending() == 1
    [received] = stand_in.notes_for("kustomer")
    stored = note(note_id)
    assert stored.status == "delivered" and stored.helpdesk_note_id == received.id
    assert stand_in.writes("kustomer") == 1


def test_read_timeout_after_the_helpdesk_created_the_note_is_not_posted_twice(app, stand_in):
    """A read timeout after the write reached the helpdesk: found by marker, not reposted."""
    wsgi = httpx.WSGITransport(app=stand_in)
    calls = []

    def timing_out_once(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        response = wsgi.handle_request(request)
        if request.method == "PUT" and calls.count("PUT") == 1:
            response.read()
            raise httpx.ReadTimeout("read timed out", request=request)
        return response

    app.extensions[HTTP_CLIENTS_KEY] = {
        "zendesk": httpx.Client(transport=httpx.MockTransport(timing_out_once))}
    note_id = queue_committed(connection_for("zendesk"))
    assert run_pending() == 1
    assert note(note_id).status == "queued" and len(stand_in.notes_for("zendesk")) == 1
    make_jobs_due()
    assert run_pending() == 1
    assert note(note_id).status == "delivered"
    assert calls == ["PUT", "GET"]
    assert len(stand_in.notes_for("zendesk")) == 1


def test_connect_error_needs_no_lookup(app, stand_in):
    """A connection that never opened cannot have posted: the retry posts without a lookup."""

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app.extensions[HTTP_CLIENTS_KEY] = {
        "gorgias": httpx.Client(transport=httpx.MockTransport(refused))}
    note_id = queue_committed(connection_for("gorgias"))
    assert deliver_after_commit([note_id]) == {note_id: "retry"}
    assert note(note_id).needs_lookup is False
    assert "could not be reached" in note(note_id).last_error


def test_ticket_gone_skips_the_note_with_a_reason(app, stand_in):
    """A 404 (ticket deleted) skips the note for good, with the reason, and ends the job."""
    stand_in.remove_conversation("zendesk", "acme", "1001")
    note_id = queue_committed(connection_for("zendesk"))
    assert run_pending() == 1
    stored = note(note_id)
    assert stored.status == "skipped" and "not found" in stored.last_error
    assert "1001" in stored.last_error
    assert note_job(note_id).status == "done"


def test_refused_credentials_retry_with_a_long_backoff_until_fixed(app, stand_in):
    """401: a clear last_error and a long wait; once the token is fixed the note arrives."""
    stand_in.require_token("kustomer", "acme", "new-key")
    connection = connection_for("kustomer")
    note_id = queue_committed(connection)
    assert run_pending() == 1
    stored, job = note(note_id), note_job(note_id)
    assert stored.status == "queued" and "401" in stored.last_error
    assert "credentials" in stored.last_error
    assert job.run_at >= utcnow() + timedelta(seconds=590)
    connection.api_token = "new-key"
    db.session.commit()
    make_jobs_due()
    assert run_pending() == 1
    assert note(note_id).status == "delivered"


def test_disabled_connection_keeps_the_note_until_enabled(app, stand_in):
    """A disabled connection posts nothing; its notes wait and go once it is enabled."""
    connection = connection_for("zendesk")
    note_id = queue_committed(connection)
    connection.disabled_at = utcnow()
    db.session.commit()
    assert run_pending() == 1
    assert note(note_id).status == "queued" and "disabled" in note(note_id).last_error
    assert stand_in.writes() == 0
    connection.disabled_at = None
    db.session.commit()
    make_jobs_due()
    run_pending()
    assert note(note_id).status == "delivered"


def test_note_of_an_api_connection_is_skipped(app, stand_in):
    """A note row for an `api` connection (none is queued normally) is skipped, no HTTP."""
    connection = connection_for("api")
    stored = ConversationNote(shop_id=connection.shop_id, connection_id=connection.id,
                              conversation="run-1", text="x", marker="sidecard:0-000000")
    db.session.add(stored)
    db.session.commit()
    assert attempt_delivery(stored.id).status == "skipped"
    db.session.commit()
    assert note(stored.id).last_error == "api connection"
    assert stand_in.requests == []


def test_helpdesk_refusing_the_note_skips_it(app, stand_in):
    """A 422 (e.g. a closed Zendesk ticket) is final: skipped with the reason."""
    stand_in.fail(422, times=1)
    note_id = queue_committed(connection_for("zendesk"))
    assert deliver_after_commit([note_id]) == {note_id: "skipped"}
    assert note(note_id).status == "skipped" and "422" in note(note_id).last_error
    assert note_job(note_id).status == "done"


def test_uninstall_keeps_queued_notes(app, stand_in):
    """app/uninstalled cancels the shop's jobs but not note deliveries."""
    stand_in.fail(503)
    connection = connection_for("gorgias")
    note_id = queue_committed(connection)
    deliver_after_commit([note_id])
    assert cancel_shop_jobs("acme.myshopify.com") == 0
    db.session.commit()
    assert note_job(note_id).status == "queued"
    stand_in.recover()
    run_pending()
    assert note(note_id).status == "delivered"


def test_deliver_after_commit_never_raises(app, stand_in, monkeypatch):
    """Whatever breaks in the in-request try, the action's response is unaffected."""
    note_id = queue_committed(connection_for("zendesk"))

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("plugin.notes.delivery.attempt_delivery", broken)
    assert deliver_after_commit([note_id]) == {note_id: "error"}
    monkeypatch.setattr("plugin.notes.delivery.deliver_inline", broken)
    monkeypatch.setattr("plugin.notes.deliver_inline", broken)
    assert deliver_after_commit([note_id]) == {}
    assert note(note_id).status == "queued" and note_job(note_id).status == "queued"


def test_unexpected_failure_while_posting_keeps_the_note_and_looks_first(app, stand_in,
                                                                           monkeypatch):
    """A bug in the middle of a post releases the note; the retry looks before posting."""
    from plugin.helpdesks.zendesk import ZendeskAdapter

    original = ZendeskAdapter.post_note

    def crash_after_posting(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise KeyError("parse")

    monkeypatch.setattr(ZendeskAdapter, "post_note", crash_after_posting)
    note_id = queue_committed(connection_for("zendesk"))
    assert deliver_after_commit([note_id]) == {note_id: "retry"}
    monkeypatch.setattr(ZendeskAdapter, "post_note", original)
    assert note(note_id).needs_lookup is True
    run_pending()
    assert note(note_id).status == "delivered" and stand_in.writes() == 1


def test_deliver_after_commit_before_commit_does_nothing(app, stand_in):
    """Called with uncommitted changes, it leaves everything to the worker."""
    note_id = queue_committed(connection_for("zendesk"))
    db.session.add(ConversationNote(shop_id=1, conversation="1", text="pending"))
    assert deliver_after_commit([note_id, None]) == {}
    db.session.rollback()
    assert note(note_id).status == "queued"


def test_crashed_holder_lease_expires_and_the_next_attempt_finds_the_note(app, stand_in):
    """A holder that posted then died: after its lease, the worker finds it, posts nothing."""
    note_id = queue_committed(connection_for("zendesk"))
    stored = note(note_id)
    # The crashed attempt: claimed, marked unsure, posted; never recorded the answer.
    stored.status, stored.claimed_by, stored.needs_lookup = "sending", "dead", True
    stored.lease_until = utcnow() + timedelta(seconds=60)
    db.session.commit()
    from plugin.helpdesks import get_adapter

    adapter = get_adapter("zendesk")
    adapter.post_note(stored.connection, "1001", stored.posted_text,
                      client=adapter.http_client())
    assert attempt_delivery(note_id).status == "busy"  # lease still held
    db.session.commit()
    db.session.execute(db.update(ConversationNote).values(
        lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert run_pending() == 1
    assert note(note_id).status == "delivered" and stand_in.writes() == 1
