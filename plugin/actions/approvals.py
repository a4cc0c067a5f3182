"""Approval requests: the queue, approving (which runs the request exactly once) and denying.

An approver needs `can_approve`, a verified identity, a `refund_limit` that covers the
amount, and must not be the requester. The pending → approved transition is a conditional
UPDATE, so of two approvers clicking at once one wins and the other gets 409. The approved
request then runs as the requester asked (the stored body) under the Idempotency-Key
`approval:<id>`, so it runs once however often "approve" is sent; when Shopify fails, the
approval stays `approved` and approving again retries safely.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from plugin.actions import get_action
from plugin.actions.base import agent_label
from plugin.actions.events import Actor, audit, deliver_notes, queue_note
from plugin.actions.execution import Run, execute, order_ids
from plugin.actions.idempotency import RESERVED_KEY_PREFIX, ActionResponse, claim, request_hash
from plugin.exceptions import (
    ActionUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    SidecardError,
    ValidationError,
)
from plugin.extensions import db
from plugin.models.actions import (
    APPROVAL_STATUSES,
    APPROVED,
    DENIED,
    EXECUTION_FAILED,
    EXPIRED,
    PENDING,
    ApprovalRequest,
)
from plugin.models.base import utcnow
from plugin.permissions import (
    IDENTITY_VERIFIED,
    PermissionSet,
    approval_refusal,
    may_use,
    resolve_set,
    shop_permissions,
)

MAX_COMMENT_LENGTH = 1000
MAX_LISTED = 100
EXECUTION_KEY_PREFIX = RESERVED_KEY_PREFIX  # "approval:"; clients may not send such keys


def _viewer(session: Any) -> tuple[Actor, PermissionSet | None]:
    config = shop_permissions(session.shop.id)
    return Actor.from_session(session), resolve_set(config, session.email, session.identity)


def _amount(approval: ApprovalRequest) -> Decimal | None:
    return Decimal(approval.amount) if approval.amount else None


def _who(email: str | None, name: str | None, identity: str | None,
         agent_id: str | None = None) -> dict[str, Any]:
    return {"id": agent_id, "email": email, "name": name, "identity": identity}


def approval_dict(approval: ApprovalRequest, *, viewer: Actor | None = None,
                  permission_set: PermissionSet | None = None) -> dict[str, Any]:
    """An approval request as the API shows it; with a viewer, whether they may approve it."""
    result = approval.result or None
    data: dict[str, Any] = {
        "id": str(approval.id), "status": approval.status, "action": approval.action,
        "order_id": approval.order_id, "order_name": approval.order_name,
        "customer_id": approval.customer_id, "body": approval.body,
        "amount": approval.amount, "currency": approval.currency, "summary": approval.summary,
        "requested_by": _who(approval.requester_email, approval.requester_name,
                             approval.requester_identity, approval.requester_id),
        "connection_id": approval.connection_id, "conversation": approval.conversation,
        "created_at": approval.created_at.isoformat() if approval.created_at else None,
        "expires_at": approval.expires_at.isoformat() if approval.expires_at else None,
        "decided_by": (_who(approval.decided_by_email, approval.decided_by_name,
                            approval.decided_by_identity, approval.decided_by_id)
                       if approval.decided_by_email else None),
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        "comment": approval.comment,
        "result": ({k: result.get(k) for k in ("status", "action_id", "summary", "error",
                                               "message", "errors") if k in result}
                   if isinstance(result, dict) else None),
    }
    if viewer is not None:
        decision = approval_refusal(permission_set, identity=viewer.identity,
                                    approver_email=viewer.email,
                                    requester_email=approval.requester_email,
                                    amount=_amount(approval),
                                    verified_by=getattr(viewer, "verified_by", None))
        open_ = approval.status in (PENDING, APPROVED)
        data["can_approve"] = decision.allowed and open_
        data["can_deny"] = (approval.status == PENDING and permission_set is not None
                            and permission_set.can_approve
                            and viewer.identity == IDENTITY_VERIFIED)
        data["reason"] = None if data["can_approve"] or not open_ else decision.message
    return data


def _load(shop_id: int, approval_id: Any) -> ApprovalRequest:
    """:raises NotFoundError: no such approval request in this shop (404)."""
    text = str(approval_id or "").strip()
    approval = None
    if text.isdigit() and len(text) < 19:
        approval = db.session.execute(
            select(ApprovalRequest).where(ApprovalRequest.id == int(text),
                                          ApprovalRequest.shop_id == shop_id)
            .execution_options(populate_existing=True)).scalar_one_or_none()
    if approval is None:
        raise NotFoundError("No such approval request in this shop.", reason="unknown_approval")
    return approval


def _comment(value: Any) -> str | None:
    """:raises ValidationError: a comment that is not text, or too long (400)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("comment must be text", field="comment")
    value = value.strip()
    if len(value) > MAX_COMMENT_LENGTH:
        raise ValidationError(f"comment is longer than {MAX_COMMENT_LENGTH} characters",
                              field="comment")
    return value or None


def _expire(approval: ApprovalRequest, shop_domain: str) -> None:
    """Mark a pending request past its time `expired` (conditionally) and audit it."""
    if approval.status != PENDING or approval.expires_at > utcnow():
        return
    result = db.session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval.id, ApprovalRequest.status == PENDING)
        .values(status=EXPIRED, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        audit(Actor.requester_of(approval, shop_domain), "approval.expired",
              action=approval.action, order_id=approval.order_id,
              customer_id=approval.customer_id, status=EXPIRED,
              summary=f"Approval request expired: {approval.summary}",
              detail={"approval_id": approval.id})
    db.session.commit()
    db.session.refresh(approval)


def expire_due(shop_id: int, shop_domain: str) -> int:
    """Expire the shop's pending requests past their time; returns how many."""
    due = db.session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.shop_id == shop_id, ApprovalRequest.status == PENDING,
        ApprovalRequest.expires_at <= utcnow())).all()
    for approval in due:
        _expire(approval, shop_domain)
    return len(due)


def _state_error(approval: ApprovalRequest) -> ActionUnavailableError:
    if approval.status == EXPIRED:
        return ActionUnavailableError(
            f"This request expired at {approval.expires_at.isoformat()}; the agent can ask "
            "again.", reason="expired", approval_status=approval.status)
    return ActionUnavailableError(f"This request is already {approval.status}.",
                                  reason=f"already_{approval.status}",
                                  approval_status=approval.status)


def list_approvals(session: Any, *, status: str | None = None,
                   order_id: str | None = None) -> dict[str, Any]:
    """Approvers: the shop's requests (pending unless `status` says otherwise, "all" for
    every state). Other agents: their own requests, every state.

    :raises ValidationError: an unknown status (400).
    """
    viewer, permission_set = _viewer(session)
    if status not in (None, "", "all") and status not in APPROVAL_STATUSES:
        raise ValidationError("status must be one of " + ", ".join(APPROVAL_STATUSES)
                              + " or all", field="status")
    expire_due(session.shop.id, session.shop.domain)
    approver = permission_set is not None and permission_set.can_approve
    query = select(ApprovalRequest).where(ApprovalRequest.shop_id == session.shop.id)
    if approver:
        if status != "all":
            query = query.where(ApprovalRequest.status == (status or PENDING))
    else:
        query = query.where(db.func.lower(ApprovalRequest.requester_email)
                            == session.email.strip().lower())
        if status and status != "all":
            query = query.where(ApprovalRequest.status == status)
    if order_id:
        _, numeric = order_ids(order_id)
        query = query.where(ApprovalRequest.order_id == numeric)
    rows = db.session.scalars(query.order_by(ApprovalRequest.id.desc()).limit(MAX_LISTED)).all()
    return {"approvals": [approval_dict(a, viewer=viewer, permission_set=permission_set)
                          for a in rows],
            "can_approve": approver,
            "identity": session.identity,
            "scope": "shop" if approver else "mine"}


def _refuse(viewer: Actor, approval: ApprovalRequest | None, exc: SidecardError,
            step: str) -> None:
    db.session.rollback()
    audit(viewer, "approval.refused", action=approval.action if approval else None,
          order_id=approval.order_id if approval else None,
          customer_id=approval.customer_id if approval else None, status="refused",
          summary=f"{agent_label(viewer.agent_dict())} could not {step} "
                  + (f"approval request {approval.id}" if approval else "an approval request")
                  + f": {exc.message}",
          detail={"approval_id": approval.id if approval else None,
                  "http_status": exc.http_status, "error": exc.code,
                  "reason": exc.extra.get("reason"), "step": step})
    db.session.commit()


def _decide(approval: ApprovalRequest, viewer: Actor, status: str, comment: str | None) -> bool:
    """pending → `status`, only if still pending and not expired; True when this call won."""
    now = utcnow()
    result = db.session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == approval.id, ApprovalRequest.status == PENDING,
               ApprovalRequest.expires_at > now)
        .values(status=status, decided_by_id=viewer.agent_id, decided_by_email=viewer.email,
                decided_by_name=viewer.name, decided_by_identity=viewer.identity,
                decided_at=now, comment=comment, updated_at=now)
        .execution_options(synchronize_session=False))
    won = result.rowcount == 1
    if not won:
        db.session.rollback()
    return won


def _decision_note(viewer: Actor, approval: ApprovalRequest, verb: str,
                   comment: str | None) -> str:
    requester = agent_label(_who(approval.requester_email, approval.requester_name, None))
    text = (f"{agent_label(viewer.agent_dict())} {verb} the request of {requester}: "
            f"{approval.summary}")
    if comment:
        text += f" — comment: {' '.join(comment.split())}"
    return text


def approve(session: Any, approval_id: Any, comment: Any = None) -> ActionResponse:
    """Approve a pending request and run it (or retry a run Shopify failed).

    Returns the run's answer (200 succeeded, 422/409/400 refused, 502/504 failed), with
    `approval` added.

    :raises NotFoundError: no such request in this shop (404).
    :raises PermissionDeniedError: cannot approve, unverified identity, own request, limit
        below the amount (403).
    :raises ActionUnavailableError: expired or already decided (409).
    """
    viewer, permission_set = _viewer(session)
    shop = session.shop
    approval: ApprovalRequest | None = None
    try:
        approval = _load(shop.id, approval_id)
        comment = _comment(comment)
        decision = approval_refusal(permission_set, identity=viewer.identity,
                                    approver_email=viewer.email,
                                    requester_email=approval.requester_email,
                                    amount=_amount(approval),
                                    verified_by=getattr(viewer, "verified_by", None))
        if not decision.allowed:
            raise PermissionDeniedError(decision.message or "Not permitted.",
                                        reason=decision.reason)
        _check_requester_may_still(approval)
        _expire(approval, shop.domain)
        if approval.status == PENDING:
            if not _decide(approval, viewer, APPROVED, comment):
                db.session.refresh(approval)
                raise _state_error(approval)
            db.session.refresh(approval)
            event = audit(viewer, "approval.approved", action=approval.action,
                          order_id=approval.order_id, customer_id=approval.customer_id,
                          status=APPROVED,
                          summary=_decision_note(viewer, approval, "approved", comment),
                          detail={"approval_id": approval.id, "amount": approval.amount,
                                  "currency": approval.currency, "comment": comment,
                                  "requested_by": _who(approval.requester_email,
                                                       approval.requester_name,
                                                       approval.requester_identity)})
            notes = queue_note(Actor.requester_of(approval, shop.domain),
                               _decision_note(viewer, approval, "approved", comment), event)
            db.session.commit()
            deliver_notes(notes)
        elif approval.status != APPROVED:  # approved: a retry after Shopify failed
            raise _state_error(approval)
        return _run_approved(session, approval, viewer)
    except SidecardError as exc:
        _refuse(viewer, approval, exc, "approve")
        raise


def _check_requester_may_still(approval: ApprovalRequest) -> None:
    """The action runs as its requester: the shop's switches and the requester's set must
    still allow it now, not only when it was asked (sets are read on every request).

    :raises PermissionDeniedError: switched off for the shop, or no longer in the
        requester's set (403, `reason` as for the action itself).
    """
    config = shop_permissions(approval.shop_id)
    requester_set = resolve_set(config, approval.requester_email, approval.requester_identity)
    label = getattr(get_action(approval.action), "label", None) or approval.action
    decision = may_use(config, requester_set, approval.action, label)
    if not decision.allowed:
        who = approval.requester_name or approval.requester_email
        raise PermissionDeniedError(
            f"This request can no longer run as {who} asked it: {decision.message}",
            reason=decision.reason)


def _run_approved(session: Any, approval: ApprovalRequest, viewer: Actor) -> ActionResponse:
    """Run an approved request once, as its requester asked."""
    from plugin.actions.service import order_actions, permissions_for

    shop = session.shop
    requester = Actor.requester_of(approval, shop.domain)
    action = get_action(approval.action)
    gid, numeric = order_ids(approval.order_id)
    try:
        clean = action.validate(approval.body)
    except ValidationError as exc:
        approval.status = EXECUTION_FAILED
        approval.result = exc.to_dict()
        db.session.commit()
        raise
    key = f"{EXECUTION_KEY_PREFIX}{approval.id}"
    record, replay = claim(requester, key,
                           request_hash(action.name, numeric, approval.body, requester.email),
                           action=action.name, order_id=numeric, approval_id=approval.id)
    if replay is not None:
        replay.body = {**replay.body, "approval": approval_dict(approval)}
        return replay
    approval.execution_request_id = record.id
    db.session.commit()
    config, viewer_set = permissions_for(session)

    def present(order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "actions": order_actions(shop, config, viewer_set, order)}

    run = Run(actor=requester, shop=shop, action=action, body=clean, raw_body=approval.body,
              order_gid=gid, order_id=numeric, permission_set=None, present=present,
              approval=approval, approver=viewer)
    response = execute(record, run)
    db.session.refresh(approval)
    response.body = {**response.body, "approval": approval_dict(approval)}
    return response


def deny(session: Any, approval_id: Any, comment: Any = None) -> dict[str, Any]:
    """Deny a pending request (an approver with a verified identity); returns the approval.

    :raises NotFoundError: no such request in this shop (404).
    :raises PermissionDeniedError: cannot approve, or unverified identity (403).
    :raises ActionUnavailableError: expired or already decided (409).
    """
    viewer, permission_set = _viewer(session)
    shop = session.shop
    approval: ApprovalRequest | None = None
    try:
        approval = _load(shop.id, approval_id)
        comment = _comment(comment)
        if permission_set is None or not permission_set.can_approve:
            raise PermissionDeniedError("Your permission set cannot approve or deny requests.",
                                        reason="cannot_approve")
        if viewer.identity != IDENTITY_VERIFIED:
            raise PermissionDeniedError("Denying needs a verified identity; verify who you "
                                        "are first.", reason="unverified_identity")
        _expire(approval, shop.domain)
        if approval.status != PENDING or not _decide(approval, viewer, DENIED, comment):
            db.session.refresh(approval)
            raise _state_error(approval)
    except SidecardError as exc:
        _refuse(viewer, approval, exc, "deny")
        raise
    db.session.refresh(approval)
    text = _decision_note(viewer, approval, "denied", comment)
    event = audit(viewer, "approval.denied", action=approval.action, order_id=approval.order_id,
                  customer_id=approval.customer_id, status=DENIED, summary=text,
                  detail={"approval_id": approval.id, "amount": approval.amount,
                          "currency": approval.currency, "comment": comment,
                          "requested_by": _who(approval.requester_email,
                                               approval.requester_name,
                                               approval.requester_identity)})
    notes = queue_note(Actor.requester_of(approval, shop.domain), text, event)
    db.session.commit()
    deliver_notes(notes)
    return approval_dict(approval, viewer=viewer, permission_set=permission_set)
