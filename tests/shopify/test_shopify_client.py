"""ShopifyClient at the wire: pooling, timeouts, throttling, safe retries, error mapping."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from shopify_fakes import SHOP, expire_in, graphql_response, make_shop, throttled_response

from plugin.exceptions import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyThrottledError,
    ShopifyTimeoutError,
    ShopifyUserError,
)
from plugin.shopify.client import ShopifyClient, client_for_shop, rate_state
from plugin.shopify.transport import admin_http_client

GRAPHQL = "/admin/api/2026-10/graphql.json"
ENDPOINT = f"http://admin.test/{SHOP}{GRAPHQL}"
SHOP_INFO = {"shop": {"id": "gid://shopify/Shop/1", "name": "Test"}}
CANCEL_OK = {"orderCancel": {"job": {"id": "gid://shopify/Job/1", "done": False},
                             "orderCancelUserErrors": []}}
REFUND_OK = {"refundCreate": {"refund": {"id": "gid://shopify/Refund/1"}, "order": None,
                              "userErrors": []}}
REFUND_VARS = {"input": {"orderId": "gid://shopify/Order/1", "note": "damaged"},
               "key": "idem-123"}
CANCEL_VARS = {"orderId": "gid://shopify/Order/1", "reason": "CUSTOMER", "restock": True}


@pytest.fixture
def client(app, shopify, fake_time):
    """A client on the app's pooled (mocked) HTTP client, with fake sleep/clock, no jitter."""
    return ShopifyClient(SHOP, "shpat_token", api_version="2026-10",
                         admin_url=app.config["SHOPIFY_ADMIN_URL"],
                         http_client=admin_http_client(), max_retries=2, max_throttle_wait=10.0,
                         sleep=fake_time.sleep, clock=fake_time.monotonic, jitter=lambda: 1.0)


def test_execute_posts_the_named_document_with_token_and_variables(client, shopify):
    """POST {admin}/admin/api/{version}/graphql.json with token header and the JSON body."""
    shopify.on(GRAPHQL, graphql_response({"customers": {"nodes": []}}, request_id="abc"))
    result = client.execute("CustomerSearch", {"query": 'email:"a@example.com"', "first": 5})
    request = shopify.requests[0]
    assert str(request.url) == ENDPOINT and request.method == "POST"
    assert request.headers["X-Shopify-Access-Token"] == "shpat_token"
    body = json.loads(request.content)
    assert body["operationName"] == "CustomerSearch"
    assert body["variables"] == {"query": 'email:"a@example.com"', "first": 5}
    assert "query CustomerSearch" in body["query"]
    assert "fragment CustomerHeaderFields on Customer" in body["query"]
    assert result.data == {"customers": {"nodes": []}}
    assert result.request_id == "abc" and result.attempts == 1
    assert result.cost["requestedQueryCost"] == 10


def test_every_call_reuses_one_pool_with_explicit_timeouts(app, shopify):
    """Clients for a shop share the app's one httpx.Client; each request carries timeouts."""
    shop = make_shop()
    shopify.on(GRAPHQL, graphql_response(SHOP_INFO))
    first, second = client_for_shop(shop), client_for_shop(shop)
    assert first._http is second._http is admin_http_client()
    assert first._rate is second._rate is rate_state()  # one bucket estimate per app
    first.execute("ShopInfo")
    second.execute("ShopInfo")
    first.close()  # closing a client never closes the app's pool
    second.execute("ShopInfo")
    assert len(shopify.requests) == 3
    for request in shopify.requests:
        assert request.extensions["timeout"] == {"connect": 3.0, "read": 15.0, "write": 15.0,
                                                 "pool": 3.0}


def test_client_for_shop_refreshes_an_expiring_token_first(app, shopify):
    """A token with < 5 minutes left is refreshed and the new one is sent."""
    shopify.on("/admin/oauth/access_token", httpx.Response(200, json={
        "access_token": "shpat_fresh", "scope": "read_orders", "expires_in": 3600,
        "refresh_token": "shprt_fresh", "refresh_token_expires_in": 86400}))
    shopify.on(GRAPHQL, graphql_response(SHOP_INFO))
    shop = make_shop()
    expire_in(shop, 100)
    client_for_shop(shop).execute("ShopInfo")
    assert shopify.requests[-1].headers["X-Shopify-Access-Token"] == "shpat_fresh"


def test_throttled_body_waits_the_computed_delay_and_retries(client, shopify, fake_time):
    """THROTTLED: wait (requested − available) / restoreRate, then resend (nothing ran)."""
    shopify.on(GRAPHQL, throttled_response(requested=500, available=100.0, rate=100.0),
               graphql_response(SHOP_INFO))
    result = client.execute("ShopInfo")
    assert fake_time.sleeps == [4.0]
    assert result.attempts == 2 and len(shopify.requests) == 2
    assert client.stats.throttled == 1 and client.stats.retries == 1


def test_throttled_mutation_is_retried_too(client, shopify, fake_time):
    """A throttled mutation never ran, so even orderCancel is resent."""
    shopify.on(GRAPHQL, throttled_response(requested=10, available=0.0, rate=50.0),
               graphql_response(CANCEL_OK))
    client.execute_mutation("OrderCancel", CANCEL_VARS)
    assert fake_time.sleeps == [0.2] and len(shopify.requests) == 2


def test_throttle_wait_beyond_budget_raises_with_retry_after(client, shopify, fake_time):
    """A wait longer than max_throttle_wait is not slept: ShopifyThrottledError(retry_after)."""
    shopify.on(GRAPHQL, throttled_response(requested=1000, available=0.0, rate=50.0))
    with pytest.raises(ShopifyThrottledError) as caught:
        client.execute("ShopInfo")
    assert caught.value.extra["retry_after"] == 20.0
    assert fake_time.sleeps == [] and len(shopify.requests) == 1


def test_throttled_until_retries_run_out(client, shopify, fake_time):
    """Still throttled after max_retries resends: ShopifyThrottledError."""
    shopify.on(GRAPHQL, throttled_response(requested=110, available=100.0, rate=100.0))
    with pytest.raises(ShopifyThrottledError):
        client.execute("ShopInfo")
    assert len(shopify.requests) == 3 and fake_time.sleeps == [0.1, 0.1]


def test_http_429_honours_retry_after(client, shopify, fake_time):
    """HTTP 429: sleep Retry-After seconds, then resend (also for a non-idempotent mutation)."""
    shopify.on(GRAPHQL, httpx.Response(429, headers={"Retry-After": "2"}),
               graphql_response(CANCEL_OK))
    client.execute_mutation("OrderCancel", CANCEL_VARS)
    assert fake_time.sleeps == [2.0] and len(shopify.requests) == 2


def test_http_429_without_retry_after_waits_one_second(client, shopify, fake_time):
    """Without Retry-After the official clients' default of 1 s applies."""
    shopify.on(GRAPHQL, httpx.Response(429), graphql_response(SHOP_INFO))
    client.execute("ShopInfo")
    assert fake_time.sleeps == [1.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_for_queries_with_backoff(client, shopify, fake_time, status):
    """Queries are resent after 5xx with capped exponential backoff."""
    shopify.on(GRAPHQL, httpx.Response(status), httpx.Response(status),
               graphql_response(SHOP_INFO))
    result = client.execute("ShopInfo")
    assert result.attempts == 3
    assert fake_time.sleeps == [0.5, 1.0]  # jitter pinned to its maximum


def test_backoff_jitter_stays_between_half_and_full_step(app, shopify, fake_time):
    """Jitter spreads each wait over ½–1× the step."""
    client = ShopifyClient(SHOP, "t", api_version="2026-10", admin_url="http://admin.test/{shop}",
                           http_client=admin_http_client(), sleep=fake_time.sleep,
                           clock=fake_time.monotonic, jitter=lambda: 0.0)
    shopify.on(GRAPHQL, httpx.Response(502), httpx.Response(502), graphql_response(SHOP_INFO))
    client.execute("ShopInfo")
    assert fake_time.sleeps == [0.25, 0.5]


def test_server_errors_exhaust_retries_into_shopify_error(client, shopify):
    """After max_retries the 5xx surfaces as ShopifyError with status and request id."""
    shopify.on(GRAPHQL, httpx.Response(503, headers={"X-Request-Id": "r-503"}))
    with pytest.raises(ShopifyError) as caught:
        client.execute("ShopInfo")
    assert caught.value.status == 503 and caught.value.request_id == "r-503"
    assert len(shopify.requests) == 3


@pytest.mark.parametrize("failure", [httpx.Response(502), httpx.Response(500),
                                     httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")])
def test_non_idempotent_mutation_is_not_retried_once_it_may_have_run(client, shopify, failure):
    """orderCancel after a 5xx/timeout/drop is not resent: it may have been applied."""
    shopify.on(GRAPHQL, failure, graphql_response(CANCEL_OK))
    expected = ShopifyTimeoutError if isinstance(failure, httpx.TimeoutException) else ShopifyError
    with pytest.raises(expected) as caught:
        client.execute_mutation("OrderCancel", CANCEL_VARS)
    assert "may or may not have been applied" in caught.value.message
    assert len(shopify.requests) == 1


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"),
                                     httpx.ConnectTimeout("no route"), httpx.PoolTimeout("full")])
def test_mutation_is_retried_when_the_request_never_left(client, shopify, failure):
    """Connect errors happen before sending: safe to resend any mutation."""
    shopify.on(GRAPHQL, failure, graphql_response(CANCEL_OK))
    result = client.execute_mutation("OrderCancel", CANCEL_VARS)
    assert result.attempts == 2 and len(shopify.requests) == 2


def test_idempotent_refund_is_retried_with_the_same_key(client, shopify, fake_time):
    """refundCreate carries @idempotent: resent after 5xx and timeout with the same key."""
    shopify.on(GRAPHQL, httpx.Response(503), httpx.ReadTimeout("slow"),
               graphql_response(REFUND_OK))
    result = client.execute_mutation("RefundCreate", REFUND_VARS)
    assert result.attempts == 3
    bodies = shopify.bodies()
    assert len(bodies) == 3 and all(b == bodies[0] for b in bodies)
    assert bodies[0]["variables"]["key"] == "idem-123"
    assert "@idempotent(key: $key)" in bodies[0]["query"]


def test_query_timeouts_retry_then_raise_timeout(client, shopify):
    """Timeouts on a query are retried, then surface as ShopifyTimeoutError (504)."""
    shopify.on(GRAPHQL, httpx.ReadTimeout("slow"))
    with pytest.raises(ShopifyTimeoutError) as caught:
        client.execute("ShopInfo")
    assert caught.value.http_status == 504 and len(shopify.requests) == 3


@pytest.mark.parametrize("payload_field, errors", [
    ("refundCreate", [{"field": ["input", "transactions", "0", "amount"],
                       "message": "Amount cannot exceed the refundable amount"}]),
])
def test_user_errors_raise_shopify_user_error_as_given(client, shopify, payload_field, errors):
    """Non-empty userErrors → ShopifyUserError carrying Shopify's errors unchanged."""
    shopify.on(GRAPHQL, graphql_response({payload_field: {"refund": None, "order": None,
                                                          "userErrors": errors}}))
    with pytest.raises(ShopifyUserError) as caught:
        client.execute_mutation("RefundCreate", REFUND_VARS)
    assert caught.value.errors == errors
    assert caught.value.message == "Amount cannot exceed the refundable amount"
    assert caught.value.to_dict()["errors"] == errors and caught.value.http_status == 422


def test_order_cancel_user_errors_raise_with_their_codes(client, shopify):
    """orderCancelUserErrors (with codes) are user errors too."""
    errors = [{"code": "INVALID", "field": ["orderId"], "message": "Order has active returns"}]
    shopify.on(GRAPHQL, graphql_response({"orderCancel": {"job": None,
                                                          "orderCancelUserErrors": errors}}))
    with pytest.raises(ShopifyUserError) as caught:
        client.execute_mutation("OrderCancel", CANCEL_VARS)
    assert caught.value.errors == errors


def test_mutation_without_user_errors_returns_the_result(client, shopify):
    """Empty user-error lists mean success."""
    shopify.on(GRAPHQL, graphql_response(CANCEL_OK))
    result = client.execute_mutation("OrderCancel", CANCEL_VARS, "orderCancel")
    assert result.data == CANCEL_OK


def test_top_level_errors_raise_shopify_error_with_messages(client, shopify, caplog):
    """errors in a 200 body (not THROTTLED) → ShopifyError with messages; body not logged."""
    errors = [{"message": "Access denied for orders field.", "locations": [],
               "extensions": {"code": "ACCESS_DENIED"}}]
    shopify.on(GRAPHQL, graphql_response({"secret": "customer data"}, errors=errors))
    with caplog.at_level(logging.INFO, logger="sidecard.shopify"), \
            pytest.raises(ShopifyError) as caught:
        client.execute("ShopInfo")
    assert type(caught.value) is ShopifyError
    assert caught.value.errors == [{"message": "Access denied for orders field.",
                                    "code": "ACCESS_DENIED"}]
    assert "Access denied for orders field." in caught.value.message
    assert "customer data" not in caplog.text and "Access denied" in caplog.text


@pytest.mark.parametrize("status", [401, 403])
def test_unauthorized_raises_shopify_auth_error_without_retry(client, shopify, status):
    """401/403: the token is refused; no retry."""
    shopify.on(GRAPHQL, httpx.Response(status, json={
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))
    with pytest.raises(ShopifyAuthError) as caught:
        client.execute("ShopInfo")
    assert caught.value.status == status and len(shopify.requests) == 1


@pytest.mark.parametrize("response", [
    httpx.Response(200, text="<html>oops</html>"),
    httpx.Response(200, json={"extensions": {}}),
    httpx.Response(404, json={"errors": "Not Found"}),
    httpx.Response(402, json={"errors": "Unavailable Shop"}),
])
def test_unusable_answers_raise_shopify_error(client, shopify, response):
    """Non-JSON, data-less or other HTTP errors are ShopifyError, not retried."""
    shopify.on(GRAPHQL, response)
    with pytest.raises(ShopifyError):
        client.execute("ShopInfo")
    assert len(shopify.requests) == 1


def test_known_cost_paces_the_next_call_before_sending(client, shopify, fake_time):
    """When the bucket estimate cannot pay an operation's known cost, wait first."""
    shopify.on(GRAPHQL, graphql_response(SHOP_INFO, requested=300, actual=300, available=100.0,
                                         rate=50.0))
    client.execute("ShopInfo")
    assert fake_time.sleeps == []
    client.execute("ShopInfo")
    assert fake_time.sleeps == [4.0]  # (300 − 100) / 50
    client.execute("JobPoll", {"id": "gid://shopify/Job/1"})  # unknown cost: no wait
    assert fake_time.sleeps == [4.0]


def test_pacing_wait_is_capped(client, shopify, fake_time):
    """A pacing wait never exceeds max_throttle_wait."""
    shopify.on(GRAPHQL, graphql_response(SHOP_INFO, requested=900, actual=900, available=0.0,
                                         rate=10.0))
    client.execute("ShopInfo")
    client.execute("ShopInfo")
    assert fake_time.sleeps == [10.0]


def test_stats_count_calls_requests_and_cost(client, shopify, fake_time):
    """client.stats adds up calls, HTTP requests, retries and query cost."""
    shopify.on(GRAPHQL, httpx.Response(502), graphql_response(SHOP_INFO, requested=12, actual=3))
    client.execute("ShopInfo")
    client.execute("ShopInfo")
    stats = client.stats.as_dict()
    assert (stats["calls"], stats["requests"], stats["retries"]) == (2, 3, 1)
    assert (stats["requested_cost"], stats["actual_cost"]) == (24, 6)
    assert stats["by_operation"] == {"ShopInfo": 2}
    assert stats["waited_seconds"] == 0.5


def test_one_log_line_per_call_without_token_or_variables(client, shopify, caplog):
    """Each HTTP call logs operation, status, cost, ms and request id; never token/variables."""
    shopify.on(GRAPHQL, graphql_response({"customers": {"nodes": []}}, request_id="rid-9",
                                         requested=43, actual=5))
    with caplog.at_level(logging.INFO, logger="sidecard.shopify"):
        client.execute("CustomerSearch", {"query": 'email:"bo.wang@example.com"'})
    lines = [r.getMessage() for r in caplog.records if r.name == "sidecard.shopify"]
    assert len(lines) == 1
    assert "op=CustomerSearch" in lines[0] and "status=200" in lines[0]
    assert "cost=5/43" in lines[0] and "request_id=rid-9" in lines[0] and "ms=" in lines[0]
    assert "bo.wang" not in caplog.text and "shpat_token" not in caplog.text


@pytest.mark.parametrize("name", ["NoSuchOperation", "../../etc/passwd", "shopInfo", ""])
def test_unknown_operation_names_are_refused(client, name):
    """Only operation files by exact name are loaded."""
    with pytest.raises(KeyError):
        client.execute(name)


def test_client_refuses_a_shop_outside_myshopify(app):
    """The shop domain is validated before it is put into SHOPIFY_ADMIN_URL."""
    from plugin.exceptions import InvalidShopError

    with pytest.raises(InvalidShopError):
        ShopifyClient("evil.com/x.myshopify.com", "t", api_version="2026-10",
                      admin_url="https://{shop}")


def test_client_repr_hides_the_token(client):
    """repr() never shows the access token."""
    assert "shpat_token" not in repr(client)
