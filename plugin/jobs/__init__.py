"""The database-backed job queue: `enqueue`, the `HANDLERS` registry and inline runs.

A handler is a function `handler(job: Job) -> None` registered for one `kind`. It runs inside
the worker's transaction (see `worker.py`), must be idempotent (a crashed worker's job runs
again), and may raise `RetryLater(delay_seconds)` to be tried again at a given time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask

from plugin.extensions import db
from plugin.models import Job
from plugin.models.base import utcnow

Handler = Callable[[Job], None]

# Attempts before a job is marked `failed`; None retries forever (conversation notes).
DEFAULT_MAX_ATTEMPTS = 10
_UNSET: Any = object()

HANDLERS: dict[str, Handler] = {}


@dataclass(frozen=True)
class KindOptions:
    """Per-kind queue behaviour."""

    max_attempts: int | None = DEFAULT_MAX_ATTEMPTS
    # Queued jobs of this kind keep running after the shop uninstalls (webhooks, notes
    # to the helpdesk); every other kind is cancelled by app/uninstalled.
    survives_uninstall: bool = False


OPTIONS: dict[str, KindOptions] = {}


class RetryLater(Exception):  # noqa: N818  (a signal, not an error; the contract names it)
    """Raised by a handler to be retried after `delay_seconds` (e.g. a 429's Retry-After)."""

    def __init__(self, delay_seconds: float, message: str = "retry later") -> None:
        super().__init__(message)
        self.delay_seconds = max(float(delay_seconds), 0.0)

    @property
    def delay(self) -> float:
        """Alias of `delay_seconds`."""
        return self.delay_seconds


def register(kind: str, *, max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
             survives_uninstall: bool = False) -> Callable[[Handler], Handler]:
    """Decorator registering `fn` as the handler of `kind`.

    :raises ValueError: another function is already registered for `kind`.
    """

    def decorator(fn: Handler) -> Handler:
        existing = HANDLERS.get(kind)
        if existing is not None and existing is not fn and \
                existing.__qualname__ != fn.__qualname__:
            raise ValueError(f"job kind {kind!r} is already handled by {existing.__qualname__}")
        HANDLERS[kind] = fn
        OPTIONS[kind] = KindOptions(max_attempts=max_attempts,
                                    survives_uninstall=survives_uninstall)
        return fn

    return decorator


def get_handler(kind: str) -> Handler:
    """The handler registered for `kind`.

    :raises LookupError: no handler is registered for `kind`.
    """
    try:
        return HANDLERS[kind]
    except KeyError:
        raise LookupError(f"no job handler registered for kind {kind!r}") from None


def options_for(kind: str) -> KindOptions:
    """The queue options of `kind` (defaults for unknown kinds)."""
    return OPTIONS.get(kind, KindOptions())


def enqueue(kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None,
            run_at: datetime | None = None, shop_domain: str | None = None,
            max_attempts: int | None = _UNSET) -> Job:
    """Add a job to the current session without committing (commit it with its cause).

    With `dedupe_key`, an existing job with that key is returned instead of a new one.

    :raises LookupError: `kind` has no registered handler.
    """
    get_handler(kind)
    if dedupe_key is not None:
        existing = db.session.scalar(db.select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    job = Job(kind=kind, payload=dict(payload), dedupe_key=dedupe_key,
              shop_domain=shop_domain, status="queued", attempts=0,
              max_attempts=options_for(kind).max_attempts if max_attempts is _UNSET
              else max_attempts)
    if run_at is not None:
        job.run_at = run_at
    db.session.add(job)
    return job


def cancel_shop_jobs(shop_domain: str, *, exclude_job_id: int | None = None) -> int:
    """Cancel the shop's queued jobs except kinds that survive uninstall; returns the count."""
    survivors = [kind for kind, opts in OPTIONS.items() if opts.survives_uninstall]
    statement = (
        db.update(Job)
        .where(Job.shop_domain == shop_domain, Job.status == "queued",
               Job.kind.not_in(survivors), Job.id != (exclude_job_id or -1))
        .values(status="cancelled", finished_at=utcnow(), last_error="shop uninstalled")
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount


def run_pending(limit: int | None = None) -> int:
    """Run every due job inline (tests, `worker --burst`); returns how many ran."""
    from plugin.jobs.worker import Worker

    return Worker(name="inline").drain(limit=limit)


def init_app(app: Flask) -> None:
    """Register the `worker` command and the job handlers of this package."""
    from plugin.jobs import tasks  # noqa: F401  (registers refresh_shop_token)
    from plugin.jobs.worker import worker_command

    app.cli.add_command(worker_command)
