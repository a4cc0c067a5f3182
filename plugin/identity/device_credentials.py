"""Device credentials: a verified agent stays verified on one device for a while.

The credential is `dc_<public_id>.<secret>`, handed to the card once and kept in the card's
own storage (never a cookie). The server keeps the public id, a keyed hash of the secret and
of the device id the card generated, and what it is bound to: connection and agent email.
It verifies a later session only for that same connection, agent and device, until it
expires (DEVICE_CREDENTIAL_TTL_DAYS, 30 by default) or is revoked.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from plugin.exceptions import ValidationError
from plugin.extensions import db
from plugin.identity.keys import (
    DEVICE_CREDENTIAL,
    DEVICE_ID,
    keyed_hash,
    redact_email,
    same_digest,
)
from plugin.models.base import utcnow
from plugin.models.helpdesk import HelpdeskConnection
from plugin.models.identity import DeviceCredential

log = logging.getLogger("sidecard.identity")

PREFIX = "dc_"
DEFAULT_TTL_DAYS = 30
CREDENTIAL_RE = re.compile(
    r"^dc_(?P<public_id>[A-Za-z0-9_-]{16,32})\.(?P<secret>[A-Za-z0-9_-]{32,64})$")
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


class CredentialRefused(Exception):  # noqa: N818  (a result, not a failure of Sidecard)
    """A device credential that does not verify this session; `reason` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class IssuedCredential:
    """A freshly issued credential: the only time its secret exists outside the card."""

    credential: str
    expires_in: int


def ttl() -> timedelta:
    """How long a credential lives (DEVICE_CREDENTIAL_TTL_DAYS, default 30 days)."""
    days = current_app.config.get("DEVICE_CREDENTIAL_TTL_DAYS") or DEFAULT_TTL_DAYS
    return timedelta(days=max(1, int(days)))


def parse_device_id(value: Any) -> str | None:
    """The device id the card generated, or None when absent.

    :raises ValidationError: present but not 8-128 url-safe characters.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not DEVICE_ID_RE.match(value):
        raise ValidationError("device_id must be 8-128 letters, digits, '-' or '_'",
                              field="device_id")
    return value


def _device_hash(device_id: str | None) -> str | None:
    return keyed_hash(DEVICE_ID, device_id) if device_id else None


def _secret_hash(public_id: str, secret: str) -> str:
    return keyed_hash(DEVICE_CREDENTIAL, public_id, secret)


def issue_credential(connection: HelpdeskConnection, *, email: str, agent_id: str,
                     device_id: str | None, verified_by: str,
                     now: datetime | None = None) -> IssuedCredential:
    """Create a credential bound to connection, agent and device; commits."""
    now = now or utcnow()
    public_id, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(32)
    lifetime = ttl()
    db.session.add(DeviceCredential(
        public_id=public_id, secret_hash=_secret_hash(public_id, secret),
        device_hash=_device_hash(device_id), connection_id=connection.id,
        agent_email=email, agent_id=agent_id, verified_by=verified_by[:32], created_at=now,
        expires_at=now + lifetime))
    db.session.commit()
    log.info("device credential issued connection=%s agent=%s id=%s", connection.public_id,
             redact_email(email), public_id)
    return IssuedCredential(credential=f"{PREFIX}{public_id}.{secret}",
                            expires_in=int(lifetime.total_seconds()))


def check_credential(credential: Any, *, connection: HelpdeskConnection, email: str,
                     device_id: str | None, now: datetime | None = None) -> DeviceCredential:
    """The credential's row if it verifies this agent on this connection and device.

    Marks it used (commits).

    :raises CredentialRefused: reason `malformed`, `invalid`, `other_connection`,
        `other_agent`, `other_device`, `revoked` or `expired`.
    """
    now = now or utcnow()
    match = CREDENTIAL_RE.match(credential) if isinstance(credential, str) else None
    if match is None:
        raise _refused(connection, email, "malformed", "the device credential is malformed")
    row = db.session.execute(select(DeviceCredential).where(
        DeviceCredential.public_id == match["public_id"])).scalar_one_or_none()
    if row is None or not same_digest(row.secret_hash,
                                      _secret_hash(match["public_id"], match["secret"])):
        raise _refused(connection, email, "invalid", "the device credential is not valid")
    if row.connection_id != connection.id:
        raise _refused(connection, email, "other_connection",
                       "the device credential belongs to another helpdesk connection")
    if row.agent_email != email:
        raise _refused(connection, email, "other_agent",
                       "the device credential belongs to another agent")
    if row.device_hash is not None or device_id is not None:
        if not same_digest(row.device_hash, _device_hash(device_id)):
            raise _refused(connection, email, "other_device",
                           "the device credential was issued to another device")
    if row.revoked_at is not None:
        raise _refused(connection, email, "revoked", "the device credential was revoked")
    if row.expires_at <= now:
        raise _refused(connection, email, "expired", "the device credential has expired")
    row.last_used_at = now
    db.session.commit()
    log.info("device credential accepted connection=%s agent=%s id=%s",
             connection.public_id, redact_email(email), row.public_id)
    return row


def _refused(connection: HelpdeskConnection, email: str, reason: str,
             message: str) -> CredentialRefused:
    log.info("device credential refused connection=%s agent=%s reason=%s",
             connection.public_id, redact_email(email), reason)
    return CredentialRefused(reason, message)


def revoke(connection: HelpdeskConnection, *, email: str | None = None,
           now: datetime | None = None) -> int:
    """Revoke the connection's live credentials (one agent's with `email`); commits.

    Returns how many were revoked.
    """
    stmt = (update(DeviceCredential)
            .where(DeviceCredential.connection_id == connection.id,
                   DeviceCredential.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
            .execution_options(synchronize_session=False))
    if email is not None:
        stmt = stmt.where(DeviceCredential.agent_email == email.strip().lower())
    count = db.session.execute(stmt).rowcount or 0
    db.session.commit()
    log.info("device credentials revoked connection=%s agent=%s count=%d",
             connection.public_id, redact_email(email) if email else "*", count)
    return count


def apply_to_launch(ctx: Any, credential: Any, device_id: Any) -> tuple[Any, dict[str, Any]]:
    """Verify a launch silently with a device credential, when it belongs to its agent.

    Returns the launch context (identity "verified" when the credential was accepted) and
    a status for the response: `{"accepted": bool, "reason": str | None}`. A credential
    that does not fit leaves the session asserted; it is never an error.
    """
    from dataclasses import replace

    from plugin.launch import IDENTITY_VERIFIED

    if ctx.identity == IDENTITY_VERIFIED:
        return ctx, {"accepted": False, "reason": "already_verified"}
    try:
        check_credential(credential, connection=ctx.connection, email=ctx.agent.email,
                         device_id=parse_device_id(device_id))
    except ValidationError:
        return ctx, {"accepted": False, "reason": "malformed"}
    except CredentialRefused as exc:
        return ctx, {"accepted": False, "reason": exc.reason, "message": exc.message}
    return replace(ctx, identity=IDENTITY_VERIFIED), {"accepted": True, "reason": None}
