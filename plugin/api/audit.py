"""`GET /api/v1/audit`: the audit trail of actions, approvals and their results."""

from __future__ import annotations

from flask import Response, jsonify, request

from plugin.actions.trail import audit_entries
from plugin.api import bp
from plugin.api.auth import current_session, require_session


@bp.get("/audit")
@require_session
def audit() -> Response:
    """This shop's entries newest first (`?order_id=`, `?limit=` up to 200, `?before=` an
    entry id for the next page): agent, identity, connection, conversation, action, status,
    summary, Shopify request id, time.

    :raise 400: malformed order id, limit or cursor.
    :raise 401: no valid session.
    """
    return jsonify(audit_entries(current_session(), order_id=request.args.get("order_id"),
                                 limit=request.args.get("limit"),
                                 before=request.args.get("before")))
