"""Cached Shopify answers for the card, per shop and customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow


class CustomerCache(db.Model):
    """One cached card answer; invalidated by orders/updated and by our own actions."""

    __tablename__ = "customer_cache"
    __table_args__ = (UniqueConstraint("shop_id", "cache_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer, index=True)
    cache_key: Mapped[str] = mapped_column(String(255))
    # Shopify customer id (numeric) the entry is about, for invalidation and redaction.
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
