"""Fakes for the Shopify tests: a clock, a mock Shopify, canned answers, id tokens, shops."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import jwt

from plugin.extensions import db
from plugin.models import Shop
from plugin.models.base import utcnow

SHOP = "test-shop.myshopify.com"
# As long as a real client secret (shpss_ + 32 hex): PyJWT warns on short HMAC keys.
SECRET = "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"


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


class MockShopify:
    """Answers requests with queued handlers per path; records what was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, list[Callable[[httpx.Request], httpx.Response]]] = {}

    def on(self, path: str, *responders) -> None:
        """Queue responders (a Response, an exception or a callable) for a path suffix."""
        self.routes.setdefault(path, []).extend(responders)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for path, queue in self.routes.items():
            if request.url.path.endswith(path) and queue:
                responder = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(responder, Exception):
                    raise responder
                if isinstance(responder, httpx.Response):
                    return responder
                return responder(request)
        return httpx.Response(404, json={"errors": "Not Found"})

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def graphql_response(data=None, *, errors=None, requested=10, actual=10, available=990.0,
                     maximum=1000.0, rate=100.0, status=200, request_id="req-1", headers=None):
    """A GraphQL Admin API answer with an extensions.cost block."""
    body: dict = {}
    if data is not None:
        body["data"] = data
    if errors is not None:
        body["errors"] = errors
    body["extensions"] = {"cost": {
        "requestedQueryCost": requested, "actualQueryCost": actual,
        "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available,
                           "restoreRate": rate}}}
    return httpx.Response(status, json=body,
                          headers={"X-Request-Id": request_id, **(headers or {})})


def throttled_response(*, requested=500, available=100.0, rate=100.0, request_id="req-t"):
    """Shopify's THROTTLED answer: HTTP 200, nothing ran, actualQueryCost null."""
    return httpx.Response(200, headers={"X-Request-Id": request_id}, json={
        "errors": [{"message": "Throttled", "extensions": {
            "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/limits"}}],
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 1000.0,
                                                   "currentlyAvailable": available,
                                                   "restoreRate": rate}}}})


def make_id_token(*, shop=SHOP, secret=SECRET, aud="test-key", exp_in=60, nbf_in=-5,
                  **claims):
    """An App Bridge id token (HS256) as Shopify would sign it."""
    now = int(time.time())
    payload = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": aud,
               "sub": "42", "exp": now + exp_in, "nbf": now + nbf_in, "iat": now + nbf_in,
               "jti": "jti-1", "sid": "sid-1", **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def make_shop(domain=SHOP, *, access_token="shpat_old", expires_in=3600,
              refresh_token="shprt_old", refresh_expires_in=30 * 86400, scopes="read_orders"):
    """An installed shop row with an expiring token (committed)."""
    shop = Shop(domain=domain, installed_at=utcnow())
    shop.store_tokens(access_token=access_token, scopes=scopes, expires_in=expires_in,
                      refresh_token=refresh_token, refresh_token_expires_in=refresh_expires_in)
    db.session.add(shop)
    db.session.commit()
    return shop


def expire_in(shop, seconds):
    """Move the shop's access-token expiry to `seconds` from now (committed)."""
    shop.access_token_expires_at = utcnow() + timedelta(seconds=seconds)
    db.session.commit()
