"""Legacy install / non-embedded: signed install request → authorize → callback → code exchange."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import respx
from install_data import GRANTED, SECRET, SHOP

from plugin.extensions import db
from plugin.models import AuditEvent, OAuthState, Shop
from plugin.models.base import utcnow

BAD_SHOPS = ["evil.com", "test-shop.myshopify.com.evil.com", "test-shop.myshopify.com/x",
             "https://test-shop.myshopify.com", "-test.myshopify.com", "test_shop.myshopify.com",
             "test-shop.myshopify.com:443", "a.b.myshopify.com"]


def url(path, params):
    """Path with a query string."""
    return path + "?" + urlencode(params)


def start_install(client, signed, shop=SHOP):
    """Send the signed install request; return Shopify's authorize URL parameters."""
    response = client.get(url("/", signed(shop=shop)))
    assert response.status_code == 302, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)


def stored_shop(domain=SHOP):
    """The shop row, re-read."""
    db.session.expire_all()
    return db.session.scalar(db.select(Shop).where(Shop.domain == domain))


def test_install_request_redirects_to_authorize_with_state(app, client, signed):
    """A signed install request goes to Shopify's authorize page with a fresh single-use state."""
    response = client.get(url("/", signed(shop=SHOP)))
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https", SHOP, "/admin/oauth/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == ["test-key"]
    assert query["scope"] == ["read_customers,read_orders,write_orders"]
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/oauth/callback"]
    assert "grant_options[]" not in query  # offline token
    state = db.session.get(OAuthState, query["state"][0])
    assert re.fullmatch(r"[0-9a-f]{64}", state.nonce)
    assert state.shop_domain == SHOP and state.used_at is None
    assert utcnow() + timedelta(minutes=9) < state.expires_at <= utcnow() + timedelta(minutes=10)


def test_authorization_code_flow_end_to_end(app, client, signed, token_endpoint):
    """Install → callback with a valid hmac → code exchange → shop stored → into the admin."""
    state = start_install(client, signed)["state"][0]
    response = client.get(url("/oauth/callback", signed(code="auth-code", shop=SHOP,
                                                         state=state, host="abc")))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/test-key"
    sent = json.loads(token_endpoint.calls.last.request.content)
    assert sent == {"client_id": "test-key", "client_secret": SECRET, "code": "auth-code",
                    "expiring": "1"}
    shop = stored_shop()
    assert shop.is_installed and shop.access_token == GRANTED["access_token"]
    assert shop.refresh_token == GRANTED["refresh_token"]
    assert GRANTED["access_token"] not in shop.access_token_enc
    assert db.session.get(OAuthState, state).used_at is not None
    assert db.session.scalar(db.select(AuditEvent.event)) == "shop.installed"


def test_replayed_state_is_refused(app, client, signed, token_endpoint):
    """The same callback twice: the second is 400 and Shopify is asked once."""
    state = start_install(client, signed)["state"][0]
    callback = url("/oauth/callback", signed(code="c1", shop=SHOP, state=state))
    assert client.get(callback).status_code == 302
    again = client.get(callback)
    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)
    assert token_endpoint.call_count == 1


def test_state_of_another_shop_is_refused(app, client, signed, token_endpoint):
    """A nonce issued for shop A cannot complete an install of shop B."""
    state = start_install(client, signed, "other-shop.myshopify.com")["state"][0]
    response = client.get(url("/oauth/callback", signed(code="c", shop=SHOP, state=state)))
    assert response.status_code == 400
    assert not token_endpoint.called and stored_shop() is None


def test_expired_state_is_refused(app, client, signed, token_endpoint):
    """A nonce past its TTL is refused."""
    state = start_install(client, signed)["state"][0]
    db.session.get(OAuthState, state).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(url("/oauth/callback", signed(code="c", shop=SHOP, state=state)))
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert not token_endpoint.called


def test_unknown_state_is_refused(app, client, signed, token_endpoint):
    """A state Sidecard never issued is refused."""
    response = client.get(url("/oauth/callback", signed(code="c", shop=SHOP, state="f" * 64)))
    assert response.status_code == 400
    assert not token_endpoint.called


@pytest.mark.parametrize("path", ["/", "/oauth/callback"])
def test_forged_hmac_is_refused(app, client, signed, token_endpoint, path):
    """A query signed with another secret: 401 page, no state, no exchange."""
    params = signed(secret="shpss_" + "f" * 32, code="c", shop=SHOP, state="s")
    response = client.get(url(path, params))
    assert response.status_code == 401
    assert "text/html" in response.content_type
    assert not token_endpoint.called
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthState)) == 0


@pytest.mark.parametrize("path", ["/", "/oauth/callback"])
def test_tampered_query_is_refused(app, client, signed, token_endpoint, path):
    """Changing a signed parameter after signing breaks the hmac."""
    params = signed(code="c", shop=SHOP, state="s")
    params["shop"] = "other-shop.myshopify.com"
    assert client.get(url(path, params)).status_code == 401


@pytest.mark.parametrize("path", ["/", "/oauth/callback"])
def test_stale_hmac_timestamp_is_refused(app, client, signed, token_endpoint, path):
    """A correctly signed query older than 24 h is refused."""
    old = str(int(time.time()) - 25 * 3600)
    response = client.get(url(path, signed(code="c", shop=SHOP, state="s", timestamp=old)))
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/", "/oauth/callback"])
@pytest.mark.parametrize("shop", BAD_SHOPS)
def test_bad_shop_domain_is_refused(app, client, signed, token_endpoint, path, shop):
    """Only *.myshopify.com shop domains pass, even when correctly signed."""
    response = client.get(url(path, signed(code="c", shop=shop, state="s")))
    assert response.status_code == 400
    assert not token_endpoint.called
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthState)) == 0


@pytest.mark.parametrize("missing", ["code", "state", "hmac", "timestamp"])
def test_callback_missing_a_parameter_is_a_bad_request(app, client, signed, missing):
    """The callback names the missing parameter."""
    params = signed(code="c", shop=SHOP, state="s")
    params.pop(missing)
    response = client.get(url("/oauth/callback", params))
    assert response.status_code == 400
    assert missing in response.get_data(as_text=True)


@pytest.mark.parametrize("answer, status", [
    (httpx.Response(500), 502),
    (httpx.Response(503, json={"errors": "unavailable"}), 502),
    (httpx.ReadTimeout("slow"), 504),
], ids=["500", "503", "timeout"])
def test_shopify_failure_during_code_exchange_stores_nothing(app, client, signed,
                                                             token_endpoint, answer, status):
    """Shopify failing or timing out during the exchange: 502/504 page, no shop row."""
    state = start_install(client, signed)["state"][0]
    if isinstance(answer, Exception):
        token_endpoint.mock(side_effect=answer)
    else:
        token_endpoint.mock(return_value=answer)
    response = client.get(url("/oauth/callback", signed(code="c", shop=SHOP, state=state)))
    assert response.status_code == status
    assert "text/html" in response.content_type
    assert stored_shop() is None


def test_refused_code_is_unauthorized(app, client, signed, token_endpoint):
    """A code Shopify refuses (used or expired) is a 401 that says to start again."""
    state = start_install(client, signed)["state"][0]
    token_endpoint.mock(return_value=httpx.Response(400, json={"error": "invalid_request"}))
    response = client.get(url("/oauth/callback", signed(code="c", shop=SHOP, state=state)))
    assert response.status_code == 401
    assert stored_shop() is None


def test_embedded_install_request_breaks_out_of_the_iframe(app, client, signed):
    """Inside the admin iframe, the authorize page is opened in the top frame via App Bridge."""
    response = client.get(url("/", signed(shop=SHOP, embedded="1", host="abc")))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "app-bridge.js" in html and "window.open(" in html and '"_top"' in html
    assert f"https://{SHOP}/admin/oauth/authorize?" in html
    assert response.headers["Content-Security-Policy"].startswith(
        f"frame-ancestors https://{SHOP} https://admin.shopify.com")


def test_installed_shop_goes_straight_to_the_embedded_app(app, client, signed):
    """A signed request for an installed shop opens the app in the admin, no new OAuth."""
    shop = Shop(domain=SHOP, installed_at=utcnow())
    shop.store_tokens(access_token="t", scopes="read_customers,write_orders", expires_in=3600,
                      refresh_token="r", refresh_token_expires_in=86400)
    db.session.add(shop)
    db.session.commit()
    response = client.get(url("/", signed(shop=SHOP)))
    assert response.headers["Location"] == f"https://{SHOP}/admin/apps/test-key"
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthState)) == 0


def test_install_against_a_local_admin_returns_to_the_app_home(request, app_config):
    """With SHOPIFY_ADMIN_URL on a local server, the whole flow uses it and ends on the app home."""
    admin = "http://127.0.0.1:8001/{shop}"
    app_config["SHOPIFY_ADMIN_URL"] = admin
    client = request.getfixturevalue("client")
    signed = request.getfixturevalue("signed")
    response = client.get(url("/", signed(shop=SHOP)))
    location = response.headers["Location"]
    assert location.startswith(f"http://127.0.0.1:8001/{SHOP}/admin/oauth/authorize?")
    state = parse_qs(urlsplit(location).query)["state"][0]
    with respx.mock() as mock:
        mock.post(f"http://127.0.0.1:8001/{SHOP}/admin/oauth/access_token").mock(
            return_value=httpx.Response(200, json=GRANTED))
        callback = client.get(url("/oauth/callback", signed(code="c", shop=SHOP, state=state)))
    assert callback.status_code == 302
    home = client.get(callback.headers["Location"])
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert SHOP in html and "Sidecard is installed" in html
    assert "app-bridge.js" not in html  # not inside the admin: App Bridge would redirect


def test_embedded_request_for_an_installed_shop_fetches_an_id_token(app, client, signed):
    """Signed, in the iframe, already installed, no id token: bounce to the patch page."""
    shop = Shop(domain=SHOP, installed_at=utcnow())
    shop.store_tokens(access_token="t", scopes="read_customers,write_orders", expires_in=3600,
                      refresh_token="r", refresh_token_expires_in=86400)
    db.session.add(shop)
    db.session.commit()
    response = client.get(url("/", signed(shop=SHOP, embedded="1", host="abc")))
    assert response.status_code == 302
    assert "/auth/patch-id-token?" in response.headers["Location"]


def test_install_request_without_shop_is_a_bad_request(app, client, signed):
    """hmac and timestamp without shop: 400 naming it."""
    params = signed(host="abc")
    response = client.get(url("/", params))
    assert response.status_code == 400
    assert "shop" in response.get_data(as_text=True)
