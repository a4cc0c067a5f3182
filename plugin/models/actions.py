"""Action requests (the idempotency record of every action call) and approval requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.extensions import db
from plugin.models.base import UTCDateTime, utcnow

# ActionRequest.status
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"  # Shopify failed or timed out: a retry with the same key may run again
PENDING_APPROVAL = "pending_approval"
REFUSED = "refused"  # a final 4xx answer (ours or Shopify's userErrors), replayed as is
ACTION_STATUSES = (RUNNING, SUCCEEDED, FAILED, PENDING_APPROVAL, REFUSED)
FINAL_ACTION_STATUSES = frozenset({SUCCEEDED, PENDING_APPROVAL, REFUSED})

# ApprovalRequest.status
PENDING = "pending"
APPROVED = "approved"  # decided; running, or waiting for a retry after Shopify failed
DENIED = "denied"
EXPIRED = "expired"
EXECUTED = "executed"
EXECUTION_FAILED = "failed"
APPROVAL_STATUSES = (PENDING, APPROVED, DENIED, EXPIRED, EXECUTED, EXECUTION_FAILED)


class ActionRequest(db.Model):
    """One `Idempotency-Key` of one shop: the request it stands for and its final answer.

    Exactly-once rests on UNIQUE(shop_id, idempotency_key): the row is inserted and
    committed before Shopify is called, so a concurrent duplicate fails to insert.
    """

    __tablename__ = "action_requests"
    __table_args__ = (UniqueConstraint("shop_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # sha256 of the canonical JSON of (action, order, body, agent): "same request".
    request_hash: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(255))
    agent_email: Mapped[str | None] = mapped_column(String(320))
    agent_name: Mapped[str | None] = mapped_column(String(255))
    agent_identity: Mapped[str | None] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(64))
    conversation: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24), default=RUNNING, index=True)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The key Shopify's `@idempotent` sees: stable across retries of this row, unique per row.
    shopify_key: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # The last attempt failed after the mutation may have reached Shopify.
    may_have_applied: Mapped[bool] = mapped_column(Boolean, default=False)
    # The order as read before the first mutation, so a retry can resend the same request.
    order_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The approval this request created (202) or executes (key "approval:<id>").
    approval_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_final(self) -> bool:
        """True when the stored answer is replayed as is."""
        return self.status in FINAL_ACTION_STATUSES


class ApprovalRequest(db.Model):
    """An action above the requester's limit, waiting for an approver (CONTRACT §5)."""

    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    order_name: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The body as the requester sent it: approval runs exactly this.
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Decimal string in `currency` (never a float).
    amount: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(8))
    summary: Mapped[str | None] = mapped_column(Text)
    requester_id: Mapped[str | None] = mapped_column(String(255))
    requester_email: Mapped[str] = mapped_column(String(320))
    requester_name: Mapped[str | None] = mapped_column(String(255))
    requester_identity: Mapped[str | None] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(64))
    conversation: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    decided_by_id: Mapped[str | None] = mapped_column(String(255))
    decided_by_email: Mapped[str | None] = mapped_column(String(320))
    decided_by_name: Mapped[str | None] = mapped_column(String(255))
    decided_by_identity: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The request that asked (answered 202) and the one that ran it after approval.
    action_request_id: Mapped[int | None] = mapped_column(Integer)
    execution_request_id: Mapped[int | None] = mapped_column(Integer)
    # The execution's outcome: the action's answer body (summary, or Shopify's errors).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
