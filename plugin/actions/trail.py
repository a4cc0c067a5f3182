"""Reading the audit trail of actions and approvals (`GET /api/v1/audit`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from plugin.actions.execution import order_ids
from plugin.exceptions import ValidationError
from plugin.extensions import db
from plugin.models.audit import AuditEvent
from plugin.permissions import resolve_set, shop_permissions

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
EVENT_PREFIXES = ("action.", "approval.")
# Detail keys shown through the API (the rest stays in the database for the merchant).
SHOWN_DETAIL = ("action_id", "approval_id", "reason", "error", "http_status", "amount",
                "currency", "refund_limit", "comment", "attempts", "may_have_applied",
                "approved_by", "requested_by", "errors", "step", "duplicate_of")


def _int(value: Any, name: str, *, default: int | None, low: int, high: int) -> int | None:
    if value in (None, ""):
        return default
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}", field=name)
    return int(text)


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """One audit entry as the API shows it."""
    detail = event.detail or {}
    return {
        "id": str(event.id), "event": event.event, "action": event.action,
        "status": event.status, "order_id": event.order_id, "customer_id": event.customer_id,
        "agent": {"email": event.agent_email, "name": event.agent_name,
                  "identity": event.agent_identity},
        "connection_id": event.connection_id, "conversation": event.conversation,
        "summary": event.summary, "shopify_request_id": event.shopify_request_id,
        "created_at": event.created_at.isoformat() if event.created_at else None,
        "detail": {k: detail[k] for k in SHOWN_DETAIL if k in detail},
    }


def audit_entries(session: Any, *, order_id: str | None = None, limit: Any = None,
                  before: Any = None) -> dict[str, Any]:
    """This shop's action and approval events, newest first, `limit` per page; `before`
    (an entry id) pages back. With `order_id`, that order's trail; without, the whole shop's
    for approvers and the agent's own entries for everyone else.

    :raises ValidationError: malformed order id, limit or cursor (400).
    """
    size = _int(limit, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT) or DEFAULT_LIMIT
    cursor = _int(before, "before", default=None, low=1, high=2**62)
    query = select(AuditEvent).where(
        AuditEvent.shop_id == session.shop.id,
        or_(*(AuditEvent.event.startswith(p) for p in EVENT_PREFIXES)))
    scope = "order"
    if order_id not in (None, ""):
        _, numeric = order_ids(order_id)
        query = query.where(AuditEvent.order_id == numeric)
    else:
        permission_set = resolve_set(shop_permissions(session.shop.id), session.email,
                                     session.identity)
        if permission_set is not None and permission_set.can_approve:
            scope = "shop"
        else:
            scope = "mine"
            query = query.where(db.func.lower(AuditEvent.agent_email)
                                == session.email.strip().lower())
    if cursor is not None:
        query = query.where(AuditEvent.id < cursor)
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(size + 1)).all()
    page = rows[:size]
    return {"events": [event_dict(e) for e in page], "scope": scope,
            "next_before": str(page[-1].id) if len(rows) > size else None}
