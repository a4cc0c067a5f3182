"""Exactly-once for action calls: the `Idempotency-Key` record, enforced by the database.

A request first inserts its `ActionRequest` (status `running`) and commits, before anything
is sent to Shopify. UNIQUE(shop_id, idempotency_key) makes a concurrent duplicate fail to
insert: it then reads the row and replays the stored answer (same request, finished), answers
409 `in_progress` (same request, still running), or 409 `idempotency_conflict` (another
request under the same key). A row left `failed` by a Shopify failure — or `running` by a
crashed process, after a lease — is taken over by a conditional UPDATE, so a retry runs at
most once at a time.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin.actions.events import Actor
from plugin.exceptions import ActionInProgressError, IdempotencyConflictError, ValidationError
from plugin.extensions import db
from plugin.models.actions import FAILED, REFUSED, RUNNING, ActionRequest
from plugin.models.base import utcnow

# 1–255 visible ASCII characters (no spaces, no control characters).
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
# Keys of this form are the ones approval runs claim (`approvals.EXECUTION_KEY_PREFIX`): a
# client sending one could pre-empt an approval's run (its replay would answer instead).
RESERVED_KEY_PREFIX = "approval:"
DEFAULT_LEASE_SECONDS = 300
# How long an uncertain attempt is continued by the same request sent under a new key.
DEFAULT_UNCERTAIN_WINDOW_SECONDS = 24 * 3600


@dataclass
class ActionResponse:
    """What the API answers: HTTP status, JSON body, and whether it is a stored replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def check_idempotency_key(value: str | None) -> str:
    """The `Idempotency-Key` header value, checked.

    :raises ValidationError: missing, empty, longer than 255, not visible ASCII, or in the
        namespace reserved for approval runs (400).
    """
    if value is None or value == "":
        raise ValidationError("Send an Idempotency-Key header (a unique value per action, "
                              "e.g. a UUID) so that a retry cannot act twice.",
                              reason="missing_idempotency_key")
    if not KEY_RE.match(value):
        raise ValidationError("Idempotency-Key must be 1 to 255 visible ASCII characters.",
                              reason="bad_idempotency_key")
    if value.lower().startswith(RESERVED_KEY_PREFIX):
        raise ValidationError(f"Idempotency-Key must not start with {RESERVED_KEY_PREFIX!r} "
                              "(reserved for approved requests).", reason="bad_idempotency_key")
    return value


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def request_hash(action: str, order_id: str, body: Any, agent_email: str | None) -> str:
    """sha256 of what makes two calls "the same request": action, order, body and agent."""
    text = canonical_json({"action": action, "order_id": order_id, "body": body,
                           "agent": (agent_email or "").strip().lower()})
    return hashlib.sha256(text.encode()).hexdigest()


def lease_seconds() -> int:
    """How long a `running` row is trusted to belong to a live process (ACTION_LEASE_SECONDS)."""
    return int(current_app.config.get("ACTION_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def claim(actor: Actor, key: str, digest: str, *, action: str, order_id: str,
          approval_id: int | None = None) -> tuple[ActionRequest | None, ActionResponse | None]:
    """Insert the key's record and commit, or find the earlier one.

    Returns (record to run, None), or (None, the stored answer to replay).

    :raises IdempotencyConflictError: the key was used for another request (409).
    :raises ActionInProgressError: the same request is running right now (409).
    """
    record = ActionRequest(
        shop_id=actor.shop_id, idempotency_key=key, request_hash=digest, action=action,
        order_id=order_id, agent_id=actor.agent_id, agent_email=actor.email,
        agent_name=actor.name, agent_identity=actor.identity,
        connection_id=actor.connection_id, conversation=actor.conversation,
        status=RUNNING, shopify_key=secrets.token_hex(16), attempts=1,
        approval_id=approval_id)
    db.session.add(record)
    try:
        db.session.commit()
        return record, None
    except IntegrityError:
        db.session.rollback()
    existing = db.session.execute(
        select(ActionRequest).where(ActionRequest.shop_id == actor.shop_id,
                                    ActionRequest.idempotency_key == key)
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if existing is None:  # pragma: no cover - rows are never deleted while shops exist
        raise ActionInProgressError("This Idempotency-Key is being used right now; retry "
                                    "shortly.", reason="in_progress")
    if existing.request_hash != digest:
        raise IdempotencyConflictError(
            "This Idempotency-Key was already used for a different request (another action, "
            "order, body or agent); use a new key for a new action.",
            reason="idempotency_conflict")
    if existing.is_final:
        return None, ActionResponse(existing.response_status or 200,
                                    dict(existing.response_body or {}), replayed=True)
    return take_over(existing), None


def take_over(existing: ActionRequest) -> ActionRequest:
    """Claim a `failed` row (or one `running` past its lease) for a retry.

    :raises ActionInProgressError: another process holds it.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=lease_seconds())
    result = db.session.execute(
        update(ActionRequest)
        .where(ActionRequest.id == existing.id,
               or_(ActionRequest.status == FAILED,
                   and_(ActionRequest.status == RUNNING, ActionRequest.updated_at < cutoff)))
        .values(status=RUNNING, attempts=ActionRequest.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        raise ActionInProgressError("This request is still running; retry shortly with the "
                                    "same Idempotency-Key.", reason="in_progress")
    db.session.refresh(existing)
    return existing


def continue_uncertain(record: ActionRequest) -> ActionRequest:
    """Let a fresh record continue the same request's uncertain attempt under another key.

    The same agent sending the same action, order and body again under a new key after
    Shopify failed mid-action (the card's Back then Confirm, a bot that lost its key) is the
    same intent: the new record takes over the earlier one's Shopify key and order snapshot,
    so it resends or recovers exactly as a retry with the first key would (never a second
    refund). The earlier key then answers 409 `continued_elsewhere`. Committed.
    """
    if record.attempts != 1 or record.may_have_applied:
        return record
    window = int(current_app.config.get("ACTION_UNCERTAIN_WINDOW_SECONDS",
                                        DEFAULT_UNCERTAIN_WINDOW_SECONDS))
    twin = db.session.scalars(
        select(ActionRequest).where(
            ActionRequest.shop_id == record.shop_id,
            ActionRequest.request_hash == record.request_hash,
            ActionRequest.id != record.id, ActionRequest.status == FAILED,
            ActionRequest.may_have_applied.is_(True),
            # An approved request's run is retried by approving again, never continued here.
            ActionRequest.approval_id.is_(None),
            ActionRequest.updated_at >= utcnow() - timedelta(seconds=window))
        .order_by(ActionRequest.id.desc())).first()
    if twin is None:
        return record
    record.shopify_key = twin.shopify_key
    record.order_snapshot = twin.order_snapshot
    record.customer_id = twin.customer_id
    record.may_have_applied = True
    # Retire the earlier key (if nobody is retrying it right now; if they are, both send the
    # same request under the same Shopify key, which Shopify deduplicates).
    db.session.execute(
        update(ActionRequest)
        .where(ActionRequest.id == twin.id, ActionRequest.status == FAILED)
        .values(status=REFUSED, response_status=409, may_have_applied=False,
                response_body={"error": "idempotency_conflict", "reason": "continued_elsewhere",
                               "continued_by": str(record.id),
                               "message": "This request was sent again under another "
                                          "Idempotency-Key and continued there; see the "
                                          "order's audit trail for its outcome."})
        .execution_options(synchronize_session=False))
    db.session.commit()
    return record
