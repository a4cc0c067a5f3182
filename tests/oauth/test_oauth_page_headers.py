"""Shopify entry points keep what their URLs carry (id token, state, code) out of caches."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

from install_data import SHOP


def test_embedded_app_home_with_an_id_token_is_never_cached(client, make_id_token,
                                                             token_endpoint):
    """The app home loaded with `id_token` in its URL is no-store and sends no referrer."""
    query = {"embedded": "1", "shop": SHOP, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGVzdA",
             "id_token": make_id_token(), "timestamp": str(int(time.time()))}
    response = client.get("/?" + urlencode(query))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers


def test_install_redirect_and_callback_are_never_cached(client, signed, token_endpoint):
    """The authorize redirect (with `state`) and the callback (with `code`) are no-store."""
    start = client.get("/?" + urlencode(signed(shop=SHOP)))
    assert start.status_code == 302
    assert start.headers["Cache-Control"] == "no-store"
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    done = client.get("/oauth/callback?" + urlencode(signed(shop=SHOP, code="c0de",
                                                             state=state)))
    assert done.status_code == 302
    assert done.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in done.headers
