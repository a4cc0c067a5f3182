"""OAuth stand-in: authorize, code grant, token exchange, refresh rotation, token checks."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from sandbox_kit import API_KEY, API_SECRET, GRAPHQL, SHOP

from plugin.sandbox.oauth import host_param, sign_query
from plugin.shopify.hmac import verify_query_hmac

TOKEN_URL = f"/{SHOP}/admin/oauth/access_token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
SHOP_QUERY = "query { shop { name } }"


def credentials(**extra):
    """The app's client credentials plus a grant."""
    return {"client_id": API_KEY, "client_secret": API_SECRET, **extra}


def authorize(sandbox, **extra):
    """Hit the authorize page; returns the redirect's query parameters."""
    params = {"client_id": API_KEY, "scope": "read_orders,write_orders", "state": "nonce-1",
              "redirect_uri": "https://app.example/oauth/callback", **extra}
    response = sandbox.http.get(f"/{SHOP}/admin/oauth/authorize", params=params)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://app.example/oauth/callback")
    return dict(parse_qsl(location.query))


def exchange(sandbox, subject, **extra):
    """POST a token exchange."""
    return sandbox.http.post(TOKEN_URL, json=credentials(
        grant_type=EXCHANGE, subject_token=subject, subject_token_type=ID_TOKEN,
        requested_token_type=OFFLINE, expiring=1, **extra))


@pytest.mark.parametrize(("message", "expected"), [
    ("code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com"
     "&state=0.6784241404160823&timestamp=1337178173",
     "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"),
    ("code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&timestamp=1337178173",
     "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"),
])
def test_query_signatures_match_shopify_test_vectors(message, expected):
    """Known-answer test: the sandbox signs query strings exactly like Shopify."""
    assert sign_query(dict(parse_qsl(message)), "hush") == expected


def test_authorize_redirects_with_a_signed_code(sandbox):
    """The callback query is signed with the app secret and carries code, host, shop, state."""
    params = authorize(sandbox)
    assert params["shop"] == SHOP and params["state"] == "nonce-1"
    assert params["host"] == host_param(SHOP)
    verify_query_hmac(params, API_SECRET, max_age_seconds=60)


def test_authorize_refuses_an_unknown_client(sandbox):
    """A client id other than the app's: 400, no code."""
    response = sandbox.http.get(f"/{SHOP}/admin/oauth/authorize", params={
        "client_id": "someone", "redirect_uri": "https://x.example/cb", "state": "s"})
    assert response.status_code == 400


def test_code_grant_issues_an_expiring_token_once(sandbox):
    """The code buys one expiring token set; a second use is refused."""
    code = authorize(sandbox)["code"]
    granted = sandbox.http.post(TOKEN_URL, json=credentials(code=code, expiring="1")).json()
    assert granted["scope"] == "read_orders,write_orders"
    assert granted["expires_in"] == 3600 and granted["refresh_token_expires_in"] == 2592000
    assert granted["access_token"].startswith("shpat_")
    reused = sandbox.http.post(TOKEN_URL, json=credentials(code=code, expiring="1"))
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_request"


def test_code_grant_accepts_a_form_body_and_non_expiring_tokens(sandbox, store):
    """Form-encoded bodies work; without `expiring` the token never expires."""
    code = authorize(sandbox)["code"]
    granted = sandbox.http.post(TOKEN_URL, data=credentials(code=code)).json()
    assert "expires_in" not in granted and "refresh_token" not in granted
    store.advance(10 * 24 * 3600)
    assert sandbox.post(SHOP_QUERY, token=granted["access_token"]).status_code == 200


def test_per_user_grant_gives_an_online_token(sandbox):
    """grant_options[]=per-user: an online token with its associated user."""
    code = authorize(sandbox, **{"grant_options[]": "per-user"})["code"]
    granted = sandbox.http.post(TOKEN_URL, json=credentials(code=code)).json()
    assert granted["associated_user"]["id"] == 1 and granted["expires_in"] == 3600


@pytest.mark.parametrize("bad", [{"client_id": "wrong"}, {"client_secret": "wrong"}])
def test_wrong_client_credentials_are_invalid_client(sandbox, bad):
    """Bad client id or secret: invalid_client, whatever the grant."""
    body = {**credentials(code=authorize(sandbox)["code"]), **bad}
    response = sandbox.http.post(TOKEN_URL, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_token_exchange_of_a_valid_id_token(sandbox, store):
    """An App Bridge id token for this app and shop buys an expiring offline token."""
    granted = exchange(sandbox, store.id_token(SHOP, user_id=7)).json()
    assert granted["expires_in"] == 3600 and granted["refresh_token"]
    assert sandbox.post(SHOP_QUERY, token=granted["access_token"]).status_code == 200


@pytest.mark.parametrize("tamper", ["secret", "audience", "shop", "expired"])
def test_token_exchange_refuses_a_bad_subject_token(sandbox, store, tamper):
    """Wrong signature, audience, destination or an expired token: invalid_subject_token."""
    now = int(time.time())
    claims = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY,
              "sub": "1", "exp": now + 60, "nbf": now, "iat": now, "jti": "j", "sid": "s"}
    secret = API_SECRET
    if tamper == "secret":
        secret = "shpss_" + "f" * 32
    elif tamper == "audience":
        claims["aud"] = "another-app"
    elif tamper == "shop":
        claims["dest"] = "https://other-shop.myshopify.com"
    else:
        claims.update(exp=now - 120, iat=now - 180, nbf=now - 180)
    response = exchange(sandbox, jwt.encode(claims, secret, algorithm="HS256"))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_subject_token"}


def test_refresh_rotates_and_the_old_token_lives_until_the_new_one_is_used(sandbox, store):
    """Refresh gives a new access and refresh token; the old refresh token keeps working
    until the replacement is used, then it is retired."""
    first = exchange(sandbox, store.id_token(SHOP)).json()
    second = sandbox.http.post(TOKEN_URL, json=credentials(
        grant_type="refresh_token", refresh_token=first["refresh_token"])).json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    # The response was lost: the old refresh token still works.
    retry = sandbox.http.post(TOKEN_URL, json=credentials(
        grant_type="refresh_token", refresh_token=first["refresh_token"]))
    assert retry.status_code == 200
    # Using a replacement retires the token it replaced.
    newest = retry.json()
    assert sandbox.http.post(TOKEN_URL, json=credentials(
        grant_type="refresh_token", refresh_token=newest["refresh_token"])).status_code == 200
    stale = sandbox.http.post(TOKEN_URL, json=credentials(
        grant_type="refresh_token", refresh_token=first["refresh_token"]))
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_expired_refresh_token_is_invalid_grant(sandbox, store):
    """After 30 days the refresh token is dead: the shop must re-authenticate."""
    granted = exchange(sandbox, store.id_token(SHOP)).json()
    store.advance(30 * 24 * 3600 + 1)
    response = sandbox.http.post(TOKEN_URL, json=credentials(
        grant_type="refresh_token", refresh_token=granted["refresh_token"]))
    assert response.json()["error"] == "invalid_grant"


def test_access_tokens_expire_after_an_hour(sandbox, store):
    """An expired access token gets Shopify's 401 body."""
    token = exchange(sandbox, store.id_token(SHOP)).json()["access_token"]
    store.advance(3601)
    response = sandbox.post(SHOP_QUERY, token=token)
    assert response.status_code == 401
    assert response.json() == {"errors": "[API] Invalid API key or access token "
                                         "(unrecognized login or wrong password)"}


@pytest.mark.parametrize("token", ["", "shpat_unknown"])
def test_unknown_access_tokens_are_refused(sandbox, token):
    """Tokens the store never issued: 401."""
    assert sandbox.post(SHOP_QUERY, token=token).status_code == 401


def test_a_token_of_another_shop_is_refused(sandbox, store):
    """Tokens are per shop."""
    store.add_shop("other-shop.myshopify.com")
    other = store.issue_tokens("other-shop.myshopify.com")["access_token"]
    assert sandbox.post(SHOP_QUERY, token=other).status_code == 401


def test_only_the_configured_api_version_is_served(sandbox):
    """Another version path is a 404."""
    response = sandbox.post(SHOP_QUERY, path=GRAPHQL.replace("2026-10", "2025-01"))
    assert response.status_code == 404


def test_unknown_shops_are_404(sandbox):
    """A shop the store does not host is not found."""
    path = GRAPHQL.replace(SHOP, "nobody.myshopify.com")
    assert sandbox.post(SHOP_QUERY, path=path).status_code == 404


def test_the_shop_can_come_from_the_host_header(sandbox):
    """`https://{shop}/admin/...` (no shop segment) reaches the same shop."""
    response = sandbox.http.post("https://" + SHOP + "/admin/api/2026-10/graphql.json",
                                 json={"query": SHOP_QUERY},
                                 headers={"X-Shopify-Access-Token": sandbox.token})
    assert response.json()["data"]["shop"]["name"]


def test_app_load_params_are_signed_and_carry_an_id_token(store):
    """What the admin appends on an embedded load: verifiable hmac, id token for this app."""
    store.bind_app(API_KEY, API_SECRET)
    params = store.app_load_params(SHOP, user_id=42)
    verify_query_hmac(params, API_SECRET, max_age_seconds=60)
    claims = jwt.decode(params["id_token"], API_SECRET, algorithms=["HS256"], audience=API_KEY)
    assert claims["dest"] == f"https://{SHOP}" and claims["iss"] == f"https://{SHOP}/admin"
    assert claims["sub"] == "42" and claims["exp"] - claims["iat"] == 60
    assert params["embedded"] == "1" and params["host"] == host_param(SHOP)
