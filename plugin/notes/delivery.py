"""Delivering conversation notes exactly once: claim under a lease, look up, post, record.

Every attempt, from the worker (`deliver_note` job) or right after the action's commit
(`deliver_after_commit`), goes through `attempt_delivery`:

1. claim: one conditional UPDATE moves the note `queued → sending` with a lease (or takes over
   a lease that expired); only the holder may post, so two workers never post the same note;
2. when an earlier attempt may have reached the helpdesk without us seeing the answer
   (`needs_lookup`), look for the note's marker first (`adapter.find_note`) and stop if found;
3. commit `needs_lookup = True`, then post: from here until an answer, the outcome is unknown;
4. record the answer: `delivered` (with the helpdesk's id) or `skipped` are left for the caller
   to commit together with the job's completion; anything else releases the note (`queued`,
   `last_error`) and is committed at once, then the job is retried (429 → its Retry-After,
   401/403 → a long wait, 5xx/timeouts → the worker's backoff). A 404 skips the note.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx
from flask import current_app
from sqlalchemy import and_, or_, update

from plugin.exceptions import (
    HelpdeskAuthError,
    HelpdeskError,
    HelpdeskNotFoundError,
    HelpdeskRateLimitedError,
    HelpdeskRejectedError,
    HelpdeskUnavailableError,
)
from plugin.extensions import db
from plugin.helpdesks import get_adapter
from plugin.jobs import RetryLater, register
from plugin.models import ConversationNote, Job
from plugin.models.base import utcnow

log = logging.getLogger("sidecard.notes")

JOB_KIND = "deliver_note"
DEFAULT_LEASE_SECONDS = 120.0
# Refused credentials (or a disabled connection) are retried this long after the first
# failure, growing with each attempt up to the cap: someone has to fix the connection first.
DEFAULT_AUTH_RETRY_SECONDS = 600.0
MAX_AUTH_RETRY_SECONDS = 3600.0
# A note another holder is sending is checked again after at most this long.
BUSY_RECHECK_SECONDS = 30.0
MAX_ERROR_CHARS = 500
API_CONNECTION_REASON = "api connection"


@dataclass(frozen=True)
class Outcome:
    """What one attempt did.

    `status`: `delivered` / `skipped` (written, not committed), `done` (nothing to do: gone or
    finished before), `busy` (someone else holds the lease), `retry` (released; try again after
    `delay` seconds, or the worker's backoff when None).
    """

    status: str
    delay: float | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        """True when the note needs no further attempt."""
        return self.status in ("delivered", "skipped", "done")


def job_dedupe_key(note_id: int) -> str:
    """The dedupe key of a note's `deliver_note` job."""
    return f"note:{note_id}"


def _config_float(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def auth_retry_delay(attempts: int) -> float:
    """The wait after refused credentials: NOTES_AUTH_RETRY_SECONDS × attempts, capped."""
    base = _config_float("NOTES_AUTH_RETRY_SECONDS", DEFAULT_AUTH_RETRY_SECONDS)
    cap = _config_float("NOTES_AUTH_RETRY_MAX_SECONDS", MAX_AUTH_RETRY_SECONDS)
    return min(cap, base * max(attempts, 1))


def attempt_delivery(note_id: int, *, timeout: httpx.Timeout | float | None = None,
                     holder: str | None = None) -> Outcome:
    """Make one delivery attempt for a note (see the module docstring for the steps)."""
    holder = holder or secrets.token_hex(8)
    note = db.session.get(ConversationNote, note_id, populate_existing=True)
    if note is None or note.status in ("delivered", "skipped"):
        return Outcome("done")
    if not _claim(note_id, holder):
        note = db.session.get(ConversationNote, note_id, populate_existing=True)
        if note is None or note.status in ("delivered", "skipped"):
            return Outcome("done")
        remaining = ((note.lease_until - utcnow()).total_seconds()
                     if note.lease_until is not None else 1.0)
        return Outcome("busy", delay=min(max(remaining, 1.0), BUSY_RECHECK_SECONDS))

    note = db.session.get(ConversationNote, note_id, populate_existing=True)
    if note is None:  # erased (shop/redact) between the claim and now
        return Outcome("done")
    connection = note.connection
    if connection is None:
        return _finish(note_id, holder, status="skipped", reason="helpdesk connection removed")
    adapter = get_adapter(connection.kind)
    was_unsure = bool(note.needs_lookup)
    if not connection.is_active:
        return _release(note_id, holder, needs_lookup=was_unsure,
                        delay=auth_retry_delay(note.attempts),
                        error="the helpdesk connection is disabled; the note waits until it "
                              "is enabled again")
    conversation, marker, text = note.conversation, note.marker or "", note.posted_text
    posting = False
    try:
        if was_unsure:
            found = adapter.find_note(connection, conversation, marker,
                                      client=adapter.http_client(), timeout=timeout)
            if found is not None:
                log.info("note %s was already in %s conversation (lost answer); not reposted",
                         note_id, connection.kind)
                return _finish(note_id, holder, status="delivered", remote_id=found)
        if not _mark_posting(note_id, holder):
            return Outcome("busy", delay=1.0)
        posting = True
        remote_id = adapter.post_note(connection, conversation, text,
                                      client=adapter.http_client(), marker=marker,
                                      timeout=timeout)
    except HelpdeskRateLimitedError as exc:
        return _release(note_id, holder, needs_lookup=was_unsure and not posting,
                        delay=exc.retry_after, error=str(exc))
    except HelpdeskAuthError as exc:
        return _release(note_id, holder, needs_lookup=was_unsure and not posting,
                        delay=auth_retry_delay(note.attempts), error=str(exc))
    except HelpdeskNotFoundError as exc:
        return _finish(note_id, holder, status="skipped",
                       reason=f"conversation {conversation} not found ({exc})")
    except HelpdeskRejectedError as exc:
        return _finish(note_id, holder, status="skipped", reason=f"refused: {exc}")
    except HelpdeskError as exc:
        unknown = getattr(exc, "outcome_unknown", True)
        retry_after = exc.retry_after if isinstance(exc, HelpdeskUnavailableError) else None
        return _release(note_id, holder, needs_lookup=unknown if posting else was_unsure,
                        delay=retry_after, error=str(exc))
    except Exception as exc:  # noqa: BLE001  (a bug must not lose the note: release, retry)
        log.exception("note %s: unexpected failure while delivering", note_id)
        return _release(note_id, holder, needs_lookup=True if posting else was_unsure,
                        delay=None, error=f"{type(exc).__name__} while delivering")
    if remote_id is None:
        return _finish(note_id, holder, status="skipped", reason=API_CONNECTION_REASON)
    return _finish(note_id, holder, status="delivered", remote_id=remote_id)


def _claim(note_id: int, holder: str) -> bool:
    """Take the note's lease (queued, or sending with an expired lease); committed."""
    now = utcnow()
    lease = timedelta(seconds=_config_float("NOTES_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
    statement = (
        update(ConversationNote)
        .where(ConversationNote.id == note_id,
               or_(ConversationNote.status == "queued",
                   and_(ConversationNote.status == "sending",
                        or_(ConversationNote.lease_until.is_(None),
                            ConversationNote.lease_until < now))))
        .values(status="sending", claimed_by=holder, lease_until=now + lease,
                attempts=ConversationNote.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(statement).rowcount == 1
    db.session.commit()
    return claimed


def _holding(note_id: int, holder: str):  # noqa: ANN202  (a SQL expression)
    return and_(ConversationNote.id == note_id, ConversationNote.status == "sending",
                ConversationNote.claimed_by == holder)


def _mark_posting(note_id: int, holder: str) -> bool:
    """Record, before the post leaves, that its outcome is unknown until answered."""
    statement = (update(ConversationNote).where(_holding(note_id, holder))
                 .values(needs_lookup=True).execution_options(synchronize_session=False))
    still_mine = db.session.execute(statement).rowcount == 1
    db.session.commit()
    return still_mine


def _finish(note_id: int, holder: str, *, status: str, remote_id: str | None = None,
            reason: str | None = None) -> Outcome:
    """Mark the note delivered or skipped (NOT committed: the caller commits it with the job)."""
    values: dict[str, object] = {"status": status, "claimed_by": None, "lease_until": None,
                                 "needs_lookup": False}
    if status == "delivered":
        values.update(helpdesk_note_id=(remote_id or None), delivered_at=utcnow(),
                      last_error=None)
    else:
        values.update(last_error=(reason or "")[:MAX_ERROR_CHARS])
    statement = (update(ConversationNote).where(_holding(note_id, holder)).values(**values)
                 .execution_options(synchronize_session=False))
    if db.session.execute(statement).rowcount != 1:
        # Our lease ran out and someone else holds the note now; they look it up first.
        db.session.rollback()
        return Outcome("busy", delay=BUSY_RECHECK_SECONDS)
    if status == "delivered":
        log.info("note %s delivered", note_id)
    else:
        log.warning("note %s skipped: %s", note_id, reason)
    return Outcome(status, error=reason)


def _release(note_id: int, holder: str, *, needs_lookup: bool, delay: float | None,
             error: str) -> Outcome:
    """Give the note back to the queue with its error (committed)."""
    error = error[:MAX_ERROR_CHARS]
    statement = (update(ConversationNote).where(_holding(note_id, holder))
                 .values(status="queued", claimed_by=None, lease_until=None,
                         needs_lookup=needs_lookup, last_error=error)
                 .execution_options(synchronize_session=False))
    db.session.execute(statement)
    db.session.commit()
    log.warning("note %s not delivered: %s", note_id, error)
    return Outcome("retry", delay=delay, error=error)


@register(JOB_KIND, max_attempts=None, survives_uninstall=True)
def deliver_note(job: Job) -> None:
    """Deliver one note (payload `note_id`); retried until it is delivered or skipped.

    :raises RetryLater: 429 (its Retry-After), refused credentials, a note held elsewhere.
    :raises HelpdeskUnavailableError: 5xx, timeouts: the worker's backoff applies.
    """
    note_id = int(job.payload["note_id"])
    outcome = attempt_delivery(note_id)
    if outcome.finished:
        return  # the worker commits the note's new state together with the job's `done`
    if outcome.status == "busy":
        raise RetryLater(outcome.delay or BUSY_RECHECK_SECONDS,
                         "the note is being delivered by another worker")
    if outcome.delay is not None:
        raise RetryLater(outcome.delay, outcome.error or "retry later")
    raise HelpdeskUnavailableError(outcome.error or "helpdesk unavailable")


def deliver_inline(note_ids: list[int], *, timeout: httpx.Timeout | float | None
                   ) -> dict[int, str]:
    """Try each note once now; finished notes complete their job in the same commit."""
    results: dict[int, str] = {}
    for note_id in note_ids:
        try:
            outcome = attempt_delivery(note_id, timeout=timeout)
            if outcome.finished:
                _complete_job(note_id)
            elif outcome.status == "retry":
                _note_job_failure(note_id, outcome)
            db.session.commit()
            results[note_id] = outcome.status
        except Exception:  # noqa: BLE001  (best effort: the queued job stays for the worker)
            log.exception("note %s: delivery after commit failed; the worker will retry",
                          note_id)
            db.session.rollback()
            results[note_id] = "error"
    return results


def _complete_job(note_id: int) -> None:
    """Mark the note's queued job done (a job a worker is running finishes on its own)."""
    db.session.execute(
        update(Job).where(Job.dedupe_key == job_dedupe_key(note_id), Job.status == "queued")
        .values(status="done", finished_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False))


def _note_job_failure(note_id: int, outcome: Outcome) -> None:
    """Leave the failure on the queued job, and hold it back until Retry-After when given."""
    values: dict[str, object] = {"last_error": outcome.error}
    if outcome.delay is not None:
        values["run_at"] = utcnow() + timedelta(seconds=outcome.delay)
    db.session.execute(
        update(Job).where(Job.dedupe_key == job_dedupe_key(note_id), Job.status == "queued")
        .values(**values).execution_options(synchronize_session=False))
