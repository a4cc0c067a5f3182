"""Shopify access tokens: id-token exchange, code grant, storage and refresh under a lease.

Token exchange and refresh go through `shopifyapp` (Shopify's package); the code grant and the
migration of a non-expiring token, which it lacks, are posted here. Every request uses the
app's pooled client (`admin_http_client`), so SHOPIFY_ADMIN_URL applies to all of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from plugin.exceptions import (
    AuthenticationError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyThrottledError,
    ShopifyTimeoutError,
    ShopNotInstalledError,
)
from plugin.extensions import db
from plugin.models import Shop
from plugin.models.base import utcnow
from plugin.shopify import shopify_app
from plugin.shopify.hmac import normalize_shop
from plugin.shopify.transport import admin_http_client, last_transport_error

log = logging.getLogger("sidecard.shopify.auth")

# Refresh this long before the access token expires, so a long request never starts on a token
# that dies half-way. shopifyapp itself only refreshes in the last 60 s (see _refresh).
REFRESH_MARGIN = timedelta(minutes=5)
# One process rotates a shop's refresh token at a time; the lease outlives a slow refresh POST.
REFRESH_LEASE = timedelta(seconds=30)
# How long a process that lost the lease waits for the winner's new token.
LEASE_WAIT_SECONDS = 5.0
LEASE_POLL_SECONDS = 0.1
ID_TOKEN_LEEWAY_SECONDS = 10
REAUTH_MESSAGE = "Shopify access has lapsed: reopen Sidecard from the Shopify admin."
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a URN)
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105


@dataclass(frozen=True)
class TokenSet:
    """What Shopify's token endpoint granted (expiring offline token + refresh token)."""

    access_token: str
    scope: str
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_token_expires_in: int | None = None

    def __repr__(self) -> str:  # tokens must never reach a log through repr()
        return (f"TokenSet(scope={self.scope!r}, expires_in={self.expires_in}, "
                f"refresh_token_expires_in={self.refresh_token_expires_in})")

    @classmethod
    def from_response(cls, body: Any) -> TokenSet:
        """Read the token endpoint's JSON answer.

        :raises ShopifyError: no access token in it.
        """
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ShopifyError("Shopify's token endpoint answered without an access token")
        return cls(access_token=str(body["access_token"]), scope=str(body.get("scope") or ""),
                   expires_in=_int_or_none(body.get("expires_in")),
                   refresh_token=body.get("refresh_token") or None,
                   refresh_token_expires_in=_int_or_none(body.get("refresh_token_expires_in")))

    @classmethod
    def from_shopify_app(cls, token: Any, *, now: datetime | None = None) -> TokenSet:
        """Convert shopifyapp's TokenExchangeAccessToken (ISO expiry times) to a TokenSet."""
        now = now or utcnow()
        return cls(access_token=token.token, scope=token.scope or "",
                   expires_in=_seconds_until(token.expires, now),
                   refresh_token=token.refresh_token or None,
                   refresh_token_expires_in=_seconds_until(token.refresh_token_expires, now))


def _int_or_none(value: Any) -> int | None:
    """An integer number of seconds, or None when absent/invalid."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _seconds_until(iso: str | None, now: datetime) -> int | None:
    """Seconds from `now` until an ISO 8601 instant; None when absent or already past."""
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    seconds = int((moment - now).total_seconds())
    return seconds if seconds > 0 else None


def _iso(moment: datetime | None) -> str | None:
    """The ISO 8601 form shopifyapp reads."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# --- id tokens ---------------------------------------------------------------------------


def verify_id_token(id_token: str, *, shop_domain: str | None = None) -> dict[str, Any]:
    """Verify an App Bridge id token (HS256, aud, exp/nbf ±10 s, dest host) and return its claims.

    :raises AuthenticationError: bad signature, audience, times, or a shop other than expected.
    """
    config = current_app.config
    secrets = [s for s in (config["SHOPIFY_API_SECRET"], config.get("SHOPIFY_OLD_API_SECRET"))
               if s]
    claims: dict[str, Any] | None = None
    for secret in secrets:
        try:
            claims = jwt.decode(
                id_token, secret, algorithms=["HS256"], audience=config["SHOPIFY_API_KEY"],
                leeway=ID_TOKEN_LEEWAY_SECONDS,
                options={"require": ["exp", "nbf", "iat", "aud", "iss", "dest"]})
            break
        except jwt.InvalidSignatureError:
            continue  # maybe signed with the other secret (rotation)
        except jwt.PyJWTError as exc:
            raise AuthenticationError("Shopify session token is invalid or expired") from exc
    if claims is None:
        raise AuthenticationError("Shopify session token is invalid or expired")
    dest_host = urlsplit(str(claims["dest"])).hostname or ""
    iss_host = urlsplit(str(claims["iss"])).hostname or ""
    try:
        dest_shop = normalize_shop(dest_host)
    except Exception as exc:
        raise AuthenticationError("Shopify session token names no valid shop") from exc
    if iss_host.lower() != dest_shop:
        raise AuthenticationError("Shopify session token issuer and shop differ")
    if shop_domain is not None and normalize_shop(shop_domain) != dest_shop:
        raise AuthenticationError("Shopify session token is for another shop")
    return claims


# --- grants ------------------------------------------------------------------------------


def exchange_id_token(shop_domain: str, id_token: str) -> TokenSet:
    """Exchange a verified App Bridge id token for an expiring offline token (token exchange).

    :raises AuthenticationError: the id token is bad (ask App Bridge for a fresh one and retry).
    :raises ShopifyAuthError: Shopify refused the app's credentials (or the app is uninstalled).
    :raises ShopifyTimeoutError, ShopifyThrottledError, ShopifyError: Shopify failed.
    """
    shop = normalize_shop(shop_domain)
    claims = verify_id_token(id_token, shop_domain=shop)
    last_transport_error.set(None)
    result = shopify_app().exchange_using_token_exchange(
        access_mode="offline",
        id_token={"exchangeable": True, "token": id_token, "claims": claims},
        invalid_token_response=None, expiring=True, http_client=admin_http_client())
    if result.ok and result.access_token is not None:
        log.info("shopify token exchange shop=%s ok", shop)
        return TokenSet.from_shopify_app(result.access_token)
    raise _grant_error(result.log.code, shop, "token exchange")


def exchange_code(shop_domain: str, code: str) -> TokenSet:
    """Exchange an authorization code (legacy install / non-embedded) for an expiring token.

    The code is single use, so the POST is never retried.

    :raises AuthenticationError: Shopify refused the code (expired or used: install again).
    :raises ShopifyAuthError, ShopifyTimeoutError, ShopifyThrottledError, ShopifyError.
    """
    shop = normalize_shop(shop_domain)
    config = current_app.config
    return _post_grant(shop, {"client_id": config["SHOPIFY_API_KEY"],
                              "client_secret": config["SHOPIFY_API_SECRET"],
                              "code": code, "expiring": "1"}, "code exchange")


def _post_grant(shop: str, body: dict[str, Any], what: str) -> TokenSet:
    """POST to the shop's token endpoint (through SHOPIFY_ADMIN_URL) and map the answer."""
    url = f"https://{shop}/admin/oauth/access_token"
    try:
        response = admin_http_client().post(url, json=body,
                                            headers={"Accept": "application/json"})
    except httpx.TimeoutException as exc:
        raise ShopifyTimeoutError(f"Shopify did not answer the {what} in time") from exc
    except httpx.HTTPError as exc:
        raise ShopifyError(f"could not reach Shopify for the {what}") from exc
    request_id = response.headers.get("X-Request-Id")
    log.info("shopify %s shop=%s status=%s request_id=%s", what, shop, response.status_code,
             request_id)
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code == 200:
        return TokenSet.from_response(payload)
    error = payload.get("error") if isinstance(payload, dict) else None
    if response.status_code == 429:
        raise ShopifyThrottledError(f"Shopify rate-limited the {what}", status=429,
                                    request_id=request_id)
    if error == "invalid_client" or response.status_code in (401, 403):
        raise ShopifyAuthError(f"Shopify refused the app's credentials for the {what}",
                               status=response.status_code, request_id=request_id,
                               errors=[error] if error else None)
    if response.status_code in (400, 422) or error in ("invalid_grant", "invalid_request"):
        raise AuthenticationError(f"Shopify refused the {what}; start again from Shopify")
    raise ShopifyError(f"Shopify failed the {what}", status=response.status_code,
                       request_id=request_id, errors=[error] if error else None)


def _grant_error(code: str, shop: str, what: str) -> Exception:
    """Map a shopifyapp result's log code to Sidecard's exception."""
    log.info("shopify %s shop=%s failed code=%s", what, shop, code)
    if code == "invalid_subject_token":
        return AuthenticationError("Shopify session token was refused; fetch a fresh one",
                                   retry_invalid_session=True)
    if code == "invalid_client":
        return ShopifyAuthError(f"Shopify refused the app's credentials for the {what}",
                                errors=[code])
    if code in ("invalid_grant", "refresh_token_expired"):
        return ShopNotInstalledError(REAUTH_MESSAGE)
    if code in ("rate_limit_exceeded", "rate_limited"):
        return ShopifyThrottledError(f"Shopify rate-limited the {what}", status=429)
    if code == "network_error":
        if isinstance(last_transport_error.get(), httpx.TimeoutException):
            return ShopifyTimeoutError(f"Shopify did not answer the {what} in time")
        return ShopifyError(f"could not reach Shopify for the {what}", errors=[code])
    return ShopifyError(f"Shopify failed the {what}", errors=[code])


# --- storage -----------------------------------------------------------------------------


def save_install(shop_domain: str, tokens: TokenSet) -> Shop:
    """Create or update the shop's row with a new token set, mark it installed, commit."""
    domain = normalize_shop(shop_domain)
    for attempt in range(2):
        shop = db.session.execute(db.select(Shop).filter_by(domain=domain)).scalar_one_or_none()
        if shop is None:
            shop = Shop(domain=domain)
            db.session.add(shop)
        if shop.installed_at is None or shop.uninstalled_at is not None:
            shop.installed_at = utcnow()
        shop.uninstalled_at = None
        _store(shop, tokens)
        try:
            db.session.commit()
            return shop
        except IntegrityError:
            # Two first loads of a new shop raced on the unique domain: update the winner's row.
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store(shop: Shop, tokens: TokenSet, *, keep_refresh_token: bool = False) -> None:
    """Put a token set on the row (encrypted); keep the old refresh token if none came."""
    refresh_token, refresh_expires_in = tokens.refresh_token, tokens.refresh_token_expires_in
    if keep_refresh_token and not refresh_token and shop.refresh_token_enc:
        refresh_token = shop.refresh_token
        expires_at = shop.refresh_token_expires_at
        refresh_expires_in = (max(1, int((expires_at - utcnow()).total_seconds()))
                              if expires_at else None)
    shop.store_tokens(access_token=tokens.access_token, scopes=tokens.scope or None,
                      expires_in=tokens.expires_in, refresh_token=refresh_token,
                      refresh_token_expires_in=refresh_expires_in)


# --- refresh -----------------------------------------------------------------------------


def _needs_refresh(shop: Shop, now: datetime) -> bool:
    """True when the access token expires within REFRESH_MARGIN (never for legacy tokens)."""
    expires = shop.access_token_expires_at
    return expires is not None and expires - now <= REFRESH_MARGIN


def _still_valid(shop: Shop, now: datetime) -> bool:
    """True while the access token has not expired (with a few seconds to spare)."""
    expires = shop.access_token_expires_at
    return expires is None or expires - now > timedelta(seconds=5)


def _refresh_dead(shop: Shop, now: datetime) -> bool:
    """True when there is no refresh token or it has expired."""
    return shop.refresh_token_enc is None or (
        shop.refresh_token_expires_at is not None and shop.refresh_token_expires_at <= now)


def fresh_access_token(shop: Shop, *, sleep: Callable[[float], None] = time.sleep,
                       wait_seconds: float = LEASE_WAIT_SECONDS) -> str:
    """A usable access token for `shop`, refreshed first when < 5 min remain.

    The refresh runs under a per-shop lease (a conditional UPDATE, so it works on SQLite and
    PostgreSQL): one process rotates the refresh token, the others wait briefly and re-read.
    Refreshing commits the session; call this before staging other changes.

    :raises ShopNotInstalledError: uninstalled, no token, or the refresh token is dead.
    :raises ShopifyAuthError, ShopifyTimeoutError, ShopifyError: the refresh failed.
    """
    if shop.uninstalled_at is not None or shop.access_token_enc is None:
        raise ShopNotInstalledError("Sidecard is not installed on this shop")
    now = utcnow()
    if not _needs_refresh(shop, now):
        return shop.access_token  # type: ignore[return-value]
    if _refresh_dead(shop, now):
        if _still_valid(shop, now):
            return shop.access_token  # type: ignore[return-value]
        raise ShopNotInstalledError(REAUTH_MESSAGE)
    if _take_lease(shop, now):
        return _refresh_under_lease(shop)
    return _wait_for_other_refresh(shop, sleep, wait_seconds)


def _take_lease(shop: Shop, now: datetime) -> bool:
    """Claim the shop's refresh lease; True for the one process that got it."""
    result = db.session.execute(
        update(Shop)
        .where(Shop.id == shop.id,
               or_(Shop.refresh_lock_until.is_(None), Shop.refresh_lock_until < now))
        .values(refresh_lock_until=now + REFRESH_LEASE)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _release_lease(shop: Shop) -> None:
    """Give the lease back after a failed refresh so the next caller can try at once."""
    db.session.rollback()
    db.session.execute(update(Shop).where(Shop.id == shop.id).values(refresh_lock_until=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _refresh_under_lease(shop: Shop) -> str:
    """Refresh with the lease held; store access + rotated refresh token in one commit."""
    db.session.refresh(shop)  # the row may have changed between our read and the lease
    now = utcnow()
    if not _needs_refresh(shop, now):  # another process refreshed just before us
        _release_lease(shop)
        return shop.access_token  # type: ignore[return-value]
    try:
        tokens = _refresh(shop)
    except ShopNotInstalledError:
        # The refresh token is dead: keep the row (history, settings), remember that the
        # token is unusable so later calls fail fast, and ask for a new embedded load.
        db.session.rollback()
        shop.refresh_token_expires_at = utcnow()
        shop.refresh_lock_until = None
        db.session.commit()
        raise
    except Exception:
        _release_lease(shop)
        raise
    _store(shop, tokens, keep_refresh_token=True)  # also clears the lease
    db.session.commit()
    log.info("shopify token refreshed shop=%s expires_in=%s", shop.domain, tokens.expires_in)
    return tokens.access_token


def _refresh(shop: Shop) -> TokenSet:
    """Ask Shopify for a new access + refresh token (shopifyapp's refresh call)."""
    last_transport_error.set(None)
    # shopifyapp refreshes only when its `expires` is < 60 s away and otherwise answers
    # "token_still_valid". We refresh REFRESH_MARGIN early, so we hand it the moment the token
    # counts as expired for us (expires − margin), which is already past.
    expires_for_us = shop.access_token_expires_at - REFRESH_MARGIN  # type: ignore[operator]
    result = shopify_app().refresh_token_exchanged_access_token(
        {"shop": shop.domain.removesuffix(".myshopify.com"), "access_mode": "offline",
         "refresh_token": shop.refresh_token, "expires": _iso(expires_for_us),
         "refresh_token_expires": _iso(shop.refresh_token_expires_at)},
        http_client=admin_http_client())
    if result.ok and result.access_token is not None:
        return TokenSet.from_shopify_app(result.access_token)
    raise _grant_error(result.log.code, shop.domain, "token refresh")


def _wait_for_other_refresh(shop: Shop, sleep: Callable[[float], None],
                            wait_seconds: float) -> str:
    """Lost the lease: poll (a bounded number of times) for the winner's token."""
    polls = max(1, int(wait_seconds / LEASE_POLL_SECONDS))
    for _ in range(polls):
        sleep(LEASE_POLL_SECONDS)
        db.session.refresh(shop)  # re-read: the winner commits its new token
        now = utcnow()
        if shop.uninstalled_at is not None or shop.access_token_enc is None:
            raise ShopNotInstalledError("Sidecard is not installed on this shop")
        if not _needs_refresh(shop, now):
            return shop.access_token  # type: ignore[return-value]
        if shop.refresh_lock_until is None or shop.refresh_lock_until < now:
            # The winner gave up (failed refresh) or its lease lapsed: try ourselves.
            if _refresh_dead(shop, now):
                if _still_valid(shop, now):
                    return shop.access_token  # type: ignore[return-value]
                raise ShopNotInstalledError(REAUTH_MESSAGE)
            if _take_lease(shop, now):
                return _refresh_under_lease(shop)
    if _still_valid(shop, utcnow()):
        return shop.access_token  # type: ignore[return-value]
    raise ShopifyTimeoutError("Shopify token refresh is taking too long; try again")


def migrate_non_expiring_token(shop: Shop) -> Shop:
    """Swap a legacy non-expiring offline token for an expiring one (token exchange), commit.

    :raises ShopNotInstalledError: nothing to migrate.
    :raises AuthenticationError, ShopifyAuthError, ShopifyTimeoutError, ShopifyError.
    """
    if shop.uninstalled_at is not None or shop.access_token_enc is None:
        raise ShopNotInstalledError("Sidecard is not installed on this shop")
    if shop.access_token_expires_at is not None:
        return shop  # already expiring
    config = current_app.config
    tokens = _post_grant(shop.domain, {
        "client_id": config["SHOPIFY_API_KEY"], "client_secret": config["SHOPIFY_API_SECRET"],
        "grant_type": TOKEN_EXCHANGE_GRANT, "subject_token": shop.access_token,
        "subject_token_type": OFFLINE_TOKEN_TYPE, "requested_token_type": OFFLINE_TOKEN_TYPE,
        "expiring": "1"}, "token migration")
    _store(shop, tokens)
    db.session.commit()
    return shop
