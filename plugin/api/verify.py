"""`/api/v1/sessions/verify`: turn an asserted session into a verified one.

Methods (body `{"method": ...}`, with the session as `Authorization: Bearer`):

- `email`: 202, a one-time code went to the session agent's email; then
  `{"method": "email", "code": "123456"}` → 200 with a verified session and a device
  credential (400 wrong/expired/used code, 429 locked or asked too often).
- `zendesk`: 202 `{"authorize_url", "state"}` to open in a popup; then
  `{"method": "zendesk", "result": R}` (R from the popup; or `"state"`) → 200 as above.
- `device`: `{"method": "device", "device_credential": C, "device_id": D}` → 200 with a
  verified session when C belongs to this connection, agent and device (400 otherwise).

`GET` says who the session is and which methods this server offers.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, url_for

from plugin.api import bp
from plugin.api.auth import current_session, require_session
from plugin.api.sessions import json_object
from plugin.errors import error_response
from plugin.exceptions import RateLimitedError, ValidationError, VerificationFailedError
from plugin.extensions import db
from plugin.identity import device_credentials, email_codes, mailer, zendesk_oauth
from plugin.launch import IDENTITY_VERIFIED
from plugin.models.audit import AuditEvent
from plugin.sessions import AgentSession, reissue_session

METHODS = ("email", "zendesk", "device")


def _methods(session: AgentSession) -> dict[str, bool]:
    return {"email": mailer.email_available(),
            "zendesk": zendesk_oauth.available(session.connection),
            "device": True}


@bp.get("/sessions/verify")
@require_session
def verification_status():
    """Who the session's agent is, how verified, and which ways to verify are on."""
    session = current_session()
    return jsonify({"agent": session.agent_dict(), "verified_by": session.verified_by,
                    "connection": {"id": session.connection_id, "kind": session.kind},
                    "methods": _methods(session),
                    "demo": bool(current_app.config.get("DEMO_MODE"))})


@bp.post("/sessions/verify")
@require_session
def verify_session():
    """Start or finish verifying the session's agent (see the module doc).

    :raise 400: unknown method, bad input, or a proof that does not verify.
    :raise 429: code locked, or codes asked for / tried too often (`Retry-After`).
    :raise 502: the mail server refused. :raise 503: the method is off on this server.
    """
    session = current_session()
    body = json_object()
    method = body.get("method")
    if method not in METHODS:
        raise ValidationError("method must be one of: " + ", ".join(METHODS), field="method")
    try:
        if method == "email":
            return _email(session, body)
        if method == "zendesk":
            return _zendesk(session, body)
        return _device(session, body)
    except RateLimitedError as exc:
        return _rate_limited(exc)


def _email(session: AgentSession, body: dict[str, Any]) -> Response:
    if "code" not in body:
        sent = email_codes.send_code(session.connection, email=session.email,
                                     agent_id=session.agent_id)
        answer: dict[str, Any] = {"status": "sent", "sent_to": sent.sent_to,
                                  "expires_in": sent.expires_in}
        if current_app.config.get("DEMO_MODE") and not current_app.config.get("SMTP_URL"):
            answer["demo_outbox"] = url_for("identity.demo_outbox_page")
        response = jsonify(answer)
        response.status_code = 202
        return response
    device_id = device_credentials.parse_device_id(body.get("device_id"))
    email_codes.check_code(session.connection, email=session.email, code=body.get("code"))
    return _verified(session, "email_code", device_id)


def _zendesk(session: AgentSession, body: dict[str, Any]) -> Response:
    if "result" not in body and "state" not in body:
        started = zendesk_oauth.start_sign_in(session)
        response = jsonify({"status": "started", "authorize_url": started.authorize_url,
                            "state": started.state, "expires_in": started.expires_in})
        response.status_code = 202
        return response
    device_id = device_credentials.parse_device_id(body.get("device_id"))
    zendesk_oauth.redeem(session, result=body.get("result"), state=body.get("state"))
    return _verified(session, "zendesk_oauth", device_id)


def _device(session: AgentSession, body: dict[str, Any]) -> Response:
    device_id = device_credentials.parse_device_id(body.get("device_id"))
    try:
        device_credentials.check_credential(body.get("device_credential"),
                                            connection=session.connection,
                                            email=session.email, device_id=device_id)
    except device_credentials.CredentialRefused as exc:
        raise VerificationFailedError(exc.message, reason=exc.reason) from exc
    token, expires_in = reissue_session(session, identity=IDENTITY_VERIFIED,
                                        verified_by="device_credential")
    return jsonify({"token": token, "expires_in": expires_in,
                    "agent": {**session.agent_dict(), "identity": IDENTITY_VERIFIED},
                    "verified_by": "device_credential",
                    "permissions": _verified_permissions(session)})


def _verified(session: AgentSession, verified_by: str, device_id: str | None) -> Response:
    """A verified session for the agent, a device credential, and an audit line."""
    token, expires_in = reissue_session(session, identity=IDENTITY_VERIFIED,
                                        verified_by=verified_by)
    issued = device_credentials.issue_credential(
        session.connection, email=session.email, agent_id=session.agent_id,
        device_id=device_id, verified_by=verified_by)
    db.session.add(AuditEvent(
        shop_id=session.shop.id, event="identity.verified", agent_email=session.email,
        agent_name=session.name, agent_identity=IDENTITY_VERIFIED,
        connection_id=session.connection_id, conversation=session.conversation,
        status=verified_by,
        summary=f"{session.name or session.email} verified by {verified_by.replace('_', ' ')}",
        detail={"method": verified_by, "device_bound": device_id is not None}))
    db.session.commit()
    return jsonify({"token": token, "expires_in": expires_in,
                    "agent": {**session.agent_dict(), "identity": IDENTITY_VERIFIED},
                    "verified_by": verified_by,
                    "device_credential": issued.credential,
                    "device_credential_expires_in": issued.expires_in,
                    "permissions": _verified_permissions(session)})


def _verified_permissions(session: AgentSession) -> dict[str, Any]:
    """The agent's permissions once verified: sets requiring a verified identity now match."""
    from plugin.actions.service import permissions_summary

    return permissions_summary(session.shop, session.email, IDENTITY_VERIFIED)


def _rate_limited(exc: RateLimitedError) -> Response:
    """The 429 body, plus `Retry-After` when the limit says when to come back."""
    response = error_response(exc.http_status, exc.code, exc.message, **exc.extra)
    retry_after = exc.extra.get("retry_after")
    if retry_after:
        response.headers["Retry-After"] = str(int(retry_after))
    return response
