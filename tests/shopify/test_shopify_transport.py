"""The pooled Shopify client: SHOPIFY_ADMIN_URL rewriting, timeouts, demo-mode sandbox routing."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from flask import Flask

from plugin.shopify.transport import (
    EXTENSION_KEY,
    AdminUrlTransport,
    SandboxTransport,
    admin_http_client,
)


def _recording_transport(admin_url):
    """An AdminUrlTransport whose inner transport records what really goes out."""
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return AdminUrlTransport(admin_url, httpx.MockTransport(handler)), seen


@pytest.mark.parametrize("url, expected", [
    ("https://test-shop.myshopify.com/admin/oauth/access_token",
     "http://127.0.0.1:8001/test-shop.myshopify.com/admin/oauth/access_token"),
    ("https://Test-Shop.myshopify.com/admin/api/2026-10/graphql.json?x=1",
     "http://127.0.0.1:8001/test-shop.myshopify.com/admin/api/2026-10/graphql.json?x=1"),
    ("https://example.com/admin/oauth/access_token", "https://example.com/admin/oauth/access_token"),
    ("https://x.myshopify.com.evil.com/admin", "https://x.myshopify.com.evil.com/admin"),
    ("http://x.myshopify.com/admin", "http://x.myshopify.com/admin"),
])
def test_only_shop_admin_urls_are_rewritten_to_admin_url(url, expected):
    """https://<shop>.myshopify.com/... goes to SHOPIFY_ADMIN_URL; other hosts are untouched."""
    transport, seen = _recording_transport("http://127.0.0.1:8001/{shop}")
    with httpx.Client(transport=transport) as client:
        client.post(url, json={"a": 1})
    assert str(seen[0].url) == expected
    assert seen[0].headers["host"] == httpx.URL(expected).netloc.decode()
    assert json.loads(seen[0].content) == {"a": 1}


def test_default_admin_url_sends_to_shopify_itself():
    """With the default https://{shop} nothing changes."""
    transport, seen = _recording_transport("https://{shop}")
    with httpx.Client(transport=transport) as client:
        client.post("https://test-shop.myshopify.com/admin/oauth/access_token", json={})
    assert str(seen[0].url) == "https://test-shop.myshopify.com/admin/oauth/access_token"


def test_app_has_one_pooled_client_with_explicit_timeouts(app):
    """admin_http_client() returns the same client every time, with configured timeouts."""
    first = admin_http_client()
    assert admin_http_client() is first
    assert app.extensions[EXTENSION_KEY] is first
    timeout = first.timeout
    assert (timeout.connect, timeout.read) == (app.config["SHOPIFY_CONNECT_TIMEOUT"],
                                               app.config["SHOPIFY_READ_TIMEOUT"])
    assert timeout.write and timeout.pool
    assert isinstance(first._transport, AdminUrlTransport)
    assert not first.follow_redirects


def test_each_app_gets_its_own_pool(app):
    """Two apps (e.g. tests) never share a client."""
    other = Flask("other")
    other.config["SHOPIFY_ADMIN_URL"] = "https://{shop}"
    mine = admin_http_client()
    with other.app_context():
        theirs = admin_http_client()
    assert theirs is not mine
    theirs.close()


def test_real_pool_rewrites_before_the_wire(app):
    """Through the real HTTP transport (respx at the socket layer) the request hits ADMIN_URL."""
    app.config["SHOPIFY_ADMIN_URL"] = "http://127.0.0.1:9/{shop}"
    app.extensions.pop(EXTENSION_KEY, None)
    with respx.mock(assert_all_called=True) as router:
        route = router.post("http://127.0.0.1:9/test-shop.myshopify.com/admin/oauth/access_token")
        route.return_value = httpx.Response(200, json={"access_token": "x"})
        response = admin_http_client().post(
            "https://test-shop.myshopify.com/admin/oauth/access_token", json={})
    assert response.json() == {"access_token": "x"}
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout["connect"] == app.config["SHOPIFY_CONNECT_TIMEOUT"]
    assert timeout["read"] == app.config["SHOPIFY_READ_TIMEOUT"]
    admin_http_client().close()


def _echo_wsgi(environ, start_response):
    """A stand-in sandbox: answers with the path it was asked for."""
    body = json.dumps({"path": environ["PATH_INFO"], "query": environ["QUERY_STRING"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.mark.parametrize("url", [
    "https://test-shop.myshopify.com/admin/api/2026-10/graphql.json",
    "http://127.0.0.1:5000/_sandbox/test-shop.myshopify.com/admin/api/2026-10/graphql.json",
])
def test_demo_mode_routes_shopify_calls_into_the_sandbox(app, url):
    """With sandbox_wsgi set, shop URLs (and SHOPIFY_ADMIN_URL ones) reach it as /{shop}/..."""
    app.config["SHOPIFY_ADMIN_URL"] = "http://127.0.0.1:5000/_sandbox/{shop}"
    app.extensions.pop(EXTENSION_KEY, None)
    app.extensions["sandbox_wsgi"] = _echo_wsgi
    client = admin_http_client()
    assert isinstance(client._transport, SandboxTransport)
    answer = client.post(url, json={}).json()
    assert answer == {"path": "/test-shop.myshopify.com/admin/api/2026-10/graphql.json",
                      "query": ""}
    client.close()


def test_transport_failure_is_remembered_for_callers():
    """A timeout inside the transport is recorded so auth can map shopifyapp's network_error."""
    from plugin.shopify.transport import last_transport_error

    def boom(request):
        raise httpx.ReadTimeout("slow", request=request)

    transport = AdminUrlTransport("https://{shop}", httpx.MockTransport(boom))
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ReadTimeout):
        client.get("https://test-shop.myshopify.com/admin")
    assert isinstance(last_transport_error.get(), httpx.ReadTimeout)
