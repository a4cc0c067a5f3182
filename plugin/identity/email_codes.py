"""One-time sign-in codes by email: 6 digits, 10 minutes, 5 tries, rate-limited.

Limits (all over a sliding 10-minute window):
- per agent (connection + email): 3 codes sent;
- per connection: 20 codes sent;
- per connection, wrong codes: after 10 failures every further try waits 2^(n-10) seconds
  (capped at 5 minutes) since the last failure, so guessing across many agents slows down.

A code is stored only as a keyed hash; it is never logged. Each agent has one live code (the
newest); a code is spent by its first right answer and locked by its fifth try.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from plugin.exceptions import (
    MailDeliveryError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
    VerificationFailedError,
)
from plugin.extensions import db
from plugin.identity import mailer
from plugin.identity.keys import EMAIL_CODE, keyed_hash, redact_email, same_digest
from plugin.models.base import utcnow
from plugin.models.helpdesk import HelpdeskConnection
from plugin.models.identity import VerificationCode, VerificationFailure

log = logging.getLogger("sidecard.identity")

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
WINDOW = timedelta(minutes=10)
AGENT_SENDS_PER_WINDOW = 3
CONNECTION_SENDS_PER_WINDOW = 20
CONNECTION_FAILURES_BEFORE_SLOWING = 10
MAX_SLOWDOWN_SECONDS = 300
# Codes and failures are only needed for the window; older rows are purged on the way.
KEEP_ROWS = timedelta(days=1)
CODE_RE = re.compile(r"^\d{6}$")

HELPDESK_NAMES = {"zendesk": "Zendesk", "gorgias": "Gorgias", "kustomer": "Kustomer",
                  "api": "your helpdesk"}


@dataclass(frozen=True)
class SentCode:
    """What the API may say about a code it sent (never the code)."""

    expires_in: int
    sent_to: str


def new_code() -> str:
    """Six random digits from `secrets` (leading zeros kept)."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(connection: HelpdeskConnection, email: str, salt: str, code: str) -> str:
    """The stored form of a code: bound to its connection, agent and row salt."""
    return keyed_hash(EMAIL_CODE, salt, connection.public_id, email, code)


def _retry_after(oldest: datetime, now: datetime) -> int:
    """Seconds until a row created at `oldest` leaves the window."""
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))


def _check_send_limits(connection: HelpdeskConnection, email: str, now: datetime) -> None:
    """Refuse a send when the agent or the connection asked too often.

    :raises RateLimitedError: 429 with `reason` and `retry_after` seconds.
    """
    since = now - WINDOW
    agent_sent = db.session.execute(
        select(func.count(), func.min(VerificationCode.created_at)).where(
            VerificationCode.connection_id == connection.id,
            VerificationCode.agent_email == email, VerificationCode.created_at > since)).one()
    if agent_sent[0] >= AGENT_SENDS_PER_WINDOW:
        log.info("code refused connection=%s agent=%s reason=too_many_codes",
                 connection.public_id, redact_email(email))
        raise RateLimitedError("too many codes asked for; wait before asking again",
                               reason="too_many_codes",
                               retry_after=_retry_after(agent_sent[1], now))
    connection_sent = db.session.execute(
        select(func.count(), func.min(VerificationCode.created_at)).where(
            VerificationCode.connection_id == connection.id,
            VerificationCode.created_at > since)).one()
    if connection_sent[0] >= CONNECTION_SENDS_PER_WINDOW:
        log.warning("code refused connection=%s reason=connection_busy", connection.public_id)
        raise RateLimitedError("too many codes sent for this helpdesk; try again shortly",
                               reason="connection_busy",
                               retry_after=_retry_after(connection_sent[1], now))


def _purge(connection: HelpdeskConnection, now: datetime) -> None:
    """Drop the connection's rows no limit needs any more."""
    cutoff = now - KEEP_ROWS
    db.session.execute(delete(VerificationCode).where(
        VerificationCode.connection_id == connection.id, VerificationCode.created_at < cutoff))
    db.session.execute(delete(VerificationFailure).where(
        VerificationFailure.connection_id == connection.id,
        VerificationFailure.created_at < cutoff))


def send_code(connection: HelpdeskConnection, *, email: str, agent_id: str,
              now: datetime | None = None) -> SentCode:
    """Create a code for the agent, mail it to `email`, and commit.

    :raises ServiceUnavailableError: email sign-in is off (no SMTP_URL outside demo mode).
    :raises RateLimitedError: the agent or connection asked too often.
    :raises MailDeliveryError: the mail server refused; no code is kept.
    """
    if not mailer.email_available():
        raise ServiceUnavailableError(
            "sign-in by email is off on this server: the operator has not set SMTP_URL",
            reason="email_disabled")
    now = now or utcnow()
    _purge(connection, now)
    _check_send_limits(connection, email, now)
    code, salt = new_code(), secrets.token_hex(16)
    db.session.add(VerificationCode(
        connection_id=connection.id, agent_email=email, agent_id=agent_id, salt=salt,
        code_hash=code_hash(connection, email, salt, code), created_at=now,
        expires_at=now + CODE_TTL, attempts=0))
    db.session.flush()
    minutes = int(CODE_TTL.total_seconds() // 60)
    try:
        mailer.send_sign_in_code(email, code, minutes=minutes,
                                 where=HELPDESK_NAMES.get(connection.kind, "your helpdesk"))
    except MailDeliveryError:
        db.session.rollback()  # an undelivered code must not count or be guessable
        raise
    db.session.commit()
    return SentCode(expires_in=int(CODE_TTL.total_seconds()), sent_to=mask_email(email))


def mask_email(email: str) -> str:
    """The address as the card may show it to whoever holds the session (`ag***@example.com`)."""
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


def _check_slowing(connection: HelpdeskConnection, now: datetime) -> None:
    """Slow every try on the connection once many codes failed there recently.

    :raises RateLimitedError: 429 `slowed` with `retry_after`.
    """
    failures, last = db.session.execute(
        select(func.count(), func.max(VerificationFailure.created_at)).where(
            VerificationFailure.connection_id == connection.id,
            VerificationFailure.created_at > now - WINDOW)).one()
    if failures < CONNECTION_FAILURES_BEFORE_SLOWING or last is None:
        return
    wait = min(2 ** (failures - CONNECTION_FAILURES_BEFORE_SLOWING), MAX_SLOWDOWN_SECONDS)
    remaining = (last + timedelta(seconds=wait) - now).total_seconds()
    if remaining > 0:
        log.warning("code refused connection=%s reason=slowed failures=%d",
                    connection.public_id, failures)
        raise RateLimitedError("too many wrong codes for this helpdesk; wait and try again",
                               reason="slowed", retry_after=max(1, math.ceil(remaining)))


def _refuse(connection: HelpdeskConnection, email: str, reason: str, message: str,
            **extra: object) -> VerificationFailedError:
    log.info("code refused connection=%s agent=%s reason=%s", connection.public_id,
             redact_email(email), reason)
    return VerificationFailedError(message, reason=reason, **extra)


def _locked(connection: HelpdeskConnection, email: str) -> RateLimitedError:
    log.info("code refused connection=%s agent=%s reason=locked", connection.public_id,
             redact_email(email))
    return RateLimitedError("too many wrong tries: this code is locked; ask for a new one",
                            reason="locked")


def check_code(connection: HelpdeskConnection, *, email: str, code: object,
               now: datetime | None = None) -> VerificationCode:
    """Spend the agent's live code if `code` matches it; commits either way.

    :raises ValidationError: `code` is not 6 digits (no try is counted).
    :raises VerificationFailedError: 400 with reason `no_code`, `expired`, `used` or
        `wrong_code` (with `attempts_left`).
    :raises RateLimitedError: 429 `locked` (5 tries spent) or `slowed` (connection).
    """
    text = code.replace(" ", "").strip() if isinstance(code, str) else None
    if text is None or not CODE_RE.match(text):
        raise ValidationError("code must be the 6 digits from the email", field="code")
    now = now or utcnow()
    _check_slowing(connection, now)
    row = db.session.execute(
        select(VerificationCode).where(VerificationCode.connection_id == connection.id,
                                       VerificationCode.agent_email == email)
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise _refuse(connection, email, "no_code", "no code was sent; ask for one first")
    if row.used_at is not None:
        raise _refuse(connection, email, "used", "this code was already used; ask for a new one")
    if row.expires_at <= now:
        raise _refuse(connection, email, "expired", "this code has expired; ask for a new one")
    if row.attempts >= MAX_ATTEMPTS:
        raise _locked(connection, email)
    # Take one try atomically first, so parallel guesses cannot exceed the limit.
    taken = db.session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.attempts < MAX_ATTEMPTS,
               VerificationCode.used_at.is_(None))
        .values(attempts=VerificationCode.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if taken != 1:
        db.session.refresh(row)
        if row.used_at is not None:
            raise _refuse(connection, email, "used", "this code was already used")
        raise _locked(connection, email)
    db.session.refresh(row)
    if not same_digest(row.code_hash, code_hash(connection, email, row.salt, text)):
        db.session.add(VerificationFailure(connection_id=connection.id, agent_email=email,
                                           created_at=now))
        db.session.commit()
        left = MAX_ATTEMPTS - row.attempts
        if left <= 0:
            raise _locked(connection, email)
        raise _refuse(connection, email, "wrong_code", "that code is not right",
                      attempts_left=left)
    spent = db.session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if spent != 1:
        raise _refuse(connection, email, "used", "this code was already used")
    log.info("code accepted connection=%s agent=%s", connection.public_id, redact_email(email))
    return row
