"""Running one claimed action request: fresh order, checks, limit or approval, Shopify, and
the final answer stored on the request together with its audit row and note.

Per action, what a retry with the same Idempotency-Key does after Shopify failed or timed out
mid-action (the row is `failed` with `may_have_applied`):

- the order is re-read and compared with the order as it was before the first attempt
  (`order_snapshot`); when it shows the change was made, the retry reports success without
  sending anything (`recovered_after_uncertain_failure`). The comparison is the action's own
  `already_applied(before, after, body)` when it defines one, else `RECOVERY_RULES`:
  refund — a refund that was not there before; cancel — the order is now cancelled;
  edit_tags — every added tag present and every removed tag absent; edit_note — the note is
  what the edit makes of the note before it (so an append is never appended twice);
- otherwise the request runs again as new. For `refund` that is safe even if the first attempt
  did reach Shopify: `refundCreate` carries the row's `@idempotent` key, so Shopify replays
  the first refund instead of making a second. `update_shipping_address` overwrites the
  address, so sending it twice leaves the same result.

`refund` goes further: it stores the exact RefundInput before sending (`prepare`) and a retry
resends that very input under the same key (`resend`), so Shopify replays or makes it once.
The same request sent under a new key continues an uncertain attempt the same way
(`idempotency.continue_uncertain`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from plugin.actions import followup
from plugin.actions.base import Action, ActionResult, agent_label, money_text, order_label
from plugin.actions.events import Actor, audit, deliver_notes, queue_note
from plugin.actions.idempotency import ActionResponse, canonical_json
from plugin.card_data.present import numeric_id, order_detail_vm, to_gid
from plugin.exceptions import (
    ActionUnavailableError,
    PermissionDeniedError,
    RateLimitedError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyThrottledError,
    ShopifyUserError,
    ShopNotInstalledError,
    SidecardError,
)
from plugin.extensions import db
from plugin.models.actions import (
    APPROVED,
    EXECUTED,
    EXECUTION_FAILED,
    FAILED,
    PENDING,
    PENDING_APPROVAL,
    REFUSED,
    SUCCEEDED,
    ActionRequest,
    ApprovalRequest,
)
from plugin.models.base import utcnow
from plugin.models.shop import Shop
from plugin.permissions import (
    ABOVE_LIMIT,
    PermissionSet,
    money_string,
    within_limit,
)

log = logging.getLogger("sidecard.actions")

DEFAULT_APPROVAL_TTL_SECONDS = 72 * 3600
# Key of `order_snapshot` holding what `prepare` said would be sent (see `execute`).
PREPARED_KEY = "_sidecard_prepared"
# Errors after which the same key may run again: Shopify failed, timed out or throttled.
RETRYABLE_ERRORS = (ShopifyError, ShopNotInstalledError, RateLimitedError)
# Shopify answered these before running anything: the mutation certainly did not happen.
NOT_APPLIED_ERRORS = (ShopifyThrottledError, ShopifyAuthError)


@dataclass
class Run:
    """Everything one execution needs besides its ActionRequest row."""

    actor: Actor  # whose action it is (the requester, for an approved request)
    shop: Shop
    action: Action
    body: dict[str, Any]  # validated
    raw_body: Any  # as sent (stored on approval requests)
    order_gid: str
    order_id: str
    permission_set: PermissionSet | None
    # Presents an order for the answer (adds the caller's `actions` list).
    present: Callable[[dict[str, Any]], dict[str, Any]]
    approval: ApprovalRequest | None = None
    approver: Actor | None = None


def order_ids(order_id: Any) -> tuple[str, str]:
    """(GID, numeric id) of an order id as the API accepts it.

    :raises ValidationError: not a numeric id or an order GID (400).
    """
    gid = to_gid("Order", order_id)
    return gid, numeric_id(gid) or ""


def read_order(client: Any, shop_domain: str, gid: str) -> dict[str, Any]:
    """The order, read fresh from Shopify (never the card's cache).

    :raises NotFoundError: no such order in this shop (404).
    """
    from plugin.exceptions import NotFoundError

    node = client.execute("OrderDetail", {"id": gid}).data.get("order")
    if not node:
        raise NotFoundError("No such order in this shop.", reason="unknown_order")
    return order_detail_vm(node, shop_domain)


def shopify_client(shop: Shop) -> Any:
    """The shop's Shopify client (late import: needs the app)."""
    from plugin.shopify.client import client_for_shop

    return client_for_shop(shop)


def approval_ttl() -> timedelta:
    """How long an approval request waits (APPROVAL_TTL_SECONDS, default 72 hours)."""
    return timedelta(seconds=int(current_app.config.get("APPROVAL_TTL_SECONDS",
                                                        DEFAULT_APPROVAL_TTL_SECONDS)))


# -- recovery after an uncertain failure ------------------------------------------------------


def _refund_recovered(before: Mapping[str, Any], after: Mapping[str, Any],
                      body: Mapping[str, Any]) -> dict[str, Any] | None:
    old = {r.get("id") for r in before.get("refunds") or []}
    new = [r for r in after.get("refunds") or [] if r.get("id") not in old]
    if not new:
        return None
    amount = new[-1].get("amount") or {}
    return {"refund_id": new[-1].get("id"), "amount": amount.get("amount"),
            "currency": amount.get("currency")}


def _cancel_recovered(before: Mapping[str, Any], after: Mapping[str, Any],
                      body: Mapping[str, Any]) -> dict[str, Any] | None:
    if (after.get("status") or {}).get("order") != "cancelled":
        return None
    refunded = Decimal((after.get("total_refunded") or {}).get("amount") or "0") - Decimal(
        (before.get("total_refunded") or {}).get("amount") or "0")
    return {"cancelled": True, "job_pending": False, "refund": bool(refunded > 0),
            "refunded": {"amount": money_string(max(refunded, Decimal("0"))),
                         "currency": after.get("currency")}}


def _tags_recovered(before: Mapping[str, Any], after: Mapping[str, Any],
                    body: Mapping[str, Any]) -> dict[str, Any] | None:
    tags = {str(t).strip().lower() for t in after.get("tags") or []}
    added = [str(t).strip().lower() for t in body.get("add") or []]
    removed = [str(t).strip().lower() for t in body.get("remove") or []]
    if all(t in tags for t in added) and not any(t in tags for t in removed):
        return {"tags": list(after.get("tags") or [])}
    return None


def _note_recovered(before: Mapping[str, Any], after: Mapping[str, Any],
                    body: Mapping[str, Any]) -> dict[str, Any] | None:
    from plugin.actions.note import resulting_note

    # The note is what the edit makes of the note before it (an append is not appended twice).
    expected = resulting_note(before.get("note"), body)
    if (after.get("note") or "") == (expected or ""):
        return {"note": after.get("note")}
    return None


RECOVERY_RULES: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]],
                                   dict[str, Any] | None]] = {
    "refund": _refund_recovered,
    "cancel": _cancel_recovered,
    "edit_tags": _tags_recovered,
    "edit_note": _note_recovered,
}


def already_applied(action: Action, before: Mapping[str, Any], after: Mapping[str, Any],
                    body: Mapping[str, Any]) -> dict[str, Any] | None:
    """Facts of an earlier attempt's change seen on the order, or None when not seen."""
    hook = getattr(action, "already_applied", None)
    if callable(hook):
        found = hook(before, after, body)
    else:
        rule = RECOVERY_RULES.get(action.name)
        found = rule(before, after, body) if rule else None
    if not found:
        return None
    return dict(found) if isinstance(found, Mapping) else {}


# -- the run -----------------------------------------------------------------------------------


def execute(record: ActionRequest, run: Run) -> ActionResponse:
    """Run a claimed request to its final answer (stored on `record`) and return it."""
    stage = "prepare"
    order: dict[str, Any] | None = None
    try:
        client = shopify_client(run.shop)
        order = read_order(client, run.shop.domain, run.order_gid)
        record.customer_id = order.get("customer_id")
        before = record.order_snapshot
        prepared = (before or {}).get(PREPARED_KEY) if isinstance(before, Mapping) else None
        resend = getattr(run.action, "resend", None)
        # may_have_applied on entry: an earlier attempt (of this key, or continued from
        # another key by `idempotency.continue_uncertain`) may have reached Shopify.
        if record.may_have_applied and prepared and callable(resend):
            # The exact request an earlier attempt may have sent, under the same key: Shopify
            # replays it if it was made and makes it once if not. No re-check on purpose —
            # the order may already show this very change (e.g. nothing left to refund).
            stage = "perform"
            result = resend(client, order, run.body, prepared,
                            idempotency_key=record.shopify_key)
            return _succeed(record, run, _order_of(before), result)
        if record.may_have_applied and before:
            found = already_applied(run.action, before, order, run.body)
            if found is not None:
                found["recovered_after_uncertain_failure"] = True
                log.info("action %s on order %s: earlier attempt found applied", run.action.name,
                         run.order_id)
                return _succeed(record, run, _order_of(before),
                                ActionResult(order=order, details=found))
        availability = run.action.availability(order)
        if not availability.available:
            reason = availability.reason or "This action is not available for this order."
            raise ActionUnavailableError(reason, reason=reason)
        run.action.check(order, run.body)
        amount = _amount_to_judge(client, run, order)
        if run.approval is None and amount is not None and run.permission_set is not None \
                and not within_limit(run.permission_set, amount):
            if run.permission_set.request_approval_above_limit:
                return _open_approval(record, run, order, amount)
            limit = money_string(run.permission_set.refund_limit)
            raise PermissionDeniedError(
                f"{money_text(amount, order.get('currency'))} is above your refund limit of "
                f"{money_text(limit, order.get('currency'))}, and your permission set does not "
                "allow asking for approval.", reason=ABOVE_LIMIT, refund_limit=limit,
                amount=money_string(amount))
        if run.approval is not None and amount is not None and run.approval.amount \
                and amount > Decimal(run.approval.amount):
            raise ActionUnavailableError(
                f"The amount is now {money_text(amount, order.get('currency'))}, more than the "
                f"{money_text(run.approval.amount, run.approval.currency)} that was approved; "
                "ask for approval again.", reason="amount_changed",
                amount=money_string(amount), approved_amount=run.approval.amount)
        # From here Shopify may act: remember the order as it was (and, for actions that can
        # say so, the exact request about to be sent), for a safe retry.
        prepare = getattr(run.action, "prepare", None)
        snapshot = dict(order)
        if callable(prepare) and callable(getattr(run.action, "resend", None)):
            snapshot[PREPARED_KEY] = _json_safe(prepare(client, order, run.body))
        stage = "perform"
        record.order_snapshot = snapshot
        record.may_have_applied = True
        db.session.commit()
        result = run.action.perform(client, order, run.body,
                                    idempotency_key=record.shopify_key)
    except ShopifyUserError as exc:
        return _finish_refused(record, run, order, exc, event="action.failed",
                               status="shopify_refused")
    except RETRYABLE_ERRORS as exc:
        uncertain = stage == "perform" and not isinstance(exc, NOT_APPLIED_ERRORS)
        return _finish_failed(record, run, order, exc, uncertain=uncertain)
    except SidecardError as exc:
        return _finish_refused(record, run, order, exc, event="action.refused",
                               status="refused")
    except Exception:
        _mark_crashed(record, uncertain=stage == "perform")
        raise
    return _succeed(record, run, order, result)


def _order_of(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The order as it was before the first attempt (the snapshot without our own keys)."""
    return {k: v for k, v in snapshot.items() if k != PREPARED_KEY}


def _amount_to_judge(client: Any, run: Run, order: dict[str, Any]) -> Decimal | None:
    """The money the action moves, when a limit or an approved amount needs judging.

    Shopify's preview gives the exact figure; it is asked only when something depends on it.
    """
    if not run.action.monetary:
        return None
    needs = run.approval is not None and run.approval.amount is not None
    if run.approval is None and run.permission_set is not None \
            and run.permission_set.refund_limit is not None:
        needs = True
    if not needs:
        return None
    preview = run.action.preview(client, order, run.body)
    return run.action.amount(order, run.body, preview)


def _present_after(client_order: dict[str, Any] | None, run: Run) -> dict[str, Any] | None:
    """The order after the action, re-read when the action did not (None if Shopify fails)."""
    order = client_order
    if order is None:
        try:
            order = read_order(shopify_client(run.shop), run.shop.domain, run.order_gid)
        except (ShopifyError, SidecardError):
            log.warning("order %s could not be re-read after the action", run.order_id)
            return None
    return run.present(order)


def _approved_by(run: Run) -> dict[str, Any] | None:
    return run.approver.agent_dict() if run.approver else None


def _succeed(record: ActionRequest, run: Run, before: dict[str, Any],
             result: ActionResult) -> ActionResponse:
    """Store the success, its audit row, its note and the cache invalidation in one commit."""
    summary = run.action.summary(before, run.body, result, run.actor.agent_dict())
    if run.approver is not None:
        summary += f" (approved by {agent_label(run.approver.agent_dict())})"
    order_after = _present_after(result.order, run)
    body = {"status": "succeeded", "action_id": str(record.id), "action": run.action.name,
            "summary": summary, "order": order_after}
    if run.approval is not None:
        body["approval_id"] = str(run.approval.id)
    record.status, record.response_status, record.response_body = SUCCEEDED, 200, body
    record.may_have_applied = False
    event = audit(run.actor, "action.succeeded", action=run.action.name, order_id=run.order_id,
                  customer_id=record.customer_id, status="succeeded", summary=summary,
                  shopify_request_id=result.shopify_request_id,
                  detail={"action_id": record.id, "details": _json_safe(result.details),
                          "approval_id": run.approval.id if run.approval else None,
                          "approved_by": _approved_by(run), "attempts": record.attempts})
    if run.approval is not None:
        _close_approval(run.approval, EXECUTED, record, body)
    if followup.pending(result.details) and hasattr(run.action, "resume"):
        followup.schedule(record, run.action.name, run.body, _json_safe(result.details),
                          run.shop.domain)
    notes = queue_note(run.actor, summary, event)
    _commit_with_invalidation(run, record.customer_id)
    deliver_notes(notes)
    return ActionResponse(200, body)


def _commit_with_invalidation(run: Run, customer_id: str | None) -> None:
    """Drop the card's cached answers about the order and its customer, and commit."""
    from plugin.card_data import invalidate_order

    invalidate_order(run.shop, run.order_id, customer_id)  # commits the staged rows too
    db.session.commit()


def _finish_refused(record: ActionRequest, run: Run, order: dict[str, Any] | None,
                    exc: SidecardError, *, event: str, status: str) -> ActionResponse:
    """A final 4xx answer (ours or Shopify's userErrors): stored, audited, replayed as is."""
    body = exc.to_dict()
    record.status, record.response_status, record.response_body = REFUSED, exc.http_status, body
    record.may_have_applied = False
    audit(run.actor, event, action=run.action.name, order_id=run.order_id,
          customer_id=record.customer_id, status=status,
          summary=f"{run.action.label or run.action.name} on "
                  f"{order_label(order or {'id': run.order_id})} was refused: {exc.message}",
          shopify_request_id=getattr(exc, "request_id", None),
          detail={"action_id": record.id, "http_status": exc.http_status, "error": exc.code,
                  "reason": exc.extra.get("reason"), "errors": getattr(exc, "errors", None),
                  "approval_id": run.approval.id if run.approval else None,
                  "approved_by": _approved_by(run)})
    if run.approval is not None:
        _close_approval(run.approval, EXECUTION_FAILED, record, body)
    db.session.commit()
    return ActionResponse(exc.http_status, body)


def _finish_failed(record: ActionRequest, run: Run, order: dict[str, Any] | None,
                   exc: SidecardError, *, uncertain: bool) -> ActionResponse:
    """Shopify failed or timed out: stored as `failed`; the same key may try again."""
    body = exc.to_dict()
    body["retry"] = ("Retry with the same Idempotency-Key: Sidecard checks the order first, "
                     "so the action cannot happen twice.")
    record.status, record.response_status, record.response_body = FAILED, exc.http_status, body
    # An earlier attempt's uncertainty stands until a final answer: this one failing before
    # it reached Shopify (an order read, a throttle) says nothing about the earlier one.
    record.may_have_applied = uncertain or bool(record.may_have_applied)
    audit(run.actor, "action.failed", action=run.action.name, order_id=run.order_id,
          customer_id=record.customer_id, status="failed",
          summary=f"{run.action.label or run.action.name} on "
                  f"{order_label(order or {'id': run.order_id})} failed: {exc.message}",
          shopify_request_id=getattr(exc, "request_id", None),
          detail={"action_id": record.id, "http_status": exc.http_status, "error": exc.code,
                  "may_have_applied": record.may_have_applied, "attempts": record.attempts,
                  "approval_id": run.approval.id if run.approval else None})
    if run.approval is not None:
        run.approval.result = body  # stays `approved`: approving again retries
    db.session.commit()
    return ActionResponse(exc.http_status, body)


def _mark_crashed(record: ActionRequest, *, uncertain: bool) -> None:
    """A bug mid-action: leave the row retryable (and say whether Shopify may have acted)."""
    db.session.rollback()
    try:
        record.status = FAILED
        record.may_have_applied = uncertain or record.may_have_applied
        record.response_status = 500
        record.response_body = {"error": "internal_error",
                                "message": "Something went wrong on our side."}
        db.session.commit()
    except Exception:  # noqa: BLE001  (best effort while already failing; the lease frees it)
        db.session.rollback()
        log.exception("could not mark action request %s failed", record.id)


def _close_approval(approval: ApprovalRequest, status: str, record: ActionRequest,
                    body: dict[str, Any]) -> None:
    approval.status = status
    approval.execution_request_id = record.id
    approval.result = body


def _json_safe(value: Any) -> Any:
    """Details as JSON values (Decimals as strings)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


# -- approval requests -------------------------------------------------------------------------


def approval_text(run: Run, order: Mapping[str, Any], amount: Decimal | None) -> str:
    """`Refund of $80.00 USD on order #1004` — what an approval request is for."""
    label = run.action.label or run.action.name
    text = f"{label} of {money_text(amount, order.get('currency'))}" if amount is not None \
        else label
    return f"{text} on {order_label(order)}"


def _open_approval(record: ActionRequest, run: Run, order: dict[str, Any],
                   amount: Decimal) -> ActionResponse:
    """Above the limit with `request_approval_above_limit`: a pending approval, answered 202."""
    now = utcnow()
    what = approval_text(run, order, amount)
    limit = money_string(run.permission_set.refund_limit) if run.permission_set else None
    waiting = _pending_twin(run, now)
    if waiting is not None:
        return _join_approval(record, run, order, waiting, limit)
    approval = ApprovalRequest(
        shop_id=run.shop.id, action=run.action.name, order_id=run.order_id,
        order_name=order.get("name"), customer_id=order.get("customer_id"),
        body=run.raw_body, amount=money_string(amount), currency=order.get("currency"),
        summary=what, requester_id=run.actor.agent_id, requester_email=run.actor.email,
        requester_name=run.actor.name, requester_identity=run.actor.identity,
        connection_id=run.actor.connection_id, conversation=run.actor.conversation,
        status=PENDING, expires_at=now + approval_ttl(), action_request_id=record.id)
    db.session.add(approval)
    db.session.flush()
    body = {"status": "pending_approval", "approval_id": str(approval.id),
            "action": run.action.name, "amount": approval.amount, "currency": approval.currency,
            "refund_limit": limit, "expires_at": approval.expires_at.isoformat(),
            "summary": what,
            "message": f"{money_text(amount, order.get('currency'))} is above your limit of "
                       f"{money_text(limit, order.get('currency'))}: an approver has been "
                       "asked."}
    record.status, record.response_status, record.response_body = PENDING_APPROVAL, 202, body
    record.approval_id = approval.id
    record.may_have_applied = False
    note = (f"{agent_label(run.actor.agent_dict())} asked for approval: {what} "
            f"(above their {money_text(limit, order.get('currency'))} limit)")
    event = audit(run.actor, "approval.requested", action=run.action.name,
                  order_id=run.order_id, customer_id=order.get("customer_id"),
                  status=PENDING, summary=note,
                  detail={"action_id": record.id, "approval_id": approval.id,
                          "amount": approval.amount, "currency": approval.currency,
                          "refund_limit": limit})
    notes = queue_note(run.actor, note, event)
    db.session.commit()
    deliver_notes(notes)
    return ActionResponse(202, body)


def _pending_twin(run: Run, now: Any) -> ApprovalRequest | None:
    """A pending, unexpired approval of the same agent for the same action, order and body.

    The same request sent again under a new key (the card reopened, a bot retrying without
    its key) is the same intent: approving both would act twice.
    """
    candidates = db.session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.shop_id == run.shop.id, ApprovalRequest.action == run.action.name,
        ApprovalRequest.order_id == run.order_id, ApprovalRequest.status == PENDING,
        ApprovalRequest.expires_at > now,
        func.lower(ApprovalRequest.requester_email) == (run.actor.email or "").strip().lower(),
    ).order_by(ApprovalRequest.id)).all()
    wanted = canonical_json(run.raw_body)
    return next((a for a in candidates if canonical_json(a.body) == wanted), None)


def _join_approval(record: ActionRequest, run: Run, order: dict[str, Any],
                   approval: ApprovalRequest, limit: str | None) -> ActionResponse:
    """Answer a repeated request with the approval already waiting (audited, no new note)."""
    body = {"status": "pending_approval", "approval_id": str(approval.id),
            "action": run.action.name, "amount": approval.amount, "currency": approval.currency,
            "refund_limit": limit, "expires_at": approval.expires_at.isoformat(),
            "summary": approval.summary,
            "message": "The same request is already waiting for an approver (request "
                       f"{approval.id}); it will run once when approved."}
    record.status, record.response_status, record.response_body = PENDING_APPROVAL, 202, body
    record.approval_id = approval.id
    record.may_have_applied = False
    audit(run.actor, "approval.requested", action=run.action.name, order_id=run.order_id,
          customer_id=order.get("customer_id"), status=PENDING,
          summary=f"{agent_label(run.actor.agent_dict())} asked again for {approval.summary}; "
                  f"joined the request already waiting ({approval.id})",
          detail={"action_id": record.id, "approval_id": approval.id,
                  "duplicate_of": approval.id, "amount": approval.amount,
                  "currency": approval.currency, "refund_limit": limit})
    db.session.commit()
    return ActionResponse(202, body)


__all__ = ["APPROVED", "Run", "already_applied", "approval_text", "execute", "order_ids",
           "read_order", "shopify_client"]
