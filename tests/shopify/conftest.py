"""Fixtures for the Shopify client and auth tests: a mock Shopify on the app's pooled client."""

from __future__ import annotations

import httpx
import pytest
from shopify_fakes import SECRET, FakeTime, MockShopify

from plugin.shopify.client import reset_rate_state
from plugin.shopify.transport import EXTENSION_KEY, AdminUrlTransport, admin_timeout

ADMIN_URL = "http://admin.test/{shop}"


@pytest.fixture
def app_config():
    """Point SHOPIFY_ADMIN_URL away from myshopify.com so every test exercises the rewrite."""
    return {"SHOPIFY_ADMIN_URL": ADMIN_URL, "SHOPIFY_API_SECRET": SECRET}


@pytest.fixture(autouse=True)
def _fresh_rate_state():
    """Bucket estimates are process-wide; start every test from none."""
    reset_rate_state()
    yield
    reset_rate_state()


@pytest.fixture
def fake_time():
    """Injectable sleep/clock pair."""
    return FakeTime()


@pytest.fixture
def shopify(app):
    """A mock Shopify behind the app's pooled client (SHOPIFY_ADMIN_URL rewriting included)."""
    mock = MockShopify()
    transport = AdminUrlTransport(app.config["SHOPIFY_ADMIN_URL"],
                                  httpx.MockTransport(mock.handler))
    client = httpx.Client(transport=transport, timeout=admin_timeout(app.config))
    app.extensions[EXTENSION_KEY] = client
    yield mock
    client.close()
