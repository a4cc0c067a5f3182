"""Id-token checks, token exchange, code grant, install storage and refresh under the lease."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import jwt
import pytest
from shopify_fakes import SECRET, SHOP, expire_in, make_id_token, make_shop

from plugin.crypto import encrypt
from plugin.exceptions import (
    AuthenticationError,
    InvalidShopError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyTimeoutError,
    ShopNotInstalledError,
)
from plugin.extensions import db
from plugin.models import Shop
from plugin.models.base import utcnow
from plugin.shopify.auth import (
    REAUTH_MESSAGE,
    TokenSet,
    exchange_code,
    exchange_id_token,
    fresh_access_token,
    migrate_non_expiring_token,
    save_install,
    verify_id_token,
)

TOKEN_PATH = "/admin/oauth/access_token"
EXPIRING_GRANT = {"access_token": "shpat_new", "scope": "read_orders,write_orders",
                  "expires_in": 3600, "refresh_token": "shprt_new",
                  "refresh_token_expires_in": 2592000}


def _token_url():
    return "http://admin.test/test-shop.myshopify.com/admin/oauth/access_token"


# --- id tokens ---------------------------------------------------------------------------

def test_good_id_token_yields_its_claims(app):
    """A token signed with the secret for our API key and this shop verifies."""
    claims = verify_id_token(make_id_token(), shop_domain=SHOP)
    assert claims["dest"] == f"https://{SHOP}" and claims["sub"] == "42"


def test_id_token_with_future_nbf_inside_leeway_verifies(app):
    """App Bridge often sends an nbf a few seconds ahead; 10 s of leeway absorbs it."""
    verify_id_token(make_id_token(nbf_in=8), shop_domain=SHOP)


def test_id_token_signed_with_old_secret_verifies_during_rotation(app):
    """While SHOPIFY_OLD_API_SECRET is set, tokens signed with it still verify."""
    old = "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"
    app.config["SHOPIFY_OLD_API_SECRET"] = old
    verify_id_token(make_id_token(secret=old), shop_domain=SHOP)


@pytest.mark.parametrize("token_kwargs, shop", [
    ({"secret": "shpss_wrongwrongwrongwrongwrongwrong12"}, SHOP),
    ({"aud": "other-app"}, SHOP),
    ({"exp_in": -30}, SHOP),
    ({"nbf_in": 30}, SHOP),
    ({}, "other-shop.myshopify.com"),
    ({"dest": "https://evil.com"}, None),
    ({"dest": "https://x.myshopify.com.evil.com"}, None),
    ({"iss": "https://other-shop.myshopify.com/admin"}, SHOP),
    ({"iss": None}, SHOP),
])
def test_bad_id_tokens_are_refused(app, token_kwargs, shop):
    """Wrong secret/audience, expired, not yet valid, other shop or bad dest/iss: refused."""
    claims = dict(token_kwargs)
    if claims.get("iss", "") is None:
        token = jwt.encode({k: v for k, v in jwt.decode(
            make_id_token(), options={"verify_signature": False}).items() if k != "iss"},
            SECRET, algorithm="HS256")
    else:
        token = make_id_token(**claims)
    with pytest.raises(AuthenticationError):
        verify_id_token(token, shop_domain=shop)


def test_id_token_with_another_algorithm_is_refused(app):
    """Only HS256 is accepted (no alg confusion)."""
    payload = jwt.decode(make_id_token(), options={"verify_signature": False})
    segments = [base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
                for part in ({"alg": "HS512", "typ": "JWT"}, payload)]
    signing_input = b".".join(segments)
    signature = hmac.new(SECRET.encode(), signing_input, hashlib.sha512).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
    with pytest.raises(AuthenticationError):
        verify_id_token(token, shop_domain=SHOP)


# --- token exchange ----------------------------------------------------------------------

def test_token_exchange_posts_id_token_for_expiring_offline_token(app, shopify):
    """exchange_id_token sends Shopify's token-exchange grant with expiring=1 via ADMIN_URL."""
    shopify.on(TOKEN_PATH, httpx.Response(200, json=EXPIRING_GRANT))
    id_token = make_id_token()
    tokens = exchange_id_token(SHOP, id_token)
    request = shopify.requests[0]
    assert str(request.url) == _token_url()
    body = json.loads(request.content)
    assert body["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert body["subject_token"] == id_token
    assert body["subject_token_type"] == "urn:ietf:params:oauth:token-type:id_token"
    assert body["requested_token_type"] == (
        "urn:shopify:params:oauth:token-type:offline-access-token")
    assert body["expiring"] == 1
    assert (body["client_id"], body["client_secret"]) == ("test-key", SECRET)
    assert tokens.access_token == "shpat_new" and tokens.refresh_token == "shprt_new"
    assert 3590 <= tokens.expires_in <= 3600
    assert 2592000 - 10 <= tokens.refresh_token_expires_in <= 2592000
    assert "shpat_new" not in repr(tokens)


def test_bad_id_token_is_refused_before_any_http(app, shopify):
    """An id token that fails verification never reaches Shopify."""
    with pytest.raises(AuthenticationError):
        exchange_id_token(SHOP, make_id_token(secret="shpss_wrongwrongwrongwrongwrongwrong12"))
    assert shopify.requests == []


def test_invalid_shop_is_refused(app, shopify):
    """The shop argument must be a *.myshopify.com domain."""
    with pytest.raises(InvalidShopError):
        exchange_id_token("evil.com/x.myshopify.com", make_id_token())


@pytest.mark.parametrize("response, error", [
    (httpx.Response(400, json={"error": "invalid_subject_token"}), AuthenticationError),
    (httpx.Response(400, json={"error": "invalid_client"}), ShopifyAuthError),
    (httpx.Response(500, json={"error": "oops"}), ShopifyError),
    (httpx.ReadTimeout("slow"), ShopifyTimeoutError),
    (httpx.ConnectError("refused"), ShopifyError),
])
def test_token_exchange_errors_are_typed(app, shopify, response, error):
    """Shopify's refusals and network failures map to Sidecard's exceptions."""
    shopify.on(TOKEN_PATH, response)
    with pytest.raises(error) as caught:
        exchange_id_token(SHOP, make_id_token())
    if error is ShopifyError:
        assert type(caught.value) is ShopifyError  # not a timeout
    if error is AuthenticationError:
        assert caught.value.extra.get("retry_invalid_session") is True


# --- authorization code ------------------------------------------------------------------

def test_code_exchange_requests_an_expiring_token(app, shopify):
    """The code grant posts client id/secret, code and expiring "1" to the shop via ADMIN_URL."""
    shopify.on(TOKEN_PATH, httpx.Response(200, json=EXPIRING_GRANT))
    tokens = exchange_code(SHOP, "code-123")
    request = shopify.requests[0]
    assert str(request.url) == _token_url()
    assert json.loads(request.content) == {"client_id": "test-key",
                                           "client_secret": SECRET,
                                           "code": "code-123", "expiring": "1"}
    assert tokens == TokenSet("shpat_new", "read_orders,write_orders", 3600, "shprt_new",
                              2592000)


@pytest.mark.parametrize("response, error", [
    (httpx.Response(400, json={"error": "invalid_request",
                               "error_description": "code was already used"}),
     AuthenticationError),
    (httpx.Response(401, json={"error": "invalid_client"}), ShopifyAuthError),
    (httpx.Response(503, text="unavailable"), ShopifyError),
    (httpx.Response(200, json={"scope": "x"}), ShopifyError),
    (httpx.ReadTimeout("slow"), ShopifyTimeoutError),
])
def test_code_exchange_errors_are_typed_and_never_retried(app, shopify, response, error):
    """A single-use code is posted once; failures map to typed errors."""
    shopify.on(TOKEN_PATH, response)
    with pytest.raises(error):
        exchange_code(SHOP, "code-123")
    assert len(shopify.requests) == 1


# --- storage -----------------------------------------------------------------------------

def test_save_install_creates_the_shop_with_encrypted_tokens(app):
    """A new shop row holds encrypted tokens, their expiries and scopes."""
    shop = save_install(SHOP, TokenSet(**{"access_token": "shpat_a", "scope": "read_orders",
                                          "expires_in": 3600, "refresh_token": "shprt_a",
                                          "refresh_token_expires_in": 86400}))
    db.session.expire_all()
    shop = db.session.execute(db.select(Shop).filter_by(domain=SHOP)).scalar_one()
    assert shop.access_token_enc != "shpat_a" and "shpat_a" not in shop.access_token_enc
    assert shop.refresh_token_enc != "shprt_a"
    assert (shop.access_token, shop.refresh_token) == ("shpat_a", "shprt_a")
    assert shop.scopes == "read_orders" and shop.is_installed and shop.installed_at
    assert timedelta(minutes=59) < shop.access_token_expires_at - utcnow() <= timedelta(hours=1)


def test_save_install_reinstalls_an_uninstalled_shop(app):
    """Reinstalling keeps the row, clears uninstalled_at and stores the new tokens."""
    shop = make_shop()
    shop.clear_tokens()
    shop.uninstalled_at = utcnow()
    db.session.commit()
    again = save_install(SHOP.upper().replace(".MYSHOPIFY.COM", ".myshopify.com"),
                         TokenSet("shpat_b", "read_orders", 3600, "shprt_b", 86400))
    assert again.id == shop.id and again.uninstalled_at is None
    assert again.access_token == "shpat_b"
    assert db.session.execute(db.select(db.func.count()).select_from(Shop)).scalar() == 1


# --- refresh -----------------------------------------------------------------------------

def test_token_far_from_expiry_is_used_without_refresh(app, shopify):
    """More than 5 minutes left: no call to Shopify."""
    shop = make_shop(expires_in=3600)
    assert fresh_access_token(shop) == "shpat_old"
    assert shopify.requests == []


def test_token_near_expiry_is_refreshed_and_rotation_stored_encrypted(app, shopify):
    """Under 5 minutes left: refresh, store new access + refresh token together, free lease."""
    shopify.on(TOKEN_PATH, httpx.Response(200, json=EXPIRING_GRANT))
    shop = make_shop()
    expire_in(shop, 240)  # 4 minutes: shopifyapp alone would not refresh yet (60 s rule)
    assert fresh_access_token(shop) == "shpat_new"
    body = json.loads(shopify.requests[0].content)
    assert str(shopify.requests[0].url) == _token_url()
    assert body == {"client_id": "test-key", "client_secret": SECRET,
                    "grant_type": "refresh_token", "refresh_token": "shprt_old"}
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert (stored.access_token, stored.refresh_token) == ("shpat_new", "shprt_new")
    assert "shprt_new" not in stored.refresh_token_enc
    assert stored.access_token_expires_at - utcnow() > timedelta(minutes=59)
    assert stored.refresh_token_expires_at - utcnow() > timedelta(days=29)
    assert stored.refresh_lock_until is None
    assert fresh_access_token(stored) == "shpat_new" and len(shopify.requests) == 1


def test_refresh_without_new_refresh_token_keeps_the_old_one(app, shopify):
    """If Shopify's answer lacks a refresh token, the current one is kept."""
    shopify.on(TOKEN_PATH, httpx.Response(200, json={"access_token": "shpat_new",
                                                     "scope": "read_orders",
                                                     "expires_in": 3600}))
    shop = make_shop()
    expire_in(shop, 30)
    fresh_access_token(shop)
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert stored.refresh_token == "shprt_old" and stored.refresh_token_expires_at is not None


def test_revoked_refresh_token_asks_for_reauth_and_keeps_the_row(app, shopify):
    """invalid_grant: ShopNotInstalledError('reopen …'), row kept, later calls fail fast."""
    shopify.on(TOKEN_PATH, httpx.Response(400, json={"error": "invalid_grant"}))
    shop = make_shop()
    expire_in(shop, -10)
    with pytest.raises(ShopNotInstalledError, match="reopen Sidecard"):
        fresh_access_token(shop)
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert stored is not None and stored.access_token_enc and stored.refresh_token_enc
    assert stored.refresh_lock_until is None
    with pytest.raises(ShopNotInstalledError, match="reopen Sidecard"):
        fresh_access_token(stored)
    assert len(shopify.requests) == 1


def test_expired_refresh_token_uses_remaining_access_token_then_asks_for_reauth(app, shopify):
    """Refresh token dead: the access token is used while valid, then re-auth is required."""
    shop = make_shop(refresh_expires_in=1)
    shop.refresh_token_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expire_in(shop, 120)
    assert fresh_access_token(shop) == "shpat_old"
    expire_in(shop, -1)
    with pytest.raises(ShopNotInstalledError) as caught:
        fresh_access_token(shop)
    assert caught.value.message == REAUTH_MESSAGE
    assert shopify.requests == []


@pytest.mark.parametrize("response, error", [
    (httpx.Response(400, json={"error": "invalid_client"}), ShopifyAuthError),
    (httpx.Response(503, text="busy"), ShopifyError),
    (httpx.ReadTimeout("slow"), ShopifyTimeoutError),
])
def test_failed_refresh_raises_and_releases_the_lease(app, shopify, response, error):
    """A failed refresh keeps the tokens and frees the lease for the next try."""
    shopify.on(TOKEN_PATH, response)
    shop = make_shop()
    expire_in(shop, 60)
    with pytest.raises(error):
        fresh_access_token(shop)
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert stored.refresh_lock_until is None and stored.refresh_token == "shprt_old"


def test_uninstalled_shop_has_no_token(app, shopify):
    """An uninstalled shop raises ShopNotInstalledError."""
    shop = make_shop()
    shop.clear_tokens()
    shop.uninstalled_at = utcnow()
    db.session.commit()
    with pytest.raises(ShopNotInstalledError):
        fresh_access_token(shop)


def test_legacy_non_expiring_token_is_used_as_is(app, shopify):
    """A token without expiry (pre-2026 install) is returned without refresh."""
    shop = make_shop(expires_in=None, refresh_token=None)
    assert fresh_access_token(shop) == "shpat_old" and shopify.requests == []


def test_lease_held_elsewhere_waits_for_the_winners_token(app, shopify, fake_time):
    """Losing the lease: no refresh call; the token the winner commits is picked up."""
    shop = make_shop()
    expire_in(shop, 60)
    shop.refresh_lock_until = utcnow() + timedelta(seconds=30)
    db.session.commit()
    winners_token = encrypt("shpat_won")

    def winner_commits(seconds):
        fake_time.sleep(seconds)
        if len(fake_time.sleeps) == 3:  # the other process finishes during our third poll
            db.session.execute(db.update(Shop).where(Shop.id == shop.id).values(
                access_token_enc=winners_token, refresh_lock_until=None,
                access_token_expires_at=utcnow() + timedelta(hours=1)))
            db.session.commit()

    assert fresh_access_token(shop, sleep=winner_commits) == "shpat_won"
    assert shopify.requests == [] and len(fake_time.sleeps) == 3


def test_lease_never_released_returns_still_valid_token_or_times_out(app, shopify, fake_time):
    """Bounded wait: a still-valid token is used; an expired one gives ShopifyTimeoutError."""
    shop = make_shop()
    expire_in(shop, 120)
    shop.refresh_lock_until = utcnow() + timedelta(seconds=30)
    db.session.commit()
    assert fresh_access_token(shop, sleep=fake_time.sleep, wait_seconds=0.5) == "shpat_old"
    assert len(fake_time.sleeps) == 5
    expire_in(shop, -5)
    shop.refresh_lock_until = utcnow() + timedelta(seconds=30)
    db.session.commit()
    with pytest.raises(ShopifyTimeoutError):
        fresh_access_token(shop, sleep=fake_time.sleep, wait_seconds=0.3)
    assert shopify.requests == []


def test_lapsed_lease_is_taken_over(app, shopify):
    """A lease left by a crashed process expires and the next caller refreshes."""
    shopify.on(TOKEN_PATH, httpx.Response(200, json=EXPIRING_GRANT))
    shop = make_shop()
    expire_in(shop, 60)
    shop.refresh_lock_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert fresh_access_token(shop) == "shpat_new"


def test_non_expiring_token_migrates_to_an_expiring_one(app, shopify):
    """Token exchange with the old offline token as subject yields an expiring token set."""
    shopify.on(TOKEN_PATH, httpx.Response(200, json=EXPIRING_GRANT))
    shop = make_shop(expires_in=None, refresh_token=None)
    migrate_non_expiring_token(shop)
    body = json.loads(shopify.requests[0].content)
    assert body["subject_token"] == "shpat_old"
    assert body["subject_token_type"] == body["requested_token_type"] == (
        "urn:shopify:params:oauth:token-type:offline-access-token")
    assert body["expiring"] == "1"
    assert shop.access_token == "shpat_new" and shop.refresh_token == "shprt_new"
    assert shop.access_token_expires_at is not None
