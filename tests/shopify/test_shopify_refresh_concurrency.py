"""Two workers refreshing one shop's token at once: exactly one rotates it."""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest
from shopify_fakes import SECRET, SHOP, expire_in, make_shop

from plugin.extensions import db
from plugin.models import Shop
from plugin.shopify.auth import fresh_access_token


@pytest.fixture
def app_config(tmp_path):
    """A database real threads can share: a SQLite file (or the suite's PostgreSQL)."""
    url = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    if url == "sqlite://":
        url = f"sqlite:///{tmp_path / 'refresh.sqlite'}"
    return {"SHOPIFY_ADMIN_URL": "http://admin.test/{shop}", "SHOPIFY_API_SECRET": SECRET,
            "DATABASE_URL": url}


def test_concurrent_refresh_takes_the_lease_once(app, shopify):
    """Both workers get the new token; Shopify sees one refresh (one refresh-token rotation)."""
    calls = []

    def slow_refresh(request):
        calls.append(request)
        time.sleep(0.3)  # the loser polls meanwhile
        return httpx.Response(200, json={
            "access_token": f"shpat_new{len(calls)}", "scope": "read_orders",
            "expires_in": 3600, "refresh_token": f"shprt_new{len(calls)}",
            "refresh_token_expires_in": 2592000})

    shopify.on("/admin/oauth/access_token", slow_refresh)
    shop = make_shop()
    expire_in(shop, 60)
    shop_id = shop.id
    db.session.remove()
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        with app.app_context():
            try:
                row = db.session.get(Shop, shop_id)
                start.wait()
                results.append(fresh_access_token(row))
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert results == ["shpat_new1", "shpat_new1"]
    assert len(calls) == 1
    stored = db.session.get(Shop, shop_id)
    assert stored.refresh_token == "shprt_new1" and stored.refresh_lock_until is None
    assert stored.domain == SHOP
