"""Sidecard session tokens: the card's and bots' bearer credential after a verified launch.

A session token is a JWT (HS256) signed with a key derived from SECRET_KEY by HKDF for
this purpose only, so it never shares a key with Shopify or with other Sidecard tokens.
It is held in the card's JavaScript memory (no cookie) and sent as `Authorization: Bearer`.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from plugin.exceptions import AuthenticationError
from plugin.launch import (
    CUSTOMER_FIELDS,
    IDENTITY_ASSERTED,
    IDENTITY_VERIFIED,
    LaunchContext,
    ensure_usable,
    find_connection,
)
from plugin.models.helpdesk import HelpdeskConnection
from plugin.models.shop import Shop

log = logging.getLogger("sidecard.sessions")

SESSION_AUDIENCE = "sidecard-session"
SESSION_ALGORITHM = "HS256"
SESSION_KEY_INFO = b"sidecard session v1"
DEFAULT_SESSION_TTL_SECONDS = 15 * 60
SESSION_LEEWAY_SECONDS = 5
REQUIRED_SESSION_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti", "shop", "connection",
                           "email", "identity"]
IDENTITIES = (IDENTITY_ASSERTED, IDENTITY_VERIFIED)


@dataclass(frozen=True)
class AgentSession:
    """A decoded, still-valid session: the agent, their shop and connection."""

    agent_id: str
    email: str
    name: str | None
    identity: str
    shop_domain: str
    connection_id: str
    kind: str
    conversation: str | None
    customer: dict[str, str]
    jti: str
    issued_at: datetime
    expires_at: datetime
    # Rows loaded while checking the session (not part of the token).
    connection: HelpdeskConnection = field(repr=False, compare=False)
    shop: Shop = field(repr=False, compare=False)
    # How a verified identity was established ("zendesk_signed_url", "email_code",
    # "zendesk_oauth", "device_credential", "gorgias_integration"); None when asserted.
    verified_by: str | None = None

    @property
    def is_verified(self) -> bool:
        """True when the agent's identity was established by a signal they cannot forge."""
        return self.identity == IDENTITY_VERIFIED

    def agent_dict(self) -> dict[str, Any]:
        """The contract's `agent` object: id, email, name, identity."""
        return {"id": self.agent_id, "email": self.email, "name": self.name,
                "identity": self.identity}


def session_key() -> bytes:
    """The session-signing key: HKDF-SHA256(SECRET_KEY, info="sidecard session v1")."""
    secret = current_app.config["SECRET_KEY"]
    cached = current_app.extensions.get("sidecard_session_key")
    if cached is not None and cached[0] == secret:
        return cached[1]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=SESSION_KEY_INFO).derive(str(secret).encode())
    current_app.extensions["sidecard_session_key"] = (secret, key)
    return key


def session_ttl() -> int:
    """Session lifetime in seconds (SESSION_TTL_SECONDS, default 15 minutes)."""
    return int(current_app.config.get("SESSION_TTL_SECONDS") or DEFAULT_SESSION_TTL_SECONDS)


def _issuer() -> str:
    return str(current_app.config["APP_URL"]).rstrip("/")


def _sign_session(*, agent_id: str, email: str, name: str | None, identity: str,
                  verified_by: str | None, shop_domain: str, connection: HelpdeskConnection,
                  conversation: str | None, customer: dict[str, str]) -> tuple[str, int]:
    """Sign the session claims with a fresh `jti` and lifetime; returns (token, ttl)."""
    if identity not in IDENTITIES:
        raise ValueError(f"unknown identity {identity!r}")
    ttl = session_ttl()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": _issuer(), "aud": SESSION_AUDIENCE, "sub": agent_id,
        "iat": now, "exp": now + ttl, "jti": secrets.token_urlsafe(16),
        "shop": shop_domain, "connection": connection.public_id,
        "kind": connection.kind, "email": email, "name": name,
        "identity": identity, "conversation": conversation,
        "customer": dict(customer),
        "verified_by": verified_by if identity == IDENTITY_VERIFIED else None,
    }
    token = jwt.encode(claims, session_key(), algorithm=SESSION_ALGORITHM)
    log.info("session issued connection=%s identity=%s verified_by=%s", connection.public_id,
             identity, claims["verified_by"] or "-")
    return token, ttl


def issue_session(ctx: LaunchContext, *, verified_by: str | None = None) -> tuple[str, int]:
    """Sign a session token for a verified launch; returns (token, expires_in seconds).

    The identity is the launch's; `verified_by` names how it was verified (by default the
    launch's own source, e.g. "zendesk_signed_url").
    """
    if ctx.identity == IDENTITY_VERIFIED and verified_by is None:
        verified_by = ctx.source
    return _sign_session(agent_id=ctx.agent.id, email=ctx.agent.email, name=ctx.agent.name,
                         identity=ctx.identity, verified_by=verified_by,
                         shop_domain=ctx.shop.domain, connection=ctx.connection,
                         conversation=ctx.conversation, customer=ctx.customer)


def reissue_session(session: AgentSession, *, identity: str,
                    verified_by: str | None = None) -> tuple[str, int]:
    """A new session token for the same agent, shop, connection and conversation.

    Used once the agent proved who they are (email code, Zendesk sign-in, device
    credential): the new token carries `identity` and `verified_by`, with a fresh lifetime.
    """
    return _sign_session(agent_id=session.agent_id, email=session.email, name=session.name,
                         identity=identity, verified_by=verified_by,
                         shop_domain=session.shop_domain, connection=session.connection,
                         conversation=session.conversation, customer=session.customer)


def _refuse(reason: str, message: str) -> AuthenticationError:
    log.info("session refused reason=%s", reason)
    return AuthenticationError(message, reason=reason)


def decode_session(token: str) -> AgentSession:
    """Verify a session token and load its connection and shop.

    :raises AuthenticationError: bad, expired or foreign token, disabled connection, or a
        connection that no longer belongs to the token's shop.
    :raises ShopNotInstalledError: the shop uninstalled Sidecard.
    """
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise _refuse("malformed", "session token is missing or malformed")
    try:
        claims = jwt.decode(token, session_key(), algorithms=[SESSION_ALGORITHM],
                            audience=SESSION_AUDIENCE, issuer=_issuer(),
                            leeway=SESSION_LEEWAY_SECONDS,
                            options={"require": REQUIRED_SESSION_CLAIMS, "strict_aud": True})
    except jwt.ExpiredSignatureError as exc:
        raise _refuse("expired", "session has expired; reopen the card") from exc
    except jwt.PyJWTError as exc:
        raise _refuse("invalid", "session token is invalid") from exc
    strings = ("sub", "shop", "connection", "email", "identity", "jti")
    if (not all(isinstance(claims.get(k), str) and claims[k] for k in strings)
            or claims["identity"] not in IDENTITIES):
        raise _refuse("invalid", "session token is invalid")
    connection = find_connection(claims["connection"])
    if connection is None:
        raise _refuse("unknown_connection", "session's helpdesk connection no longer exists")
    shop = ensure_usable(connection)
    if shop.domain != claims["shop"]:
        raise _refuse("shop_mismatch", "session does not belong to this connection's shop")
    customer = claims.get("customer") if isinstance(claims.get("customer"), dict) else {}
    return AgentSession(
        agent_id=claims["sub"], email=claims["email"],
        name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        identity=claims["identity"], shop_domain=claims["shop"],
        connection_id=claims["connection"], kind=connection.kind,
        conversation=(claims.get("conversation")
                      if isinstance(claims.get("conversation"), str) else None),
        customer={k: v for k, v in customer.items()
                  if k in CUSTOMER_FIELDS and isinstance(v, str)},
        jti=claims["jti"],
        issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
        expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
        connection=connection, shop=shop,
        verified_by=(claims.get("verified_by")
                     if claims["identity"] == IDENTITY_VERIFIED
                     and isinstance(claims.get("verified_by"), str) else None))
