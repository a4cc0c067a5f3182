"""Per-shop permission configuration (CONTRACT §5), stored as the merchant's JSON document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow


class PermissionConfig(db.Model):
    """A shop's permission sets and action switches, validated before they are stored."""

    __tablename__ = "permission_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer, unique=True, index=True)
    # The normalised §5 document (what `permissions export` prints).
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who or what stored it ("cli", "admin:<user>") — for the audit, never a secret.
    updated_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
