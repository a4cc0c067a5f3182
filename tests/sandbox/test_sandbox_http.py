"""The sandbox over real HTTP (serve_sandbox): install by code grant, query, time out."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sandbox_kit import API_KEY, API_SECRET, SHOP

from plugin.sandbox import SandboxStore, create_sandbox_app, serve_sandbox


@pytest.fixture
def served():
    """A seeded sandbox on a free loopback port."""
    store = SandboxStore.seeded()
    base_url, stop = serve_sandbox(create_sandbox_app(api_key=API_KEY, api_secret=API_SECRET,
                                                      store=store))
    yield base_url, store
    stop()


def test_install_and_query_over_http(served):
    """authorize → code → token → GraphQL, all over a real socket, as SHOPIFY_ADMIN_URL would."""
    base_url, _ = served
    admin = f"{base_url}/{SHOP}"
    with httpx.Client(timeout=5) as client:
        redirect = client.get(f"{admin}/admin/oauth/authorize", params={
            "client_id": API_KEY, "scope": "read_orders", "state": "s1",
            "redirect_uri": "http://127.0.0.1:5000/oauth/callback"})
        code = dict(parse_qsl(urlsplit(redirect.headers["Location"]).query))["code"]
        tokens = client.post(f"{admin}/admin/oauth/access_token", json={
            "client_id": API_KEY, "client_secret": API_SECRET, "code": code,
            "expiring": "1"}).json()
        response = client.post(f"{admin}/admin/api/2026-10/graphql.json",
                               json={"query": '{ orders(first: 1, query: "name:1001") '
                                              '{ nodes { name displayFinancialStatus } } }'},
                               headers={"X-Shopify-Access-Token": tokens["access_token"]})
    assert response.status_code == 200 and response.headers["X-Request-Id"]
    assert response.json()["data"]["orders"]["nodes"] == [
        {"name": "#1001", "displayFinancialStatus": "PAID"}]


def test_timeout_fault_trips_the_client_timeout(served):
    """kind="timeout" holds the answer longer than the client waits."""
    base_url, store = served
    token = store.issue_tokens(SHOP)["access_token"]
    store.inject(SHOP, "timeout", seconds=0.6)
    with httpx.Client(timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{base_url}/{SHOP}/admin/api/2026-10/graphql.json",
                    json={"query": "{ shop { name } }"},
                    headers={"X-Shopify-Access-Token": token})


def test_control_endpoints_over_http(served):
    """Stats and faults are reachable like the rest (benchmarks read them)."""
    base_url, store = served
    with httpx.Client(timeout=5) as client:
        assert client.post(f"{base_url}/_control/advance", json={"seconds": 10}).status_code == 200
        stats = client.get(f"{base_url}/_control/stats").json()
    assert stats["summary"][SHOP]["orders"] >= 15
    assert store.now().timestamp() > 0
