"""The worker: claim a due job, run its handler, then mark it done or schedule a retry.

Claiming is one conditional UPDATE whose row count says who won, so any number of workers
(threads, processes, machines) can share the table on SQLite or PostgreSQL. A claim is a lease:
a worker that dies leaves `locked_until` behind, and the job becomes claimable again after it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import socket
import threading
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import and_, or_, select, update

from plugin.extensions import db
from plugin.jobs import RetryLater, get_handler
from plugin.models import Job
from plugin.models.base import utcnow

log = logging.getLogger("sidecard.jobs")

DEFAULT_LEASE_SECONDS = 300
DEFAULT_BACKOFF_BASE_SECONDS = 10.0
DEFAULT_BACKOFF_CAP_SECONDS = 3600.0
# A handler asking for "now" would spin; every retry waits at least this long.
MIN_RETRY_SECONDS = 1.0
MAX_ERROR_CHARS = 500

_random = secrets.SystemRandom()

# What must never reach `last_error`: tokens, long opaque strings, e-mail addresses.
_SECRET_PATTERNS = (
    re.compile(r"shp[a-z]{2}_[A-Za-z0-9]+"),
    re.compile(r"[A-Za-z0-9+/=_\-.]{32,}"),
    re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+\.[A-Za-z]{2,}"),
)


def backoff_seconds(attempts: int, *, base: float = DEFAULT_BACKOFF_BASE_SECONDS,
                    cap: float = DEFAULT_BACKOFF_CAP_SECONDS) -> float:
    """Capped exponential backoff with jitter: half fixed, half random (never thundering)."""
    delay = min(cap, base * (2 ** max(attempts - 1, 0)))
    return delay / 2 + _random.uniform(0, delay / 2)


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of an exception for `last_error`."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    for pattern in _SECRET_PATTERNS:
        message = pattern.sub("[redacted]", message)
    text = type(exc).__name__ + (f"[{code}]" if isinstance(code, str) else "") + \
        (f": {message}" if message else "")
    return text[:MAX_ERROR_CHARS]


class Worker:
    """Claims and runs jobs; several may run at once against one database."""

    def __init__(self, name: str | None = None, *, lease_seconds: float | None = None,
                 fresh_session_per_job: bool = False) -> None:
        suffix = secrets.token_hex(3)
        self.name = f"{name or socket.gethostname()}:{os.getpid()}:{suffix}"[:128]
        config = current_app.config
        self.lease = timedelta(seconds=float(
            lease_seconds or config.get("JOBS_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)))
        self.backoff_base = float(config.get("JOBS_BACKOFF_BASE_SECONDS",
                                             DEFAULT_BACKOFF_BASE_SECONDS))
        self.backoff_cap = float(config.get("JOBS_BACKOFF_CAP_SECONDS",
                                            DEFAULT_BACKOFF_CAP_SECONDS))
        self.fresh_session_per_job = fresh_session_per_job
        self.stop_event = threading.Event()

    # -- claiming -------------------------------------------------------------------------

    def due_job_ids(self, limit: int = 20, now: datetime | None = None) -> list[int]:
        """Ids of queued jobs that are due and running jobs whose lease expired."""
        now = now or utcnow()
        query = (select(Job.id)
                 .where(or_(and_(Job.status == "queued", Job.run_at <= now),
                            and_(Job.status == "running", Job.locked_until < now)))
                 .order_by(Job.run_at, Job.id).limit(limit))
        ids = list(db.session.scalars(query))
        db.session.commit()
        return ids

    def claim(self, job_id: int, now: datetime | None = None) -> bool:
        """Take the lease on one job; True only for the one worker whose UPDATE matched."""
        now = now or utcnow()
        statement = (
            update(Job)
            .where(Job.id == job_id,
                   or_(and_(Job.status == "queued", Job.run_at <= now),
                       and_(Job.status == "running", Job.locked_until < now)))
            .values(status="running", locked_until=now + self.lease, locked_by=self.name,
                    attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        claimed = db.session.execute(statement).rowcount == 1
        db.session.commit()
        return claimed

    # -- running --------------------------------------------------------------------------

    def run_job(self, job_id: int) -> str:
        """Run a claimed job; returns its new status (`done`, `queued`, `failed`, `lost`)."""
        job = db.session.get(Job, job_id, populate_existing=True)
        if job is None:
            return "lost"
        kind, attempts, max_attempts = job.kind, job.attempts, job.max_attempts
        if max_attempts is not None and attempts > max_attempts:
            # Only a lease that expired again and again gets here: the job keeps killing
            # its worker, so stop handing it out.
            self._finish(job_id, status="failed", last_error="lease expired on every attempt")
            db.session.commit()
            log.error("job %s (%s) failed: its workers died %s times", job_id, kind, attempts)
            return "failed"
        try:
            handler = get_handler(kind)
            handler(job)
            db.session.flush()
        except RetryLater as exc:
            db.session.rollback()
            delay = max(exc.delay_seconds, MIN_RETRY_SECONDS)
            return self._reschedule(job_id, kind, attempts, max_attempts, delay,
                                    describe_error(exc))
        except Exception as exc:  # noqa: BLE001  (any handler failure is a retry, not a crash)
            db.session.rollback()
            log.warning("job %s (%s) failed on attempt %s: %s", job_id, kind, attempts,
                        describe_error(exc))
            delay = backoff_seconds(attempts, base=self.backoff_base, cap=self.backoff_cap)
            return self._reschedule(job_id, kind, attempts, max_attempts, delay,
                                    describe_error(exc))
        # The handler's writes and the `done` mark commit together, only if we still hold
        # the lease (a job that outlived its lease may have been re-claimed elsewhere).
        done = self._finish(job_id, status="done", last_error=None)
        if not done:
            db.session.rollback()
            log.warning("job %s (%s) lost its lease before finishing", job_id, kind)
            return "lost"
        db.session.commit()
        log.info("job %s (%s) done after %s attempt(s)", job_id, kind, attempts)
        return "done"

    def _reschedule(self, job_id: int, kind: str, attempts: int, max_attempts: int | None,
                    delay: float, error: str) -> str:
        """Queue the job again after `delay`, or fail it when attempts are exhausted."""
        if max_attempts is not None and attempts >= max_attempts:
            self._finish(job_id, status="failed", last_error=error)
            db.session.commit()
            log.error("job %s (%s) failed permanently after %s attempts", job_id, kind, attempts)
            return "failed"
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.locked_by == self.name)
            .values(status="queued", run_at=utcnow() + timedelta(seconds=delay),
                    locked_until=None, locked_by=None, last_error=error)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(statement)
        db.session.commit()
        log.info("job %s (%s) retries in %.0f s", job_id, kind, delay)
        return "queued"

    def _finish(self, job_id: int, *, status: str, last_error: str | None) -> bool:
        """Mark the job finished (not committed); False when another worker holds it now."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.locked_by == self.name)
            .values(status=status, finished_at=utcnow(), locked_until=None,
                    last_error=last_error)
            .execution_options(synchronize_session=False)
        )
        return db.session.execute(statement).rowcount == 1

    def _after_job(self) -> None:
        if self.fresh_session_per_job:
            db.session.remove()

    # -- loops ----------------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> int:
        """One pass over the jobs due now; returns how many this worker ran."""
        ran = 0
        for job_id in self.due_job_ids(limit=limit or 20):
            if self.stop_event.is_set() or (limit is not None and ran >= limit):
                break
            if not self.claim(job_id):
                continue  # another worker won it
            self.run_job(job_id)
            self._after_job()
            ran += 1
        return ran

    def drain(self, limit: int | None = None) -> int:
        """Run due jobs until none is left (or `limit` ran); returns how many ran."""
        total = 0
        while not self.stop_event.is_set():
            remaining = None if limit is None else limit - total
            if remaining is not None and remaining <= 0:
                break
            ran = self.run_once(limit=remaining)
            if ran == 0:
                break
            total += ran
        return total

    def run_forever(self, sleep_seconds: float = 2.0) -> int:
        """Poll until stopped (SIGTERM/SIGINT), sleeping when the queue is empty."""
        total = 0
        while not self.stop_event.is_set():
            ran = self.drain()
            total += ran
            if ran == 0:
                self.stop_event.wait(sleep_seconds)
        return total

    def stop(self, *_args: object) -> None:
        """Finish the current job, then stop (signal handler)."""
        self.stop_event.set()


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one pass over the jobs due now, then exit.")
@click.option("--burst", is_flag=True, help="Run jobs until the queue has none due, then exit.")
@click.option("--sleep", "sleep_seconds", type=float, default=2.0, show_default=True,
              help="Seconds to wait when the queue is empty.")
@with_appcontext
def worker_command(once: bool, burst: bool, sleep_seconds: float) -> None:
    """Process background jobs (webhooks, notes, token refresh); safe to run many at once."""
    worker = Worker(fresh_session_per_job=True)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # Graceful shutdown: the job in hand finishes, nothing new is claimed.
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, worker.stop)
    log.info("worker %s started", worker.name)
    try:
        if once:
            ran = worker.run_once()
        elif burst:
            ran = worker.drain()
        else:
            ran = worker.run_forever(sleep_seconds=sleep_seconds)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"worker {worker.name}: ran {ran} job(s)")
