"""Shopify's OAuth side, simulated: authorize, the token endpoint's three grants, id tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt

from plugin.sandbox.store import REFRESH_TOKEN_TTL, SandboxStore

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (URNs)
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105
ONLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"  # noqa: S105
CODE_TTL = 600
ID_TOKEN_LEEWAY = 10


class OAuthError(Exception):
    """A token-endpoint refusal: HTTP status and the JSON body Shopify sends."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, str] = {"error": error}
        if description:
            self.body["error_description"] = description


def sign_query(params: Mapping[str, Any] | list[tuple[str, Any]], secret: str) -> str:
    """Hex HMAC-SHA256 of the sorted `key=value` pairs (hmac/signature excluded), like Shopify."""
    pairs = params.items() if isinstance(params, Mapping) else params
    message = "&".join(f"{k}={v}" for k, v in sorted(
        (k, v) for k, v in pairs if k not in {"hmac", "signature"}))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def host_param(shop: str) -> str:
    """The `host` parameter: base64 of `admin.shopify.com/store/<handle>` (no padding)."""
    handle = shop.split(".")[0]
    return base64.b64encode(f"admin.shopify.com/store/{handle}".encode()).decode().rstrip("=")


def mint_id_token(shop: str, *, api_key: str, api_secret: str, user_id: int = 1, ttl: int = 60,
                  **claims: Any) -> str:
    """An App Bridge id (session) token: HS256, one minute, on the real clock like the admin's."""
    now = int(time.time())
    payload = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": api_key,
               "sub": str(user_id), "exp": now + ttl, "nbf": now, "iat": now,
               "jti": str(uuid.uuid4()), "sid": secrets.token_hex(16)}
    payload.update(claims)
    return jwt.encode(payload, api_secret, algorithm="HS256")


def app_load_params(shop: str, *, api_key: str, api_secret: str,
                    user_id: int = 1) -> dict[str, str]:
    """What the admin appends to `application_url` on an embedded load, signed."""
    params = {"embedded": "1", "host": host_param(shop),
              "id_token": mint_id_token(shop, api_key=api_key, api_secret=api_secret,
                                        user_id=user_id),
              "locale": "en", "session": secrets.token_hex(32), "shop": shop,
              "timestamp": str(int(time.time()))}
    params["hmac"] = sign_query(params, api_secret)
    return params


def verify_id_token(token: str, *, shop: str, api_key: str, api_secret: str) -> dict[str, Any]:
    """Claims of a valid id token for this app and shop.

    :raises OAuthError: invalid_subject_token (bad signature, audience, destination or expired).
    """
    try:
        claims = jwt.decode(token, api_secret, algorithms=["HS256"], audience=api_key,
                            leeway=ID_TOKEN_LEEWAY,
                            options={"require": ["exp", "nbf", "iat", "dest", "aud"]})
    except jwt.PyJWTError as exc:
        raise OAuthError(400, "invalid_subject_token") from exc
    if urlsplit(str(claims.get("dest", ""))).hostname != shop:
        raise OAuthError(400, "invalid_subject_token")
    return claims


def authorize_redirect(store: SandboxStore, shop: str, args: Mapping[str, str],
                       grant_options: list[str]) -> str:
    """Auto-approve an install: the redirect URL with `code, hmac, host, shop, state, timestamp`.

    :raises OAuthError: unknown client id or missing redirect_uri (400).
    """
    if not store.api_key or not hmac.compare_digest(args.get("client_id", ""), store.api_key):
        raise OAuthError(400, "invalid_request", "The client_id is invalid")
    redirect_uri = args.get("redirect_uri", "")
    if urlsplit(redirect_uri).scheme not in {"http", "https"}:
        raise OAuthError(400, "invalid_request", "The redirect_uri is missing or invalid")
    code = secrets.token_hex(16)
    scope = args.get("scope") or store.scopes
    with store.lock:
        store.codes[code] = {"shop": shop, "scope": scope,
                             "expires_at": store.time() + CODE_TTL,
                             "online": "per-user" in grant_options}
    params = {"code": code, "host": host_param(shop), "shop": shop,
              "state": args.get("state", ""), "timestamp": str(int(time.time()))}
    params["hmac"] = sign_query(params, store.api_secret or "")
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return redirect_uri + separator + urlencode(params)


def _expiring(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true"}


def _associated_user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "first_name": "Demo", "last_name": "Staff",
            "email": f"staff{user_id}@example.com", "email_verified": True,
            "account_owner": user_id == 1, "locale": "en", "collaborator": False}


def _online_body(store: SandboxStore, shop: str, scope: str, user_id: int) -> dict[str, Any]:
    body = store.issue_tokens(shop, scope=scope, online_user_id=user_id)
    body.update(associated_user_scope=scope, associated_user=_associated_user(user_id))
    return body


def token_endpoint(store: SandboxStore, shop: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Answer `POST /admin/oauth/access_token`: code grant, token exchange or refresh.

    :raises OAuthError: with Shopify's status and body.
    """
    client_id, client_secret = str(params.get("client_id", "")), str(
        params.get("client_secret", ""))
    if not (store.api_key and store.api_secret
            and hmac.compare_digest(client_id, store.api_key)
            and hmac.compare_digest(client_secret, store.api_secret)):
        raise OAuthError(400, "invalid_client", "Client authentication failed")
    grant = params.get("grant_type") or ("authorization_code" if params.get("code") else "")
    if grant == "authorization_code":
        return _code_grant(store, shop, params)
    if grant == TOKEN_EXCHANGE:
        return _token_exchange(store, shop, params)
    if grant == "refresh_token":
        return _refresh(store, shop, str(params.get("refresh_token", "")))
    raise OAuthError(400, "unsupported_grant_type")


def _code_grant(store: SandboxStore, shop: str, params: Mapping[str, Any]) -> dict[str, Any]:
    with store.lock:
        entry = store.codes.pop(str(params.get("code", "")), None)
    if entry is None or entry["shop"] != shop or entry["expires_at"] < store.time():
        raise OAuthError(400, "invalid_request",
                         "The authorization code was not found or was already used")
    if entry["online"]:
        return _online_body(store, shop, entry["scope"], 1)
    return store.issue_tokens(shop, scope=entry["scope"],
                              expiring=_expiring(params.get("expiring")))


def _token_exchange(store: SandboxStore, shop: str, params: Mapping[str, Any]) -> dict[str, Any]:
    subject = str(params.get("subject_token", ""))
    subject_type = params.get("subject_token_type", ID_TOKEN_TYPE)
    requested = params.get("requested_token_type", OFFLINE_TOKEN_TYPE)
    if requested not in {OFFLINE_TOKEN_TYPE, ONLINE_TOKEN_TYPE}:
        raise OAuthError(400, "invalid_request", "Unsupported requested_token_type")
    if subject_type == OFFLINE_TOKEN_TYPE:
        # Migration of a non-expiring offline token to an expiring one.
        old = store.tokens.get(subject)
        if old is None or old.shop != shop or old.expires_at is not None:
            raise OAuthError(400, "invalid_subject_token")
        body = store.issue_tokens(shop, scope=old.scope, expiring=True)
        with store.lock:
            store.tokens.pop(subject, None)
        return body
    if subject_type != ID_TOKEN_TYPE:
        raise OAuthError(400, "invalid_request", "Unsupported subject_token_type")
    claims = verify_id_token(subject, shop=shop, api_key=store.api_key or "",
                             api_secret=store.api_secret or "")
    if requested == ONLINE_TOKEN_TYPE:
        return _online_body(store, shop, store.scopes, int(claims.get("sub") or 1))
    return store.issue_tokens(shop, expiring=_expiring(params.get("expiring")))


def _refresh(store: SandboxStore, shop: str, value: str) -> dict[str, Any]:
    with store.lock:
        token = store.refresh_tokens.get(value)
        if (token is None or token.shop != shop or token.revoked
                or token.expires_at <= store.time()):
            raise OAuthError(400, "invalid_grant",
                             "The refresh token is invalid, expired or revoked")
        # Using a replacement retires the token it replaced (changelog Aug 28 2026); until
        # then the older one keeps working, so a lost refresh response is recoverable.
        if token.replaces and token.replaces in store.refresh_tokens:
            store.refresh_tokens[token.replaces].revoked = True
        body = store.issue_tokens(shop, scope=token.scope, expiring=True)
        store.refresh_tokens[body["refresh_token"]].replaces = value
        body["refresh_token_expires_in"] = REFRESH_TOKEN_TTL
    return body
