"""Embedded load with an App Bridge id token: managed install by token exchange, app home."""

from __future__ import annotations

import json
import sys
import types
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from install_data import GRANTED, SECRET, SHOP

from plugin.extensions import db
from plugin.models import AuditEvent, Shop
from plugin.models.base import utcnow

FRAME_ANCESTORS = f"frame-ancestors https://{SHOP} https://admin.shopify.com"


def embedded_url(id_token, shop=SHOP, **extra):
    """The URL Shopify's admin loads in its iframe."""
    params = {"embedded": "1", "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGVzdC1zaG9w",
              "id_token": id_token, "locale": "en", "session": "abc", "shop": shop,
              "timestamp": "1700000000", "hmac": "ignored-when-an-id-token-is-present", **extra}
    return "/?" + urlencode(params)


def stored_shop(domain=SHOP):
    """The shop row, re-read."""
    db.session.expire_all()
    return db.session.scalar(db.select(Shop).where(Shop.domain == domain))


def installed_shop(**fields):
    """An installed shop with a live expiring token."""
    shop = Shop(domain=SHOP, installed_at=utcnow(), **fields)
    shop.store_tokens(access_token="shpat_old", scopes="read_customers,read_orders,write_orders",
                      expires_in=3600, refresh_token="shprt_old",
                      refresh_token_expires_in=86400)
    db.session.add(shop)
    db.session.commit()
    return shop


def test_first_embedded_load_installs_by_token_exchange(app, client, make_id_token,
                                                        token_endpoint):
    """A new shop's first load exchanges the id token for an expiring offline token."""
    id_token = make_id_token()
    response = client.get(embedded_url(id_token))
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = json.loads(token_endpoint.calls.last.request.content)
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert sent["subject_token"] == id_token
    assert sent["subject_token_type"] == "urn:ietf:params:oauth:token-type:id_token"
    assert sent["requested_token_type"] == \
        "urn:shopify:params:oauth:token-type:offline-access-token"
    assert str(sent["expiring"]) == "1"
    assert (sent["client_id"], sent["client_secret"]) == ("test-key", SECRET)
    shop = stored_shop()
    assert shop.is_installed
    assert shop.access_token == GRANTED["access_token"]
    assert shop.refresh_token == GRANTED["refresh_token"]
    assert shop.scope_set == {"read_customers", "read_orders", "write_orders"}
    assert shop.access_token_expires_at > utcnow() + timedelta(minutes=55)
    assert shop.refresh_token_expires_at > utcnow() + timedelta(days=29)
    assert db.session.scalar(db.select(AuditEvent.event)) == "shop.installed"


def test_tokens_are_encrypted_at_rest(app, client, make_id_token, token_endpoint):
    """The stored columns are ciphertext, never the tokens themselves."""
    client.get(embedded_url(make_id_token()))
    row = db.session.execute(db.text(
        "SELECT access_token_enc, refresh_token_enc FROM shops")).one()
    assert GRANTED["access_token"] not in row[0]
    assert GRANTED["refresh_token"] not in row[1]


def test_app_home_is_an_embeddable_app_bridge_page(app, client, make_id_token, token_endpoint):
    """The app home loads App Bridge with the API key and may be framed by the admin only."""
    response = client.get(embedded_url(make_id_token()))
    html = response.get_data(as_text=True)
    assert '<meta name="shopify-api-key" content="test-key">' in html
    assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in html
    assert html.index("app-bridge.js") < html.index("</head>")
    assert response.headers["Content-Security-Policy"].startswith(FRAME_ANCESTORS)
    assert "app-bridge.js" in response.headers["Link"]
    for shown in (SHOP, "2026-10", "write_orders", "helpdesk connect"):
        assert shown in html


def test_installed_shop_is_not_exchanged_again(app, client, make_id_token, token_endpoint):
    """A shop with a usable token renders the app home without calling Shopify."""
    installed_shop()
    response = client.get(embedded_url(make_id_token()))
    assert response.status_code == 200
    assert not token_endpoint.called
    assert stored_shop().access_token == "shpat_old"


def test_uninstalled_shop_reinstalls_on_load(app, client, make_id_token, token_endpoint):
    """After an uninstall, the next load exchanges again and clears uninstalled_at."""
    shop = installed_shop()
    shop.clear_tokens()
    shop.uninstalled_at = utcnow()
    db.session.commit()
    assert client.get(embedded_url(make_id_token())).status_code == 200
    assert token_endpoint.call_count == 1
    shop = stored_shop()
    assert shop.is_installed and shop.uninstalled_at is None
    assert db.session.scalar(db.select(AuditEvent.event)) == "shop.installed"


def test_expired_refresh_token_reauthorizes_on_load(app, client, make_id_token, token_endpoint):
    """A shop whose access and refresh tokens both expired is re-authorized by exchange."""
    shop = installed_shop()
    shop.access_token_expires_at = utcnow() - timedelta(hours=1)
    shop.refresh_token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(embedded_url(make_id_token())).status_code == 200
    assert token_endpoint.call_count == 1
    assert stored_shop().access_token == GRANTED["access_token"]
    assert db.session.scalar(db.select(AuditEvent.event)) == "shop.reauthorized"


@pytest.mark.parametrize("overrides", [
    {"secret": "shpss_" + "f" * 32},
    {"exp": 1_600_000_000},
    {"aud": "another-app"},
], ids=["bad-signature", "expired", "wrong-audience"])
def test_invalid_id_token_installs_nothing(app, client, make_id_token, token_endpoint,
                                           overrides):
    """A forged, expired or foreign id token never reaches Shopify and stores nothing."""
    response = client.get(embedded_url(make_id_token(**overrides)))
    assert response.status_code in (302, 401)
    if response.status_code == 302:  # document load: bounce to get a fresh token
        assert "/auth/patch-id-token?" in response.headers["Location"]
        assert "id_token" not in response.headers["Location"]
    assert not token_endpoint.called
    assert stored_shop() is None


def test_id_token_for_another_shop_is_refused(app, client, make_id_token, token_endpoint):
    """A valid id token whose dest differs from the `shop` parameter: 401, nothing stored."""
    response = client.get(embedded_url(make_id_token("other-shop.myshopify.com")))
    assert response.status_code == 401
    assert not token_endpoint.called
    assert stored_shop() is None and stored_shop("other-shop.myshopify.com") is None


def test_id_token_with_a_foreign_dest_is_refused(app, client, make_id_token, token_endpoint):
    """An id token naming a non-Shopify host as its shop is refused."""
    token = make_id_token(dest="https://evil.example.com", iss="https://evil.example.com/admin")
    response = client.get("/?" + urlencode({"id_token": token, "embedded": "1"}))
    assert response.status_code == 401
    assert not token_endpoint.called


def test_invalid_subject_token_asks_app_bridge_to_retry(app, client, make_id_token,
                                                        token_endpoint):
    """Shopify refusing the id token → 401 with X-Shopify-Retry-Invalid-Session-Request."""
    token_endpoint.mock(return_value=httpx.Response(400, json={"error": "invalid_subject_token"}))
    response = client.get(embedded_url(make_id_token()))
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert "<html" in response.get_data(as_text=True)
    assert stored_shop() is None


@pytest.mark.parametrize("answer, status", [
    (httpx.Response(500, text="oops"), 502),
    (httpx.Response(503, json={"errors": "unavailable"}), 502),
    (httpx.ReadTimeout("slow"), 504),
    (httpx.ConnectError("refused"), 502),
], ids=["500", "503", "timeout", "unreachable"])
def test_shopify_failure_during_exchange_stores_nothing(app, client, make_id_token,
                                                        token_endpoint, answer, status):
    """Shopify failing or timing out: 502/504 page in the admin frame, no shop row."""
    if isinstance(answer, Exception):
        token_endpoint.mock(side_effect=answer)
    else:
        token_endpoint.mock(return_value=answer)
    response = client.get(embedded_url(make_id_token()))
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"].startswith(FRAME_ANCESTORS)
    assert stored_shop() is None


def test_shopify_failure_leaves_an_uninstalled_shop_unchanged(app, client, make_id_token,
                                                              token_endpoint):
    """A failed re-install changes nothing on the existing row."""
    shop = installed_shop()
    shop.clear_tokens()
    shop.uninstalled_at = uninstalled = utcnow()
    db.session.commit()
    token_endpoint.mock(return_value=httpx.Response(502))
    assert client.get(embedded_url(make_id_token())).status_code == 502
    shop = stored_shop()
    assert shop.access_token_enc is None and shop.uninstalled_at == uninstalled


def test_embedded_navigation_without_id_token_bounces_to_patch_page(app, client):
    """An in-iframe load with neither id_token nor hmac goes to the patch-id-token page."""
    response = client.get("/?" + urlencode({"embedded": "1", "shop": SHOP, "host": "abc"}))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:5000/auth/patch-id-token?")
    assert "shopify-reload=" in location


def test_patch_id_token_page_loads_app_bridge(app, client):
    """The patch page only loads App Bridge (with the API key) and is framable by the admin."""
    response = client.get("/auth/patch-id-token?" + urlencode(
        {"shop": SHOP, "shopify-reload": "/?embedded=1&shop=" + SHOP}))
    assert response.status_code == 200
    assert 'data-api-key="test-key"' in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"].startswith(FRAME_ANCESTORS)


@pytest.mark.parametrize("params", [
    {"shop": "evil.com", "shopify-reload": "/"},
    {"shop": SHOP, "shopify-reload": "https://evil.com/"},
    {"shop": SHOP, "shopify-reload": "//evil.com/"},
    {"shop": SHOP},
    {"shopify-reload": "/"},
], ids=["bad-shop", "absolute-reload", "protocol-relative-reload", "no-reload", "no-shop"])
def test_patch_id_token_page_refuses_bad_parameters(app, client, params):
    """A foreign shop or a reload target off this app is a 400."""
    assert client.get("/auth/patch-id-token?" + urlencode(params)).status_code == 400


def test_landing_page_points_to_the_app_store(app, client):
    """`/` with no parameters, outside demo mode: a plain install pointer."""
    response = client.get("/")
    assert response.status_code == 200
    assert "Shopify App Store" in response.get_data(as_text=True)


def test_landing_page_refuses_junk_parameters(app, client):
    """Parameters Shopify never sends: 400."""
    assert client.get("/?utm=1&foo=bar").status_code == 400


def test_demo_mode_serves_the_demo_page(app, client, monkeypatch):
    """In demo mode `/` without Shopify parameters is the demo's index page."""
    demo = types.ModuleType("plugin.demo")
    demo.render_demo_index = lambda: "the demo index"
    monkeypatch.setitem(sys.modules, "plugin.demo", demo)
    monkeypatch.setitem(app.config, "DEMO_MODE", True)
    assert client.get("/").get_data(as_text=True) == "the demo index"
