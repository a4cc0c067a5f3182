"""The action service: preview and run card actions under the shop's permission sets.

Flow of `run_action` (STYLE §3): session → `get_action` → `validate` → permission (switches,
set) → idempotency record (inserted and committed before Shopify) → fresh order →
availability → `check` → limit (approval request above it) → `perform` → the final answer
stored on the record with its audit row, note and cache invalidation in one commit.
Every refusal after authentication is audited too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.actions import all_actions, get_action
from plugin.actions.approvals import approve, deny, list_approvals
from plugin.actions.base import Action
from plugin.actions.events import Actor, audit
from plugin.actions.execution import (
    Run,
    execute,
    order_ids,
    read_order,
    shopify_client,
)
from plugin.actions.idempotency import (
    ActionResponse,
    check_idempotency_key,
    claim,
    continue_uncertain,
    request_hash,
)
from plugin.exceptions import (
    ActionUnavailableError,
    PermissionDeniedError,
    SidecardError,
)
from plugin.extensions import db
from plugin.models.shop import Shop
from plugin.permissions import (
    NOT_ENABLED,
    PermissionSet,
    ShopPermissions,
    limit_note,
    may_use,
    money_string,
    resolve_set,
    shop_permissions,
    summary_dict,
    within_limit,
)

MISSING_SCOPE = "missing_scope"
ORDER_STATE = "order_state"


def permissions_for(session: Any) -> tuple[ShopPermissions, PermissionSet | None]:
    """The shop's configuration and the session agent's set (None: no actions)."""
    config = shop_permissions(session.shop.id)
    return config, resolve_set(config, session.email, session.identity)


def session_permissions(session: Any) -> dict[str, Any]:
    """The session agent's permissions (see `permissions_summary`)."""
    return permissions_summary(session.shop, session.email, session.identity)


def permissions_summary(shop: Shop, email: str, identity: str | None) -> dict[str, Any]:
    """`{set, actions, refund_limit, request_approval_above_limit, can_approve}` for an agent,
    `actions` being the names the agent may use on this shop (switches applied)."""
    config = shop_permissions(shop.id)
    permission_set = resolve_set(config, email, identity)
    summary = summary_dict(permission_set)
    summary["actions"] = [a.name for a in all_actions()
                          if may_use(config, permission_set, a.name).allowed]
    return summary


def _missing_scopes(shop: Shop, action: Action) -> list[str]:
    granted = shop.scope_set
    # write_X implies read_X in Shopify's scopes.
    granted |= {s.replace("write_", "read_", 1) for s in granted if s.startswith("write_")}
    return sorted(set(action.scopes) - granted)


def _permission_check(shop: Shop, config: ShopPermissions, permission_set: PermissionSet | None,
                      action: Action) -> None:
    """Switches, set and granted scopes.

    :raises PermissionDeniedError: not enabled for the shop, or not in the agent's set (403).
    :raises ActionUnavailableError: Sidecard lacks a Shopify scope the action needs (409).
    """
    decision = may_use(config, permission_set, action.name, action.label)
    if not decision.allowed:
        raise PermissionDeniedError(decision.message or "Not permitted.", reason=decision.reason)
    missing = _missing_scopes(shop, action)
    if missing:
        raise ActionUnavailableError(
            f"Sidecard lacks the Shopify permission {', '.join(missing)} this action needs; "
            "ask the shop's admin to open Sidecard in Shopify to grant it.",
            reason=MISSING_SCOPE)


def order_actions(shop: Shop, config: ShopPermissions, permission_set: PermissionSet | None,
                  order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The order's `actions`: each with `available`, and `reason` (and `reason_code`) when not.

    Monetary actions also say what the agent's limit means (`refund_limit`, `above_limit`:
    "approval" or "refused", and `limit_note` for the card).
    """
    entries = []
    for action in all_actions():
        decision = may_use(config, permission_set, action.name, action.label)
        reason, code = None, None
        if not decision.allowed:
            reason, code = decision.message, decision.reason
        elif _missing_scopes(shop, action):
            reason, code = ("Sidecard lacks the Shopify permission this action needs.",
                            MISSING_SCOPE)
        else:
            availability = action.availability(order)
            if not availability.available:
                reason = availability.reason or "Not available for this order."
                code = ORDER_STATE
        entry: dict[str, Any] = {"name": action.name, "label": action.label or action.name,
                                 "available": reason is None, "reason": reason,
                                 "reason_code": code, "monetary": bool(action.monetary)}
        if action.monetary and permission_set is not None and decision.allowed:
            limit = permission_set.refund_limit
            entry["refund_limit"] = money_string(limit)
            entry["above_limit"] = (None if limit is None else
                                    "approval" if permission_set.request_approval_above_limit
                                    else "refused")
            entry["limit_note"] = limit_note(permission_set, order.get("currency"))
        entries.append(entry)
    return entries


def order_actions_for(session: Any, order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `actions` list of `GET /api/v1/orders/{id}` for this session's agent."""
    return actions_for_agent(session.shop, session.email, session.identity, order)


def actions_for_agent(shop: Shop, email: str, identity: str | None,
                      order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The order's `actions` for an agent named by email and identity (e.g. from a launch,
    before any session exists: the card page)."""
    config = shop_permissions(shop.id)
    return order_actions(shop, config, resolve_set(config, email, identity), order)


def with_order_actions(session: Any, order: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a presented order with the agent's `actions`."""
    if order is None:
        return None
    return {**order, "actions": order_actions_for(session, order)}


def _presenter(session: Any, config: ShopPermissions, permission_set: PermissionSet | None):
    def present(order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "actions": order_actions(session.shop, config, permission_set, order)}

    return present


def refuse_request(session: Any, exc: SidecardError, *, action: str | None,
                   order_id: Any) -> None:
    """Audit a refusal of an action call that was never run (e.g. malformed JSON); commits."""
    _refused(Actor.from_session(session), exc,
             action=action[:64] if isinstance(action, str) else None,
             order_id=str(order_id)[:64] if order_id is not None else None)


def _refused(actor: Actor, exc: SidecardError, *, action: str | None,
             order_id: str | None) -> None:
    """Audit a refusal that happened before the idempotency record existed, and commit."""
    db.session.rollback()
    audit(actor, "action.refused", action=action, order_id=order_id, status="refused",
          summary=f"{action or 'An action'} was refused: {exc.message}",
          detail={"http_status": exc.http_status, "error": exc.code,
                  "reason": exc.extra.get("reason")})
    db.session.commit()


def preview_action(session: Any, order_id: str, name: str, body: Any) -> dict[str, Any]:
    """What an action would do, changing nothing: the action's preview plus `amount`,
    `within_limit`, `requires_approval` and `allowed`.

    :raises NotFoundError: unknown action or order (404).
    :raises ValidationError: bad input (400).
    :raises PermissionDeniedError: not enabled / not in the agent's set (403).
    :raises ActionUnavailableError: the order does not allow it now (409).
    :raises ShopifyError: Shopify failed (502/504).
    """
    gid, numeric = order_ids(order_id)
    action = get_action(name)
    clean = action.validate(body)
    config, permission_set = permissions_for(session)
    _permission_check(session.shop, config, permission_set, action)
    client = shopify_client(session.shop)
    order = read_order(client, session.shop.domain, gid)
    availability = action.availability(order)
    if not availability.available:
        reason = availability.reason or "This action is not available for this order."
        raise ActionUnavailableError(reason, reason=reason)
    action.check(order, clean)
    preview = dict(action.preview(client, order, clean) or {})
    amount = action.amount(order, clean, preview) if action.monetary else None
    within = permission_set is None or within_limit(permission_set, amount)
    approval = not within and bool(permission_set and permission_set.request_approval_above_limit)
    preview.update({
        "action": action.name, "order_id": numeric,
        "amount": money_string(amount), "currency": order.get("currency"),
        "within_limit": within, "requires_approval": approval,
        "allowed": within or approval,
        "refund_limit": money_string(permission_set.refund_limit) if permission_set else None,
    })
    if not within:
        preview["limit_note"] = limit_note(permission_set, order.get("currency"))
    return preview


def run_action(session: Any, order_id: str, name: str, body: Any,
               idempotency_key: str | None) -> ActionResponse:
    """Run an action once per Idempotency-Key; returns the answer (or the stored one).

    Refusals before the record exists raise (and are audited): 400 bad key or body, 404
    unknown action, 403 not permitted, 409 same key for another request or still running.
    Everything after is returned as the stored answer: 200 succeeded, 202 pending_approval,
    400/403/404/409 refused, 422 Shopify refused, 502/504 Shopify failed (retryable).
    """
    actor = Actor.from_session(session)
    shop = session.shop
    action_name: str | None = name[:64] if isinstance(name, str) else None
    numeric: str | None = None
    try:
        gid, numeric = order_ids(order_id)
        key = check_idempotency_key(idempotency_key)
        action = get_action(name)
        clean = action.validate(body)
        config, permission_set = permissions_for(session)
        _permission_check(shop, config, permission_set, action)
        record, replay = claim(actor, key, request_hash(action.name, numeric, body, actor.email),
                               action=action.name, order_id=numeric)
    except SidecardError as exc:
        _refused(actor, exc, action=action_name, order_id=numeric or str(order_id)[:64])
        raise
    if replay is not None:
        return replay
    record = continue_uncertain(record)
    run = Run(actor=actor, shop=shop, action=action, body=clean, raw_body=body, order_gid=gid,
              order_id=numeric, permission_set=permission_set,
              present=_presenter(session, config, permission_set))
    return execute(record, run)


__all__ = ["ActionResponse", "NOT_ENABLED", "actions_for_agent", "approve", "deny",
           "list_approvals", "order_actions_for", "permissions_summary", "preview_action",
           "refuse_request", "run_action", "session_permissions", "with_order_actions"]
