"""OAuth fixtures: App Bridge id tokens, signed Shopify queries, a mocked token endpoint."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
import respx
from install_data import GRANTED, SECRET, SHOP, TOKEN_URL

from plugin.shopify.hmac import sign_query


@pytest.fixture
def app_config():
    """A client secret as long as Shopify's (see install_data.SECRET)."""
    return {"SHOPIFY_API_SECRET": SECRET}


@pytest.fixture
def make_id_token():
    """An App Bridge id token for a shop, signed like Shopify's (HS256, client secret)."""

    def make(shop=SHOP, *, secret=SECRET, aud="test-key", **overrides):
        now = int(time.time())
        claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": aud,
                  "sub": "42", "exp": now + 60, "nbf": now - 5, "iat": now - 5,
                  "jti": str(uuid.uuid4()), "sid": "session-1"}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, secret, algorithm="HS256")

    return make


@pytest.fixture
def signed():
    """A query string dict signed with the test secret (timestamp = now unless given)."""

    def sign(secret=SECRET, **params):
        params.setdefault("timestamp", str(int(time.time())))
        params = {k: str(v) for k, v in params.items()}
        params["hmac"] = sign_query(params, secret)
        return params

    return sign


@pytest.fixture
def token_endpoint():
    """respx route for the shop's token endpoint, answering a granted expiring token set."""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=GRANTED))
        yield route
