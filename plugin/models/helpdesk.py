"""Helpdesk connections (one per helpdesk account and shop) and spent launch-token ids."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, delete
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.crypto import decrypt, encrypt
from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from plugin.models.shop import Shop

CONNECTION_ID_PREFIX = "conn_"
KINDS = ("zendesk", "gorgias", "kustomer", "api")


def new_connection_id() -> str:
    """A fresh public connection id (`conn_` + 20 random url-safe characters)."""
    return CONNECTION_ID_PREFIX + secrets.token_urlsafe(15)


def new_signing_secret() -> str:
    """A fresh launch-token signing secret: 256 random bits, url-safe text."""
    return secrets.token_urlsafe(32)


class HelpdeskConnection(db.Model):
    """A helpdesk account allowed to open a shop's card; its secrets are encrypted at rest."""

    __tablename__ = "helpdesk_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Public id: the launch token's `iss` and the CLI's `connection_id`.
    public_id: Mapped[str] = mapped_column(String(64), unique=True, index=True,
                                           default=new_connection_id)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Zendesk subdomain, Gorgias domain, Kustomer org name, or the bot's owner for `api`.
    account: Mapped[str] = mapped_column(String(255))
    signing_secret_enc: Mapped[str] = mapped_column(Text)
    api_user_enc: Mapped[str | None] = mapped_column(Text)
    api_token_enc: Mapped[str | None] = mapped_column(Text)
    # Origins allowed in the card's `frame-ancestors` (never "*").
    frame_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Zendesk signed URLs (RS256): the app's public key and where it is installed.
    zendesk_public_key: Mapped[str | None] = mapped_column(Text)
    zendesk_app_id: Mapped[str | None] = mapped_column(String(32))
    zendesk_installation_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    shop: Mapped[Shop] = relationship(lazy="joined")

    @property
    def connection_id(self) -> str:
        """The public id, under the contract's name."""
        return self.public_id

    @property
    def is_active(self) -> bool:
        """False once disabled."""
        return self.disabled_at is None

    @property
    def signing_secret(self) -> str:
        """The decrypted launch-token signing secret."""
        return decrypt(self.signing_secret_enc) or ""

    @signing_secret.setter
    def signing_secret(self, value: str) -> None:
        self.signing_secret_enc = encrypt(value)

    @property
    def api_user(self) -> str | None:
        """The decrypted API user (Gorgias user email, legacy Zendesk user), if any."""
        return decrypt(self.api_user_enc)

    @api_user.setter
    def api_user(self, value: str | None) -> None:
        self.api_user_enc = encrypt(value) if value else None

    @property
    def api_token(self) -> str | None:
        """The decrypted API token (OAuth access token or API key), if any."""
        return decrypt(self.api_token_enc)

    @api_token.setter
    def api_token(self, value: str | None) -> None:
        self.api_token_enc = encrypt(value) if value else None

    def __repr__(self) -> str:
        return f"<HelpdeskConnection {self.public_id} {self.kind}:{self.account}>"


class UsedLaunchToken(db.Model):
    """A launch token's `jti`, kept until the token expires so it cannot be used twice."""

    __tablename__ = "used_launch_tokens"
    # The unique pair is the single-use guarantee: a second insert fails in the database,
    # whichever process tries it.
    __table_args__ = (UniqueConstraint("connection_id", "jti"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("helpdesk_connections.id",
                                                          ondelete="CASCADE"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def purge_expired(cls, now: datetime | None = None, *,
                      connection_id: int | None = None) -> int:
        """Delete rows whose token can no longer be presented; returns how many went."""
        stmt = delete(cls).where(cls.expires_at < (now or utcnow()))
        if connection_id is not None:
            stmt = stmt.where(cls.connection_id == connection_id)
        return db.session.execute(stmt).rowcount or 0
