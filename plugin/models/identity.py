"""Agent identity: one-time email codes, failed tries, device credentials, Zendesk sign-ins.

None of these rows holds a secret in the clear: codes, credential secrets, device ids,
OAuth `state` values and one-time results are stored as keyed hashes (see
`plugin/identity/keys.py`), and the PKCE verifier is encrypted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow

CONNECTION_FK = "helpdesk_connections.id"


class VerificationCode(db.Model):
    """A 6-digit sign-in code sent to an agent's email address (only its hash is kept)."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_agent", "connection_id", "agent_email",
                            "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK, ondelete="CASCADE"))
    agent_email: Mapped[str] = mapped_column(String(320))
    agent_id: Mapped[str] = mapped_column(String(255))
    # HMAC-SHA256(key from SECRET_KEY, salt | connection | email | code), hex.
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Tries spent on this code (right or wrong); at the maximum the code is locked.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerificationFailure(db.Model):
    """One wrong code, kept for a while so failed tries can be slowed per connection."""

    __tablename__ = "verification_failures"
    __table_args__ = (Index("ix_verification_failures_connection", "connection_id",
                            "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK, ondelete="CASCADE"))
    agent_email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceCredential(db.Model):
    """Keeps a verified agent verified on one device: `dc_<public_id>.<secret>`."""

    __tablename__ = "device_credentials"
    __table_args__ = (Index("ix_device_credentials_agent", "connection_id", "agent_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # Keyed hash of the device id the card keeps in its storage (None: no device given).
    device_hash: Mapped[str | None] = mapped_column(String(64))
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK, ondelete="CASCADE"))
    agent_email: Mapped[str] = mapped_column(String(320))
    agent_id: Mapped[str] = mapped_column(String(255))
    # How the agent proved who they were when the credential was issued.
    verified_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ZendeskOAuthState(db.Model):
    """One "Sign in with Zendesk" attempt, bound to the session that started it."""

    __tablename__ = "zendesk_oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Keyed hash of the `state` sent through the browser (single use).
    state_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey(CONNECTION_FK, ondelete="CASCADE"),
                                               index=True)
    agent_email: Mapped[str] = mapped_column(String(320))
    agent_id: Mapped[str] = mapped_column(String(255))
    # The `jti` of the session that started the sign-in: only it may redeem the result.
    session_jti: Mapped[str] = mapped_column(String(255))
    code_verifier_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when Zendesk's redirect arrived (the state is spent whatever the outcome).
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when users/me matched the agent; then `result_hash` is the one-time result.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    zendesk_user_id: Mapped[str | None] = mapped_column(String(32))
    # Why the sign-in was refused (a reason code, never a token).
    failure: Mapped[str | None] = mapped_column(String(64))
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
