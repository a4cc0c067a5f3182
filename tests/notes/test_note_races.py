"""Two holders racing for one note post it once (a shared database, real threads)."""

from __future__ import annotations

import os
import threading

import httpx
import pytest
from dbtools import is_postgres
from notes_kit import connection_for, make_jobs_due, note, note_job, queue_committed

from plugin.extensions import db
from plugin.helpdesks.base import HTTP_CLIENTS_KEY
from plugin.jobs import run_pending
from plugin.jobs.worker import Worker
from plugin.notes import deliver_after_commit
from plugin.notes.delivery import attempt_delivery


@pytest.fixture
def app_config(tmp_path, stand_in):
    """Threads need a database several connections share: a file on SQLite."""
    config = {"HELPDESK_SANDBOX": stand_in}
    if not is_postgres(os.environ.get("TEST_DATABASE_URL") or ""):
        config.update(DATABASE_URL=f"sqlite:///{tmp_path / 'notes.sqlite'}",
                      SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 30}})
    return config


@pytest.fixture
def held_post(app, stand_in):
    """The first note write blocks until released: `(posting, release)` events."""
    posting, release = threading.Event(), threading.Event()
    wsgi = httpx.WSGITransport(app=stand_in)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method in ("PUT", "POST") and not posting.is_set():
            posting.set()
            assert release.wait(10), "the test never released the post"
        return wsgi.handle_request(request)

    app.extensions[HTTP_CLIENTS_KEY] = {
        "zendesk": httpx.Client(transport=httpx.MockTransport(handler))}
    return posting, release


def in_thread(app, fn, results, key):
    """Run `fn` in a thread with its own app context (its own session)."""

    def run():
        with app.app_context():
            results[key] = fn()
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_worker_racing_the_in_request_try_does_not_post_twice(app, stand_in, held_post):
    """The worker picks the job while the request is posting: it waits; one note arrives."""
    posting, release = held_post
    note_id = queue_committed(connection_for("zendesk"))
    results: dict[str, object] = {}
    request = in_thread(app, lambda: deliver_after_commit([note_id]), results, "request")
    assert posting.wait(10)
    worker = in_thread(app, lambda: Worker(name="racer").run_once(), results, "worker")
    worker.join(20)
    release.set()
    request.join(20)
    assert results == {"request": {note_id: "delivered"}, "worker": 1}
    assert stand_in.writes() == 1 and note(note_id).status == "delivered"
    # The worker put the job back; the request's commit then completed it with the note.
    assert note_job(note_id).status == "done"
    make_jobs_due()
    assert run_pending() == 0 and stand_in.writes() == 1


def test_worker_coming_back_to_a_note_delivered_meanwhile_posts_nothing(app, stand_in,
                                                                        held_post):
    """A job the request could not complete (the worker held it) ends without a post."""
    posting, release = held_post
    note_id = queue_committed(connection_for("zendesk"))
    results: dict[str, object] = {}
    worker = in_thread(app, lambda: Worker(name="first").run_once(), results, "worker")
    assert posting.wait(10)
    request = in_thread(app, lambda: deliver_after_commit([note_id]), results, "request")
    request.join(20)
    release.set()
    worker.join(20)
    assert results == {"worker": 1, "request": {note_id: "busy"}}
    assert note(note_id).status == "delivered" and note_job(note_id).status == "done"
    assert stand_in.writes() == 1


def test_two_attempts_at_once_post_once(app, stand_in, held_post):
    """Two simultaneous attempts on one note: the second finds it claimed and posts nothing."""
    posting, release = held_post
    note_id = queue_committed(connection_for("zendesk"))
    results: dict[str, object] = {}

    def attempt():
        outcome = attempt_delivery(note_id)
        db.session.commit()
        return outcome.status

    first = in_thread(app, attempt, results, "first")
    assert posting.wait(10)
    second = in_thread(app, attempt, results, "second")
    second.join(20)
    release.set()
    first.join(20)
    assert results == {"first": "delivered", "second": "busy"}
    assert stand_in.writes() == 1 and note(note_id).attempts == 1


def test_many_workers_deliver_many_notes_each_once(app, stand_in):
    """Three workers draining eight notes: every note arrives exactly once."""
    connection = connection_for("gorgias")
    ids = [queue_committed(connection, text=f"note {n}") for n in range(8)]
    results: dict[str, object] = {}
    threads = [in_thread(app, lambda: Worker(fresh_session_per_job=True).drain(), results, n)
               for n in range(3)]
    for thread in threads:
        thread.join(60)
    assert sum(results.values()) == 8
    assert sorted(n.body.split(" [")[0] for n in stand_in.notes_for("gorgias")) == sorted(
        f"note {n}" for n in range(8))
    assert {note(i).status for i in ids} == {"delivered"}
