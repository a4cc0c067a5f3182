"""Launch relays: helpdesks whose iframe cannot hold a launch token get one from here.

- Zendesk: the bundled ZAF page asks Zendesk's proxy to sign a launch token with the
  secure `signing_secret` setting and send it here as `Authorization: Bearer`; the browser
  never sees the secret. We spend that token and hand the page a fresh one-time token
  to POST to the card.
- Kustomer: the card page runs a Kustomer command; Kustomer calls here with the signing
  secret from a `secret` app setting, and we mint a launch token for the agent named in
  the command body.

Both prove "came through this helpdesk", not "this is the agent": identity stays asserted.
"""

from __future__ import annotations

from flask import current_app, jsonify, request

from plugin.api import bp
from plugin.api.auth import bearer_token, current_connection, require_integration
from plugin.api.sessions import json_object
from plugin.exceptions import AuthenticationError, ValidationError
from plugin.helpdesks import get_adapter
from plugin.launch import (
    ClaimError,
    mint_launch_token,
    parse_agent,
    parse_conversation,
    parse_customer,
    verify_launch_token,
)

# One-time tokens handed to a browser only need to survive one form POST.
RELAY_TOKEN_TTL_SECONDS = 120


def _relay_answer(connection, *, agent_id: str, email: str, name: str | None,
                  conversation: str | None, customer: dict[str, str]):
    token = mint_launch_token(connection, agent_id=agent_id, email=email, name=name,
                              conversation=conversation, customer=customer,
                              ttl_seconds=RELAY_TOKEN_TTL_SECONDS)
    card_url = get_adapter(connection.kind).card_url(current_app.config["APP_URL"])
    return jsonify({"launch_token": token, "card_url": card_url,
                    "expires_in": RELAY_TOKEN_TTL_SECONDS})


@bp.post("/zendesk/launch")
def zendesk_launch():
    """Spend a proxy-signed Zendesk launch token; answer a fresh one for the card POST.

    The token comes as `Authorization: Bearer` (Zendesk's `{{jwt.token}}`), or as
    `?token=` / `{"launch_token"}` for proxies that place it there.

    :raise 400: no token in the header or query, and a body that is not a JSON object.
    :raise 401: bad, expired, reused token, or one from a non-Zendesk connection.
    """
    token = bearer_token(request.headers) or request.args.get("token")
    if not token and request.get_data(cache=True).strip():
        token = json_object().get("launch_token")  # 400 for a body that is not an object
    if not isinstance(token, str) or not token:
        raise AuthenticationError("send the launch token as Authorization: Bearer",
                                  reason="missing")
    ctx = verify_launch_token(token, kind="zendesk")
    return _relay_answer(ctx.connection, agent_id=ctx.agent.id, email=ctx.agent.email,
                         name=ctx.agent.name, conversation=ctx.conversation,
                         customer=ctx.customer)


@bp.post("/kustomer/launch")
@require_integration("kustomer")
def kustomer_launch():
    """Mint a launch token for the agent a Kustomer command names.

    Body: `{"agent": {"id", "email", "name"}, "conversation", "customer": {...}}`.

    :raise 400: body not an object or agent fields missing.
    :raise 401: wrong connection or secret.
    """
    body = json_object()
    agent_claims = body.get("agent")
    if not isinstance(agent_claims, dict):
        raise ValidationError("agent {id, email, name} is required", field="agent")
    try:  # the same checks as a launch token's claims; here they are request input
        agent = parse_agent(agent_claims.get("id"), agent_claims.get("email"),
                            agent_claims.get("name"))
        conversation = parse_conversation(body.get("conversation"))
        customer = parse_customer(body.get("customer"))
    except ClaimError as exc:
        raise ValidationError(f"agent or claims: {exc}") from exc
    return _relay_answer(current_connection(), agent_id=agent.id, email=agent.email,
                         name=agent.name, conversation=conversation, customer=customer)
