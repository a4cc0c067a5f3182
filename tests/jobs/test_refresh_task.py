"""The refresh_shop_token job keeps an expiring offline token fresh."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import respx

from plugin.extensions import db
from plugin.jobs import enqueue, run_pending
from plugin.models import Job, Shop
from plugin.models.base import utcnow

SHOP = "test-shop.myshopify.com"


def make_shop(expires_in):
    """An installed shop whose access token expires in `expires_in` seconds."""
    shop = Shop(domain=SHOP, installed_at=utcnow())
    shop.store_tokens(access_token="shpat_old", scopes="read_orders", expires_in=expires_in,
                      refresh_token="shprt_old", refresh_token_expires_in=86400)
    db.session.add(shop)
    db.session.commit()
    return shop


def run_refresh():
    """Enqueue and run one refresh job; return its stored status."""
    job = enqueue("refresh_shop_token", {"shop_domain": SHOP}, shop_domain=SHOP)
    db.session.commit()
    run_pending()
    db.session.expire_all()
    return db.session.get(Job, job.id).status


@respx.mock
def test_refresh_job_rotates_a_token_about_to_expire(app):
    """A token with a minute left is refreshed and the rotated refresh token stored."""
    route = respx.post(f"https://{SHOP}/admin/oauth/access_token").mock(
        return_value=httpx.Response(200, json={
            "access_token": "shpat_new", "scope": "read_orders", "expires_in": 3600,
            "refresh_token": "shprt_new", "refresh_token_expires_in": 2592000}))
    make_shop(expires_in=60)
    assert run_refresh() == "done"
    assert json.loads(route.calls.last.request.content)["refresh_token"] == "shprt_old"
    shop = db.session.scalar(db.select(Shop))
    assert (shop.access_token, shop.refresh_token) == ("shpat_new", "shprt_new")
    assert shop.access_token_expires_at > utcnow() + timedelta(minutes=55)


@respx.mock
def test_refresh_job_leaves_a_fresh_token_alone(app):
    """A token with most of its hour left is not refreshed."""
    route = respx.post(f"https://{SHOP}/admin/oauth/access_token")
    make_shop(expires_in=3600)
    assert run_refresh() == "done"
    assert not route.called


@respx.mock
def test_refresh_job_for_an_uninstalled_shop_does_nothing(app):
    """No token to refresh: the job completes without calling Shopify."""
    route = respx.post(f"https://{SHOP}/admin/oauth/access_token")
    shop = make_shop(expires_in=60)
    shop.clear_tokens()
    shop.uninstalled_at = utcnow()
    db.session.commit()
    assert run_refresh() == "done"
    assert not route.called


@respx.mock
def test_refresh_job_retries_when_shopify_fails(app):
    """A Shopify 5xx during refresh is retried later, the old token kept."""
    respx.post(f"https://{SHOP}/admin/oauth/access_token").mock(
        return_value=httpx.Response(503))
    make_shop(expires_in=60)
    assert run_refresh() == "queued"
    assert db.session.scalar(db.select(Shop)).access_token == "shpat_old"
