"""Sign in with Zendesk: OAuth (authorization code + PKCE) in a popup, then `users/me`.

1. The card (holding an asserted session) asks to start: we store a single-use `state`
   bound to that session (connection, agent, session `jti`) with a PKCE verifier, and answer
   Zendesk's authorize URL on the connection's account.
2. Zendesk redirects the popup to `/identity/zendesk/callback` with `code` and `state`. We
   spend the state, exchange the code at `{ZENDESK_API_URL}/oauth/tokens`, read
   `GET /api/v2/users/me`, and accept only an active agent or admin of the connection's
   account whose email is the session agent's. The access token is revoked at once: we only
   needed to learn who signed in.
3. The popup hands the card a one-time result (`postMessage`); the card redeems it with the
   same session for a verified one.

HTTP to Zendesk goes through httpx with explicit timeouts; base URLs come from
ZENDESK_API_URL (`{account}` = the connection's subdomain), so tests serve a stand-in.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from flask import current_app
from sqlalchemy import delete, select, update

from plugin.crypto import decrypt, encrypt
from plugin.exceptions import (
    ServiceUnavailableError,
    ValidationError,
    VerificationFailedError,
)
from plugin.extensions import db
from plugin.identity.keys import ZENDESK_STATE, keyed_hash, redact_email
from plugin.models.base import utcnow
from plugin.models.helpdesk import HelpdeskConnection
from plugin.models.identity import ZendeskOAuthState
from plugin.sessions import AgentSession

log = logging.getLogger("sidecard.identity")

STATE_TTL = timedelta(minutes=10)
# The popup's result must be redeemed soon after the callback.
RESULT_TTL = timedelta(minutes=5)
# users/me is all we read; the token is revoked right after.
SCOPE = "users:read"
CALLBACK_PATH = "/identity/zendesk/callback"
AGENT_ROLES = frozenset({"agent", "admin"})
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass(frozen=True)
class StartedSignIn:
    """Where to send the popup, and the state the card may use to ask for the result."""

    authorize_url: str
    state: str
    expires_in: int


@dataclass(frozen=True)
class CallbackOutcome:
    """What the popup page tells the card: a one-time result, or why the sign-in failed."""

    ok: bool
    result: str | None = None
    reason: str | None = None
    message: str | None = None


def client_credentials() -> tuple[str, str] | None:
    """(client id, client secret) of the Zendesk OAuth client, or None when unset."""
    client_id = current_app.config.get("ZENDESK_OAUTH_CLIENT_ID")
    client_secret = current_app.config.get("ZENDESK_OAUTH_CLIENT_SECRET")
    if not client_id or not client_secret:
        return None
    return str(client_id), str(client_secret)


def available(connection: HelpdeskConnection) -> bool:
    """True when "Sign in with Zendesk" can run for this connection."""
    return connection.kind == "zendesk" and client_credentials() is not None


def zendesk_base(account: str) -> str:
    """The Zendesk base URL of an account, from ZENDESK_API_URL (no trailing slash)."""
    template = str(current_app.config.get("ZENDESK_API_URL") or "https://{account}.zendesk.com")
    return template.replace("{account}", account).rstrip("/")


def redirect_uri() -> str:
    """The callback registered in the Zendesk OAuth client's redirect URLs."""
    return str(current_app.config["APP_URL"]).rstrip("/") + CALLBACK_PATH


def _state_hash(state: str) -> str:
    return keyed_hash(ZENDESK_STATE, "state", state)


def _result_hash(result: str) -> str:
    return keyed_hash(ZENDESK_STATE, "result", result)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def start_sign_in(session: AgentSession, *, now: datetime | None = None) -> StartedSignIn:
    """Store a state bound to the session and build Zendesk's authorize URL; commits.

    :raises ServiceUnavailableError: not a Zendesk connection, or no OAuth client configured.
    """
    connection = session.connection
    credentials = client_credentials()
    if connection.kind != "zendesk":
        raise ServiceUnavailableError("Sign in with Zendesk is only for Zendesk connections",
                                      reason="not_zendesk")
    if credentials is None:
        raise ServiceUnavailableError(
            "Sign in with Zendesk is off on this server: the operator has not set "
            "ZENDESK_OAUTH_CLIENT_ID and ZENDESK_OAUTH_CLIENT_SECRET", reason="zendesk_disabled")
    now = now or utcnow()
    db.session.execute(delete(ZendeskOAuthState).where(
        ZendeskOAuthState.connection_id == connection.id,
        ZendeskOAuthState.expires_at < now - timedelta(days=1)))
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    db.session.add(ZendeskOAuthState(
        state_hash=_state_hash(state), connection_id=connection.id,
        agent_email=session.email, agent_id=session.agent_id, session_jti=session.jti,
        code_verifier_enc=encrypt(verifier), created_at=now, expires_at=now + STATE_TTL))
    db.session.commit()
    query = urlencode({
        "response_type": "code", "client_id": credentials[0], "redirect_uri": redirect_uri(),
        "scope": SCOPE, "state": state, "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256"})
    log.info("zendesk sign-in started connection=%s agent=%s", connection.public_id,
             redact_email(session.email))
    return StartedSignIn(
        authorize_url=f"{zendesk_base(connection.account)}/oauth/authorizations/new?{query}",
        state=state, expires_in=int(STATE_TTL.total_seconds()))


def _fail(row: ZendeskOAuthState | None, reason: str, message: str) -> CallbackOutcome:
    """Record why the sign-in was refused (no token, no code) and tell the popup."""
    if row is not None:
        row.failure = reason
        db.session.commit()
    log.info("zendesk sign-in refused connection=%s reason=%s",
             row.connection_id if row is not None else "-", reason)
    return CallbackOutcome(ok=False, reason=reason, message=message)


def complete_callback(*, state: Any, code: Any, error: Any = None,
                      http_client: httpx.Client | None = None,
                      now: datetime | None = None) -> CallbackOutcome:
    """Handle Zendesk's redirect: spend the state, learn the user, check it is the agent."""
    now = now or utcnow()
    if not isinstance(state, str) or not state or len(state) > 256:
        return _fail(None, "state_mismatch", "This sign-in link is not valid. Start again "
                     "from the order card.")
    row = db.session.execute(select(ZendeskOAuthState).where(
        ZendeskOAuthState.state_hash == _state_hash(state))).scalar_one_or_none()
    if row is None:
        return _fail(None, "state_mismatch", "This sign-in was not started from the order "
                     "card, or it was already used. Start again from the card.")
    # Spend the state first, whatever happens next: it works once.
    spent = db.session.execute(
        update(ZendeskOAuthState)
        .where(ZendeskOAuthState.id == row.id, ZendeskOAuthState.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if spent != 1:
        return _fail(None, "state_used", "This sign-in link was already used. Start again "
                     "from the order card.")
    db.session.refresh(row)
    if row.expires_at <= now:
        return _fail(row, "state_expired", "This sign-in took too long. Start again from "
                     "the order card.")
    if error or not isinstance(code, str) or not code:
        return _fail(row, "denied", "Zendesk did not sign you in (access was not allowed).")
    connection = db.session.get(HelpdeskConnection, row.connection_id)
    credentials = client_credentials()
    if connection is None or not connection.is_active or credentials is None:
        return _fail(row, "unavailable", "Sign in with Zendesk is not available now.")
    base = zendesk_base(connection.account)
    owned = http_client is None
    client = http_client or httpx.Client(timeout=HTTP_TIMEOUT)
    try:
        user = _fetch_user(client, base, code=code, verifier=decrypt(row.code_verifier_enc) or "",
                           credentials=credentials)
    except _ZendeskRefused as exc:
        return _fail(row, exc.reason, exc.message)
    finally:
        if owned:
            client.close()
    problem = _user_problem(user, base=base, email=row.agent_email)
    if problem is not None:
        return _fail(row, *problem)
    result = secrets.token_urlsafe(32)
    row.completed_at = now
    row.result_hash = _result_hash(result)
    row.zendesk_user_id = str(user.get("id"))[:32]
    db.session.commit()
    log.info("zendesk sign-in matched connection=%s agent=%s", connection.public_id,
             redact_email(row.agent_email))
    return CallbackOutcome(ok=True, result=result)


class _ZendeskRefused(Exception):  # noqa: N818
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def _fetch_user(client: httpx.Client, base: str, *, code: str, verifier: str,
                credentials: tuple[str, str]) -> dict[str, Any]:
    """Exchange the code and read users/me; revoke the token afterwards (best effort)."""
    try:
        token_response = client.post(f"{base}/oauth/tokens", json={
            "grant_type": "authorization_code", "code": code, "client_id": credentials[0],
            "client_secret": credentials[1], "redirect_uri": redirect_uri(), "scope": SCOPE,
            "code_verifier": verifier})
    except httpx.HTTPError as exc:
        raise _ZendeskRefused("zendesk_unreachable", "Zendesk could not be reached; try "
                              "again.") from exc
    if token_response.status_code != 200:
        log.info("zendesk token exchange refused status=%s", token_response.status_code)
        raise _ZendeskRefused("code_refused", "Zendesk did not accept the sign-in (the account "
                              "may not be this helpdesk's). Start again from the card.")
    try:
        access_token = token_response.json().get("access_token")
    except ValueError:
        access_token = None
    if not isinstance(access_token, str) or not access_token:
        raise _ZendeskRefused("code_refused", "Zendesk gave no access token.")
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    try:
        me = client.get(f"{base}/api/v2/users/me", headers=headers)
        try:
            client.delete(f"{base}/api/v2/oauth/tokens/current.json", headers=headers)
        except httpx.HTTPError:
            log.info("zendesk token revocation failed; it stays limited to users:read")
    except httpx.HTTPError as exc:
        raise _ZendeskRefused("zendesk_unreachable", "Zendesk could not be reached; try "
                              "again.") from exc
    try:
        user = me.json().get("user") if me.status_code == 200 else None
    except ValueError:
        user = None
    if not isinstance(user, dict):
        log.info("zendesk users/me failed status=%s", me.status_code)
        raise _ZendeskRefused("user_unknown", "Zendesk did not say who signed in.")
    return user


def _user_problem(user: dict[str, Any], *, base: str, email: str) -> tuple[str, str] | None:
    """Why this Zendesk user is not the session's agent on this account, or None."""
    if user.get("id") in (None, ""):
        return "user_unknown", "Zendesk did not say who signed in."
    url = user.get("url")
    if not isinstance(url, str) or not url.startswith(base + "/") or user.get("shared_agent"):
        return ("other_account", "You signed in to another Zendesk account than this "
                "helpdesk's. Sign in to the right account and try again.")
    if user.get("role") not in AGENT_ROLES or user.get("active") is False \
            or user.get("suspended"):
        return "not_agent", "That Zendesk user is not an active agent of this account."
    signed_in = user.get("email")
    if not isinstance(signed_in, str) or signed_in.strip().lower() != email:
        return ("other_agent", "You signed in to Zendesk as someone else than the agent this "
                "card was opened for.")
    return None


def redeem(session: AgentSession, *, result: Any = None, state: Any = None,
           now: datetime | None = None) -> ZendeskOAuthState:
    """Spend a completed sign-in for the session that started it; commits.

    The card sends the popup's one-time `result` (or, when the popup could not message it,
    the `state` it started with).

    :raises ValidationError: neither given.
    :raises VerificationFailedError: unknown, refused, unfinished, expired, spent, or
        started by another session.
    """
    now = now or utcnow()
    if isinstance(result, str) and result:
        condition = ZendeskOAuthState.result_hash == _result_hash(result)
    elif isinstance(state, str) and state:
        condition = ZendeskOAuthState.state_hash == _state_hash(state)
    else:
        raise ValidationError("send the sign-in `result` (or `state`)", field="result")
    row = db.session.execute(select(ZendeskOAuthState).where(condition)).scalar_one_or_none()

    def refuse(reason: str, message: str) -> VerificationFailedError:
        log.info("zendesk sign-in not redeemed connection=%s reason=%s",
                 session.connection_id, reason)
        return VerificationFailedError(message, reason=reason)

    if (row is None or row.connection_id != session.connection.id
            or row.session_jti != session.jti or row.agent_email != session.email):
        raise refuse("state_mismatch", "this sign-in was not started by this card")
    if row.failure:
        raise refuse(row.failure, "the Zendesk sign-in was refused; start again")
    if row.completed_at is None:
        raise refuse("pending", "the Zendesk sign-in has not finished")
    if row.completed_at + RESULT_TTL <= now:
        raise refuse("expired", "the Zendesk sign-in is too old; start again")
    spent = db.session.execute(
        update(ZendeskOAuthState)
        .where(ZendeskOAuthState.id == row.id, ZendeskOAuthState.redeemed_at.is_(None))
        .values(redeemed_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if spent != 1:
        raise refuse("used", "this Zendesk sign-in was already used")
    return row
