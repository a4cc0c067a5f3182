"""The approval queue: `GET /api/v1/approvals`, `POST /api/v1/approvals/{id}/approve|deny`."""

from __future__ import annotations

from flask import Response, jsonify, request

from plugin.actions.service import approve, deny, list_approvals
from plugin.api import bp
from plugin.api.actions import json_body
from plugin.api.auth import current_session, require_session


@bp.get("/approvals")
@require_session
def approvals() -> Response:
    """Approvers: the shop's pending requests (`?status=` another state or `all`); other
    agents: their own requests. `?order_id=` narrows to one order. Each item says whether
    this agent may approve it (`can_approve`, and `reason` when not).

    :raise 400: unknown status or malformed order id.
    :raise 401: no valid session.
    """
    return jsonify(list_approvals(current_session(), status=request.args.get("status"),
                                  order_id=request.args.get("order_id")))


@bp.post("/approvals/<string:approval_id>/approve")
@require_session
def approve_request(approval_id: str) -> Response:
    """Approve `{"comment"}` and run the request once, as its requester asked: the action's
    answer (200 `succeeded` with `summary` and `order`, or its error) with `approval`.

    :raise 400: malformed body or comment.
    :raise 401: no valid session.
    :raise 403: cannot approve, identity not verified, own request, limit below the amount.
    :raise 404: no such request in this shop.
    :raise 409: expired, already decided, or running right now.
    :raise 422/502/504: Shopify refused, failed or timed out (approve again to retry a
        failure).
    """
    body = json_body(empty={})
    outcome = approve(current_session(), approval_id, body.get("comment"))
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    return response


@bp.post("/approvals/<string:approval_id>/deny")
@require_session
def deny_request(approval_id: str) -> Response:
    """Deny `{"comment"}` a pending request; answers the approval.

    :raise 400: malformed body or comment.
    :raise 401: no valid session.
    :raise 403: cannot approve, or identity not verified.
    :raise 404: no such request in this shop.
    :raise 409: expired or already decided.
    """
    body = json_body(empty={})
    return jsonify({"approval": deny(current_session(), approval_id, body.get("comment"))})
