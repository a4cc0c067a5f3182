"""Launch tokens: how a helpdesk opens the card for one agent (CONTRACT §4).

A launch token is a JWT signed HS256 with the connection's `signing_secret`; `iss` names the
connection, `aud` is "sidecard", it lives at most 10 minutes and its `jti` is spent in the
database on first use. It proves the launch came through the connection's helpdesk, not who
the agent is: its agent claims may have been composed in the agent's own browser, so the
resulting identity is "asserted". Zendesk's own signed URL (RS256, signed on Zendesk's
servers) can make it "verified" when it names the agent.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugin.exceptions import AuthenticationError, ShopNotInstalledError
from plugin.extensions import db
from plugin.models.helpdesk import HelpdeskConnection, UsedLaunchToken
from plugin.models.shop import Shop

log = logging.getLogger("sidecard.launch")

LAUNCH_AUDIENCE = "sidecard"
LAUNCH_ALGORITHM = "HS256"
MAX_LAUNCH_LIFETIME_SECONDS = 600
# Clock skew tolerated between the helpdesk and us, for exp and iat.
CLOCK_LEEWAY_SECONDS = 30
REQUIRED_LAUNCH_CLAIMS = ["iss", "aud", "iat", "exp", "jti", "sub", "email"]
# A launch token is small; anything far larger is not one of ours.
MAX_TOKEN_LENGTH = 8192

IDENTITY_ASSERTED = "asserted"
IDENTITY_VERIFIED = "verified"

CUSTOMER_FIELDS = ("email", "phone", "name")
EMAIL_RE = re.compile(r"^[^@\s\"<>(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")

# Zendesk signed URLs. Claim layout per reference/helpdesks.md §2.2: `iss` is
# "{subdomain}.zendesk.com" (with or without https://), `aud` the installation URL, and
# `context.product`/`context.location` say where the app runs.
ZENDESK_ALGORITHM = "RS256"
ZENDESK_LOCATIONS = frozenset({"ticket_sidebar"})
ZENDESK_INSTALLATION_AUD = re.compile(
    r"^https://(?P<account>[a-z0-9-]+)\.zendesk\.com/api/v2/apps/installations/"
    r"(?P<installation>\d+)\.json$")


@dataclass(frozen=True)
class Agent:
    """The support agent (or bot) a launch names."""

    id: str
    email: str
    name: str | None = None


@dataclass(frozen=True)
class LaunchContext:
    """A verified launch: which connection and shop, which agent, which conversation."""

    connection: HelpdeskConnection
    shop: Shop
    agent: Agent
    # "asserted" (agent claims may come from the browser) or "verified" (see module doc).
    identity: str = IDENTITY_ASSERTED
    conversation: str | None = None
    # The requester, to find the Shopify customer: any of "email", "phone", "name".
    customer: dict[str, str] = field(default_factory=dict)
    jti: str | None = None
    expires_at: datetime | None = None
    # How the launch arrived: "launch_token", "zendesk_signed_url", or the host call a
    # Sidecard-minted token came from ("gorgias_integration"; see plugin/identity/host_signed).
    source: str = "launch_token"

    @property
    def kind(self) -> str:
        """The connection's helpdesk kind."""
        return self.connection.kind

    @property
    def connection_id(self) -> str:
        """The connection's public id."""
        return self.connection.public_id

    @property
    def shop_domain(self) -> str:
        """The shop's *.myshopify.com domain."""
        return self.shop.domain


def _refuse(reason: str, message: str, connection_id: str | None = None) -> AuthenticationError:
    """Log a refusal by id and reason (never the token) and build the 401."""
    log.info("launch refused connection=%s reason=%s", connection_id or "-", reason)
    return AuthenticationError(message, reason=reason)


def _unverified(token: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims read without verification, only to pick the key.

    :raises AuthenticationError: not a JWT at all.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise _refuse("malformed", "launch token is missing or malformed")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _refuse("malformed", "launch token is malformed") from exc
    return header, claims


def find_connection(public_id: Any) -> HelpdeskConnection | None:
    """The connection with this public id, or None."""
    if not isinstance(public_id, str) or not public_id or len(public_id) > 64:
        return None
    return db.session.execute(
        select(HelpdeskConnection).where(HelpdeskConnection.public_id == public_id)
    ).scalar_one_or_none()


def ensure_usable(connection: HelpdeskConnection) -> Shop:
    """The connection's shop, if the connection is enabled and the shop installed.

    :raises AuthenticationError: the connection is disabled.
    :raises ShopNotInstalledError: the shop uninstalled Sidecard (code `shop_not_installed`).
    """
    if not connection.is_active:
        raise _refuse("connection_disabled", "this helpdesk connection is disabled",
                      connection.public_id)
    shop = connection.shop
    if shop is None or not shop.is_installed:
        log.info("launch refused connection=%s reason=shop_not_installed",
                 connection.public_id)
        raise ShopNotInstalledError("this shop has not installed Sidecard (or uninstalled it)")
    return shop


def _decode_error(exc: jwt.PyJWTError) -> tuple[str, str]:
    """Map a PyJWT failure to (reason, message) for the 401 body."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "expired", "launch token has expired"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong_audience", "launch token is not meant for Sidecard"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong_issuer", "launch token names another issuer"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "not_yet_valid", "launch token is issued in the future"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "missing_claim", f"launch token lacks the {exc.claim!r} claim"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad_signature", "launch token signature does not verify"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "bad_algorithm", "launch token uses an algorithm Sidecard does not accept"
    return "invalid", "launch token is invalid"


class ClaimError(ValueError):
    """A launch claim has the wrong shape (the message names the claim)."""


def _text(value: Any, limit: int) -> str | None:
    """A trimmed non-empty string of at most `limit` characters, or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= limit else None


def parse_conversation(value: Any) -> str | None:
    """`conversation` as a string (ticket ids arrive as numbers too).

    :raises ClaimError: present but neither a string nor an integer, or too long.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ClaimError("`conversation` must be a string or integer")
    text = str(value).strip()
    if not text or len(text) > 255:
        raise ClaimError("`conversation` is empty or too long")
    return text


def parse_customer(value: Any) -> dict[str, str]:
    """`customer` as {"email", "phone", "name"} strings; unknown keys are dropped.

    :raises ClaimError: not an object, or a known field is not a short string.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ClaimError("`customer` must be an object")
    hint: dict[str, str] = {}
    for key in CUSTOMER_FIELDS:
        item = value.get(key)
        if item is None or item == "":
            continue
        if not isinstance(item, str) or len(item) > 320:
            raise ClaimError(f"`customer.{key}` must be a short string")
        if item.strip():
            hint[key] = item.strip()
    return hint


def normalize_email(value: Any) -> str | None:
    """A lower-cased, plausible email address, or None."""
    text = _text(value, 320)
    if text is None or not EMAIL_RE.match(text):
        return None
    return text.lower()


def parse_agent(agent_id: Any, email: Any, name: Any = None) -> Agent:
    """The agent from its id (`sub`), email and optional name.

    :raises ClaimError: id or email unusable, or name not a string.
    """
    if isinstance(agent_id, int) and not isinstance(agent_id, bool):
        agent_id = str(agent_id)
    clean_id = _text(agent_id, 255)
    if clean_id is None:
        raise ClaimError("`sub` (the agent id) must be a non-empty string")
    clean_email = normalize_email(email)
    if clean_email is None:
        raise ClaimError("`email` is not an email address")
    if name is not None and not isinstance(name, str):
        raise ClaimError("`name` must be a string")
    return Agent(id=clean_id, email=clean_email, name=_text(name, 255))


def _spend_jti(connection: HelpdeskConnection, jti: str, expires_at: datetime) -> None:
    """Record the `jti` so the token cannot be used again; commits.

    The unique (connection, jti) row is the guard: two concurrent uses race in the database
    and exactly one insert wins. Rows are kept until the token could no longer verify.

    :raises AuthenticationError: the `jti` was already spent.
    """
    UsedLaunchToken.purge_expired(connection_id=connection.id)
    db.session.add(UsedLaunchToken(connection_id=connection.id, jti=jti,
                                   expires_at=expires_at))
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise _refuse("reused", "launch token already used", connection.public_id) from exc


def verify_launch_token(token: str, *, kind: str | None = None) -> LaunchContext:
    """Verify a launch token, spend its `jti`, and say who launched what.

    With `kind`, a token of another helpdesk kind's connection is refused before its `jti`
    is spent (the card at /cards/zendesk only takes Zendesk connections' tokens).

    :raises AuthenticationError: bad, expired, reused, mis-addressed or ill-formed token,
        unknown or disabled connection, or another kind (401 `unauthorized`).
    :raises ShopNotInstalledError: the connection's shop is not installed (401
        `shop_not_installed`).
    """
    header, unverified = _unverified(token)
    if header.get("alg") != LAUNCH_ALGORITHM:
        raise _refuse("bad_algorithm", "launch tokens must be signed HS256")
    connection = find_connection(unverified.get("iss"))
    if connection is None:
        raise _refuse("unknown_connection", "launch token names an unknown connection")
    try:
        claims = jwt.decode(
            token, connection.signing_secret, algorithms=[LAUNCH_ALGORITHM],
            audience=LAUNCH_AUDIENCE, issuer=connection.public_id,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": REQUIRED_LAUNCH_CLAIMS, "strict_aud": True,
                     "enforce_minimum_key_length": True})
    except jwt.PyJWTError as exc:
        reason, message = _decode_error(exc)
        raise _refuse(reason, message, connection.public_id) from exc
    issued_at, expires = float(claims["iat"]), float(claims["exp"])
    if expires - issued_at > MAX_LAUNCH_LIFETIME_SECONDS:
        raise _refuse("lifetime", "launch token lives longer than 10 minutes",
                      connection.public_id)
    if issued_at > time.time() + CLOCK_LEEWAY_SECONDS:  # PyJWT checks too; keep it explicit
        raise _refuse("not_yet_valid", "launch token is issued in the future",
                      connection.public_id)
    jti = _text(claims.get("jti"), 255)
    if jti is None:
        raise _refuse("bad_claim", "launch token `jti` must be a non-empty string",
                      connection.public_id)
    try:
        agent = parse_agent(claims.get("sub"), claims.get("email"), claims.get("name"))
        conversation = parse_conversation(claims.get("conversation"))
        customer = parse_customer(claims.get("customer"))
    except ClaimError as exc:
        raise _refuse("bad_claim", f"launch token {exc}", connection.public_id) from exc
    if kind is not None and connection.kind != kind:
        raise _refuse("wrong_kind", f"this launch token is for a {connection.kind} connection",
                      connection.public_id)
    shop = ensure_usable(connection)
    expires_at = datetime.fromtimestamp(expires + CLOCK_LEEWAY_SECONDS, UTC)
    _spend_jti(connection, jti, expires_at)
    identity, source = IDENTITY_ASSERTED, "launch_token"
    from plugin.identity.host_signed import verified_source

    host_source = verified_source(claims, connection_id=connection.public_id,
                                  agent_id=agent.id, email=agent.email)
    if host_source is not None:  # minted by Sidecard from a server-to-server host call
        identity, source = IDENTITY_VERIFIED, host_source
    log.info("launch accepted connection=%s kind=%s identity=%s", connection.public_id,
             connection.kind, identity)
    return LaunchContext(connection=connection, shop=shop, agent=agent,
                         identity=identity, conversation=conversation,
                         customer=customer, jti=jti, expires_at=expires_at, source=source)


def verify_card_launch(kind: str, params: Mapping[str, Any]) -> LaunchContext:
    """Verify how a card request for `/cards/{kind}` was launched.

    `params` are the request's form (POST) or query (GET) values: `launch_token` (any
    kind), or for Zendesk the signed-URL form field `token`.

    :raises AuthenticationError: neither is present, or it does not verify.
    :raises ShopNotInstalledError: the shop is not installed.
    """
    launch_token = params.get("launch_token")
    if launch_token:
        return verify_launch_token(launch_token, kind=kind)
    signed = params.get("token")
    if kind == "zendesk" and signed:
        return verify_zendesk_signed_launch(signed)
    raise _refuse("missing", "open the card from your helpdesk (no launch token)")


def mint_launch_token(connection: HelpdeskConnection, *, agent_id: str, email: str,
                      name: str | None = None, conversation: str | None = None,
                      customer: dict[str, str] | None = None, ttl_seconds: int = 120,
                      verified_by: str | None = None) -> str:
    """Sign a fresh launch token for a connection (server-side launches and relays).

    Used where the helpdesk cannot sign itself (Kustomer commands, Gorgias links) and to
    hand a browser a one-time token after a proxied launch was verified.

    `verified_by` (e.g. "gorgias_integration") marks a token minted from a server-to-server
    host call that names the agent: the session it opens is "verified". Never pass it for
    agent claims a browser composed (Kustomer command bodies, ZAF proxied launches).
    """
    now = int(time.time())
    jti = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "iss": connection.public_id, "aud": LAUNCH_AUDIENCE, "iat": now,
        "exp": now + min(int(ttl_seconds), MAX_LAUNCH_LIFETIME_SECONDS),
        "jti": jti, "sub": agent_id, "email": email,
    }
    if verified_by:
        from plugin.identity.host_signed import proof_claims

        claims.update(proof_claims(connection.public_id, jti, str(agent_id).strip(),
                                   str(email).strip(), verified_by))
    if name:
        claims["name"] = name
    if conversation:
        claims["conversation"] = conversation
    if customer:
        claims["customer"] = {k: v for k, v in customer.items() if k in CUSTOMER_FIELDS and v}
    return jwt.encode(claims, connection.signing_secret, algorithm=LAUNCH_ALGORITHM)


def authenticate_connection_secret(public_id: Any, presented_secret: Any, *,
                                   kind: str | None = None) -> HelpdeskConnection:
    """Check a server-to-server call that presents a connection's signing secret.

    Gorgias HTTP integrations and Kustomer commands cannot sign JWTs; they send the
    secret (configured in the helpdesk, never shown to agents) as a bearer token.

    :raises AuthenticationError: unknown connection, wrong kind, wrong secret, disabled.
    :raises ShopNotInstalledError: the shop is not installed.
    """
    connection = find_connection(public_id)
    if connection is None or not isinstance(presented_secret, str) or not presented_secret:
        # Compare anyway so that an unknown id costs the same as a wrong secret.
        hmac.compare_digest(b"x" * 43, str(presented_secret or "").encode())
        raise _refuse("bad_secret", "unknown connection or wrong secret")
    if not hmac.compare_digest(connection.signing_secret.encode(), presented_secret.encode()):
        raise _refuse("bad_secret", "unknown connection or wrong secret", connection.public_id)
    if kind is not None and connection.kind != kind:
        raise _refuse("wrong_kind", f"this endpoint is for {kind} connections",
                      connection.public_id)
    ensure_usable(connection)
    return connection


# --- Zendesk signed URLs -------------------------------------------------------------------

def _zendesk_connection_for(claims: dict[str, Any]) -> HelpdeskConnection | None:
    """Find the Zendesk connection a signed-URL token is for, from `iss` and `aud`."""
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        return None
    host = issuer.removeprefix("https://").rstrip("/")
    if not host.endswith(".zendesk.com"):
        return None
    account = host[: -len(".zendesk.com")]
    rows = db.session.execute(
        select(HelpdeskConnection).where(HelpdeskConnection.kind == "zendesk",
                                         HelpdeskConnection.account == account,
                                         HelpdeskConnection.zendesk_public_key.is_not(None))
    ).scalars().all()
    aud = claims.get("aud")
    match = ZENDESK_INSTALLATION_AUD.match(aud) if isinstance(aud, str) else None
    if match:
        exact = [r for r in rows if r.zendesk_installation_id == match["installation"]]
        if exact:
            return exact[0]
    candidates = [r for r in rows if not r.zendesk_installation_id]
    return candidates[0] if len(candidates) == 1 else None


def _zendesk_agent(claims: dict[str, Any]) -> Agent | None:
    """The agent a Zendesk signed token names, if it names one.

    ASSUMPTION (reference §2.2, [UNCONFIRMED]): Zendesk does not document agent claims in
    the signed-URL JWT. We accept the paths seen guessed in public code: an email at
    `context.user.email`, `user.email` or `email`, and an id at `context.user.id`,
    `context.user_id`, `user.id` or `sub`. Decode a real token before relying on this.
    """
    context = claims.get("context") if isinstance(claims.get("context"), dict) else {}
    ctx_user = context.get("user") if isinstance(context.get("user"), dict) else {}
    top_user = claims.get("user") if isinstance(claims.get("user"), dict) else {}
    email = next((e for e in (normalize_email(ctx_user.get("email")),
                              normalize_email(top_user.get("email")),
                              normalize_email(claims.get("email"))) if e), None)
    raw_ids = (ctx_user.get("id"), context.get("user_id"), top_user.get("id"), claims.get("sub"))
    agent_id = next((str(v) for v in raw_ids
                     if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v)), None)
    if not email or not agent_id:
        return None
    name = ctx_user.get("name") or top_user.get("name") or claims.get("name")
    return Agent(id=agent_id[:255], email=email, name=_text(name, 255))


def verify_zendesk_signed_launch(form_token: str,
                                 connection: HelpdeskConnection | None = None) -> LaunchContext:
    """Verify Zendesk's signed-URL POST token (RS256) against the connection's public key.

    Checks signature (RS256 only), `exp`/`iat`, `iss` = the account's Zendesk host, `aud` =
    the configured installation URL (any installation of this account when none is
    configured), and `context.product`/`context.location`. The token is single use: its
    `jti` is spent like a launch token's, or the token itself when Zendesk sends no `jti`.
    The identity is "verified": Zendesk signs on its servers.

    :raises AuthenticationError: not configured, bad token, or the token names no agent
        (reason `agent_not_named`; a later step must establish the agent).
    :raises ShopNotInstalledError: the shop is not installed.
    """
    header, unverified = _unverified(form_token)
    if header.get("alg") != ZENDESK_ALGORITHM:
        raise _refuse("bad_algorithm", "Zendesk signed URLs must be RS256")
    if connection is None:
        connection = _zendesk_connection_for(unverified)
        if connection is None:
            raise _refuse("unknown_connection",
                          "no Zendesk connection with signed URLs matches this token")
    if connection.kind != "zendesk" or not connection.zendesk_public_key:
        raise _refuse("not_configured", "signed URLs are not configured for this connection",
                      connection.public_id)
    account = connection.account
    issuers = [f"{account}.zendesk.com", f"https://{account}.zendesk.com"]
    options: dict[str, Any] = {"require": ["iss", "aud", "exp", "iat"],
                               "enforce_minimum_key_length": True}
    audience: str | None = None
    if connection.zendesk_installation_id:
        audience = (f"https://{account}.zendesk.com/api/v2/apps/installations/"
                    f"{connection.zendesk_installation_id}.json")
    else:
        options["verify_aud"] = False  # checked against the account's pattern below
    try:
        public_key = serialization.load_pem_public_key(connection.zendesk_public_key.encode())
        claims = jwt.decode(form_token, public_key, algorithms=[ZENDESK_ALGORITHM],
                            audience=audience, issuer=issuers,
                            leeway=CLOCK_LEEWAY_SECONDS, options=options)
    except jwt.PyJWTError as exc:
        reason, message = _decode_error(exc)
        raise _refuse(reason, message.replace("launch token", "Zendesk signed token"),
                      connection.public_id) from exc
    except ValueError as exc:  # the stored PEM does not load
        raise _refuse("not_configured", "the stored Zendesk public key is not usable",
                      connection.public_id) from exc
    if audience is None:
        match = ZENDESK_INSTALLATION_AUD.match(str(claims.get("aud")))
        if not match or match["account"] != account:
            raise _refuse("wrong_audience", "Zendesk signed token is for another account",
                          connection.public_id)
    context = claims.get("context")
    if (not isinstance(context, dict) or context.get("product") != "support"
            or context.get("location") not in ZENDESK_LOCATIONS):
        raise _refuse("wrong_location", "Zendesk signed token is not for the ticket sidebar",
                      connection.public_id)
    agent = _zendesk_agent(claims)
    if agent is None:
        raise _refuse("agent_not_named", "Zendesk's signed token does not name the agent",
                      connection.public_id)
    shop = ensure_usable(connection)
    expires_at = datetime.fromtimestamp(float(claims["exp"]) + CLOCK_LEEWAY_SECONDS, UTC)
    jti = _text(claims.get("jti"), 255)
    # Spent either way: without a `jti` the token itself is the nonce (Zendesk signs a fresh
    # one for every load), so a token lifted from a log or a re-sent form opens nothing.
    # Hashed, so that the stored value fits the column whatever its length.
    nonce = f"zendesk:{jti}" if jti is not None else f"zendesk-token:{form_token}"
    _spend_jti(connection, hashlib.sha256(nonce.encode()).hexdigest(), expires_at)
    # ASSUMPTION [UNCONFIRMED]: the ticket id, if present, sits at context.ticket_id/ticketId.
    conversation = None
    for key in ("ticket_id", "ticketId"):
        if context.get(key) is not None:
            try:
                conversation = parse_conversation(context.get(key))
            except ClaimError:
                conversation = None
            break
    log.info("zendesk signed launch accepted connection=%s", connection.public_id)
    return LaunchContext(connection=connection, shop=shop, agent=agent,
                         identity=IDENTITY_VERIFIED, conversation=conversation,
                         jti=jti, expires_at=expires_at, source="zendesk_signed_url")
