"""Install bookkeeping: single-use `state` nonces, the authorize URL, recording an install."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import update

from plugin.exceptions import ValidationError
from plugin.extensions import db
from plugin.models import AuditEvent, OAuthState, Shop
from plugin.models.base import utcnow
from plugin.shopify.auth import TokenSet, save_install

log = logging.getLogger("sidecard.oauth")

CALLBACK_PATH = "/oauth/callback"
PATCH_ID_TOKEN_PATH = "/auth/patch-id-token"  # noqa: S105  (a path, not a secret)


def find_shop(domain: str) -> Shop | None:
    """The shop row for a normalised domain, if any."""
    return db.session.scalar(db.select(Shop).where(Shop.domain == domain))


def has_usable_token(shop: Shop | None) -> bool:
    """True when the shop is installed and its token is alive or can still be refreshed."""
    if shop is None or not shop.is_installed:
        return False
    now = utcnow()
    if shop.access_token_expires_at is None or shop.access_token_expires_at > now:
        return True
    return shop.refresh_token_enc is not None and (
        shop.refresh_token_expires_at is None or shop.refresh_token_expires_at > now)


def grants_required_scopes(shop: Shop) -> bool:
    """True when the shop granted every scope Sidecard asks for (write_x implies read_x)."""
    granted = shop.scope_set
    granted |= {"read_" + s.removeprefix("write_") for s in granted if s.startswith("write_")}
    required = {s.strip() for s in current_app.config["SCOPES"].split(",") if s.strip()}
    return required <= granted


def redirect_uri() -> str:
    """The callback URL; it must be listed in shopify.app.toml `[auth] redirect_urls`."""
    return current_app.config["APP_URL"] + CALLBACK_PATH


def create_state(shop_domain: str) -> str:
    """Store and return a new single-use nonce bound to the shop (commits)."""
    nonce = secrets.token_hex(32)
    ttl = int(current_app.config.get("OAUTH_STATE_TTL_SECONDS", 600))
    db.session.add(OAuthState(nonce=nonce, shop_domain=shop_domain,
                              expires_at=utcnow() + timedelta(seconds=ttl)))
    db.session.commit()
    return nonce


def consume_state(shop_domain: str, nonce: str) -> None:
    """Use up the shop's nonce; one conditional UPDATE, so a replay or a race gets nothing.

    :raises ValidationError: unknown, expired, already used, or another shop's nonce.
    """
    now = utcnow()
    used = db.session.execute(
        update(OAuthState)
        .where(OAuthState.nonce == nonce, OAuthState.shop_domain == shop_domain,
               OAuthState.used_at.is_(None), OAuthState.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    if used:
        return
    state = db.session.get(OAuthState, nonce)
    if state is None:
        reason = "The install link is not one Sidecard issued."
    elif state.shop_domain != shop_domain:
        reason = "The install link was issued for another shop."
    elif state.used_at is not None:
        reason = "The install link was already used."
    else:
        reason = "The install link has expired."
    log.info("oauth state refused for %s: %s", shop_domain, reason)
    raise ValidationError(reason + " Start the installation again from Shopify.")


def authorize_url(shop_domain: str, state: str) -> str:
    """Shopify's authorize page for an offline (expiring) token with Sidecard's scopes."""
    config = current_app.config
    query = urlencode({"client_id": config["SHOPIFY_API_KEY"], "scope": config["SCOPES"],
                       "redirect_uri": redirect_uri(), "state": state})
    return config["SHOPIFY_ADMIN_URL"].format(shop=shop_domain) + "/admin/oauth/authorize?" + query


def uses_real_admin() -> bool:
    """True when Shopify calls go to the real `https://{shop}` admin (not the sandbox)."""
    config = current_app.config
    return not config.get("DEMO_MODE") and config["SHOPIFY_ADMIN_URL"] == "https://{shop}"


def embedded_app_url(shop_domain: str) -> str:
    """Sidecard inside the shop's admin."""
    return f"https://{shop_domain}/admin/apps/{current_app.config['SHOPIFY_API_KEY']}"


def record_install(shop_domain: str, tokens: TokenSet, *, flow: str) -> Shop:
    """Store the tokens (`save_install` commits) and audit a new install or a re-auth."""
    before = find_shop(shop_domain)
    new_install = before is None or before.uninstalled_at is not None \
        or before.access_token_enc is None
    shop = save_install(shop_domain, tokens)
    db.session.add(AuditEvent(
        shop_id=shop.id, event="shop.installed" if new_install else "shop.reauthorized",
        status="done", summary=f"Sidecard {'installed' if new_install else 're-authorized'} "
                               f"({flow}); scopes {shop.scopes or 'none'}.",
        detail={"flow": flow, "scopes": sorted(shop.scope_set)}))
    db.session.commit()
    log.info("shop %s %s via %s", shop.domain, "installed" if new_install else "re-authorized",
             flow)
    return shop
