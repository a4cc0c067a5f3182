"""Installed shops and their (encrypted) Shopify tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.crypto import decrypt, encrypt
from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow


class Shop(db.Model):
    """A shop that installed Sidecard; tokens are encrypted at rest."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(Text, default="")
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A lease so that one process at a time rotates the refresh token.
    refresh_lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                 onupdate=utcnow)

    @property
    def is_installed(self) -> bool:
        """True while the shop has a usable token and has not uninstalled."""
        return self.access_token_enc is not None and self.uninstalled_at is None

    @property
    def access_token(self) -> str | None:
        """The decrypted access token."""
        return decrypt(self.access_token_enc)

    @property
    def refresh_token(self) -> str | None:
        """The decrypted refresh token."""
        return decrypt(self.refresh_token_enc)

    @property
    def scope_set(self) -> set[str]:
        """Granted scopes as a set."""
        return {s.strip() for s in (self.scopes or "").split(",") if s.strip()}

    def store_tokens(self, *, access_token: str, scopes: str | None,
                     expires_in: int | None, refresh_token: str | None,
                     refresh_token_expires_in: int | None) -> None:
        """Save a new token set (access and rotated refresh token together)."""
        now = utcnow()
        self.access_token_enc = encrypt(access_token)
        self.access_token_expires_at = (now + timedelta(seconds=int(expires_in))
                                        if expires_in else None)
        self.refresh_token_enc = encrypt(refresh_token) if refresh_token else None
        self.refresh_token_expires_at = (
            now + timedelta(seconds=int(refresh_token_expires_in))
            if refresh_token and refresh_token_expires_in else None)
        if scopes is not None:
            self.scopes = scopes
        self.refresh_lock_until = None

    def clear_tokens(self) -> None:
        """Forget every token (uninstall); the shop row and its history stay."""
        self.access_token_enc = None
        self.access_token_expires_at = None
        self.refresh_token_enc = None
        self.refresh_token_expires_at = None
        self.refresh_lock_until = None

    def __repr__(self) -> str:
        return f"<Shop {self.domain}>"


class OAuthState(db.Model):
    """A single-use `state` nonce of the authorization-code grant."""

    __tablename__ = "oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
