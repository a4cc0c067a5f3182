"""POST /api/v1/sessions: trade a launch token for a session token."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from plugin.api import bp
from plugin.exceptions import ValidationError
from plugin.identity.device_credentials import apply_to_launch
from plugin.launch import verify_launch_token
from plugin.sessions import issue_session


def json_object() -> dict[str, Any]:
    """The request body as a JSON object.

    :raises ValidationError: the body is not JSON, or not an object.
    """
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


def session_permissions(ctx: Any) -> dict[str, Any]:
    """The agent's resolved permission set (CONTRACT §5): `{set, actions, refund_limit,
    request_approval_above_limit, can_approve}`, `actions` with the shop's switches applied."""
    from plugin.actions.service import permissions_summary

    return permissions_summary(ctx.shop, ctx.agent.email, ctx.identity)


@bp.post("/sessions")
def create_session():
    """Verify `launch_token` and answer 201 with a session token for the card or bot.

    With `device_credential` (and the card's `device_id`), the session is verified silently
    when the credential belongs to this connection and agent; otherwise it stays asserted and
    `device_credential_status` says why.

    :raise 400: the body is not a JSON object or lacks `launch_token`.
    :raise 401: the launch token is bad, expired, reused or mis-addressed.
    """
    body = json_object()
    launch_token = body.get("launch_token")
    if not isinstance(launch_token, str) or not launch_token.strip():
        raise ValidationError("launch_token is required", field="launch_token")
    ctx = verify_launch_token(launch_token.strip())
    credential_status = None
    if body.get("device_credential") is not None:  # stays asserted unless it fits
        ctx, credential_status = apply_to_launch(ctx, body["device_credential"],
                                                 body.get("device_id"))
    token, expires_in = issue_session(
        ctx, verified_by="device_credential" if credential_status
        and credential_status["accepted"] else None)
    response = jsonify({
        "token": token,
        "expires_in": expires_in,
        "agent": {"id": ctx.agent.id, "email": ctx.agent.email, "name": ctx.agent.name,
                  "identity": ctx.identity},
        "shop": {"domain": ctx.shop.domain},
        "connection": {"id": ctx.connection.public_id, "kind": ctx.connection.kind},
        "conversation": ctx.conversation,
        "customer": ctx.customer,
        "permissions": session_permissions(ctx),
        **({"device_credential_status": credential_status} if credential_status else {}),
    })
    response.status_code = 201
    return response
