"""Bearer authentication for the API: agent sessions and server-to-server helpdesk calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from plugin.exceptions import AuthenticationError, PermissionDeniedError
from plugin.helpdesks.base import CONNECTION_HEADER
from plugin.launch import authenticate_connection_secret
from plugin.models.helpdesk import HelpdeskConnection
from plugin.sessions import AgentSession, decode_session

F = TypeVar("F", bound=Callable[..., Any])


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_session(view: F) -> F:
    """Decorator: the request needs a valid session token; puts it in `g.agent_session`.

    :raise 401: missing, bad or expired session token, or connection/shop no longer usable.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token(request.headers)
        if token is None:
            raise AuthenticationError("send the session token as Authorization: Bearer",
                                      reason="missing")
        g.agent_session = decode_session(token)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def current_session() -> AgentSession:
    """The session `require_session` loaded for this request.

    :raises AuthenticationError: the view is not behind `require_session`.
    """
    session = g.get("agent_session")
    if session is None:
        raise AuthenticationError("this request has no agent session", reason="missing")
    return session


def require_same_shop(shop_domain: str) -> AgentSession:
    """Refuse a session that acts on another shop's resources; returns the session.

    :raise 403: the session belongs to another shop.
    """
    session = current_session()
    if (shop_domain or "").strip().lower() != session.shop_domain:
        raise PermissionDeniedError("this session belongs to another shop",
                                    reason="other_shop")
    return session


def require_integration(kind: str) -> Callable[[F], F]:
    """Decorator for helpdesk servers calling Sidecard (Gorgias integration, Kustomer command).

    The call names its connection in `X-Sidecard-Connection` (or `?connection=`) and sends
    the connection's signing secret as `Authorization: Bearer`. Puts the connection in
    `g.helpdesk_connection`.

    :raise 401: unknown connection, wrong kind or secret, disabled connection or shop.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            public_id = request.headers.get(CONNECTION_HEADER) or request.args.get("connection")
            connection = authenticate_connection_secret(
                public_id, bearer_token(request.headers), kind=kind)
            g.helpdesk_connection = connection
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def current_connection() -> HelpdeskConnection:
    """The connection `require_integration` authenticated for this request.

    :raises AuthenticationError: the view is not behind `require_integration`.
    """
    connection = g.get("helpdesk_connection")
    if connection is None:
        raise AuthenticationError("this request has no helpdesk connection", reason="missing")
    return connection
