"""`flask --app app worker` and several workers sharing one queue."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
from dbtools import is_postgres

from plugin.extensions import db
from plugin.jobs import enqueue
from plugin.jobs.worker import Worker
from plugin.models import AuditEvent, Job
from plugin.models.base import utcnow


def statuses():
    """Job statuses by id, as stored."""
    db.session.remove()
    return [job.status for job in db.session.scalars(db.select(Job).order_by(Job.id))]


def test_worker_burst_drains_the_queue(app, runner, calls):
    """`worker --burst` runs every due job, then exits and says how many."""
    for n in range(3):
        enqueue("record", {"n": n})
    db.session.commit()
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "ran 3 job(s)" in result.output
    assert statuses() == ["done"] * 3


def test_worker_once_runs_only_what_is_due(app, runner, calls):
    """`worker --once` makes one pass and leaves future jobs queued."""
    enqueue("record", {"n": 1})
    enqueue("record", {"n": 2}, run_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "ran 1 job(s)" in result.output
    assert statuses() == ["done", "queued"]


def test_worker_stops_gracefully_on_sigterm(app, runner, kinds):
    """SIGTERM lets the job in hand finish, claims nothing more, and exits cleanly."""

    def terminate(job):
        db.session.add(AuditEvent(shop_id=0, event="test.ran"))
        os.kill(os.getpid(), signal.SIGTERM)

    kinds("terminate", terminate)
    enqueue("terminate", {})
    enqueue("terminate", {})
    db.session.commit()
    previous = signal.getsignal(signal.SIGTERM)
    result = runner.invoke(args=["worker", "--sleep", "0.01"])
    assert result.exit_code == 0, result.output
    assert "ran 1 job(s)" in result.output
    assert statuses() == ["done", "queued"]
    assert signal.getsignal(signal.SIGTERM) is previous


@pytest.fixture
def app_config(tmp_path):
    """The concurrency test needs a database that several connections share: a file on SQLite."""
    if is_postgres(os.environ.get("TEST_DATABASE_URL") or ""):
        return {}
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'queue.sqlite'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 30}}}


def test_concurrent_workers_run_each_job_exactly_once(app, kinds):
    """Four workers draining one queue in parallel run every job once, none twice."""
    runs = []
    lock = threading.Lock()

    def count(job):
        with lock:
            runs.append(job.payload["n"])

    kinds("count", count)
    for n in range(40):
        enqueue("count", {"n": n})
    db.session.commit()

    def work():
        with app.app_context():
            Worker(fresh_session_per_job=True).drain()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(runs) == list(range(40))
    assert set(statuses()) == {"done"}
