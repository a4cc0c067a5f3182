"""The card cache: TTL, per-customer invalidation of shared answers, races, upserts."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from factories import make_shop
from sqlalchemy import func, select

from plugin.card_data import cache
from plugin.extensions import db
from plugin.models import CustomerCache
from plugin.models.base import utcnow


def test_put_then_get_returns_the_payload(app):
    """A fresh answer comes back as it was stored."""
    shop = make_shop()
    cache.put(shop.id, "card:1:first", {"a": 1}, ["1"])
    assert cache.get(shop.id, "card:1:first") == {"a": 1}


def test_expired_answers_are_misses(app):
    """An answer older than CARD_CACHE_TTL_SECONDS is not used."""
    app.config["CARD_CACHE_TTL_SECONDS"] = 60
    shop = make_shop()
    cache.put(shop.id, "card:1:first", {"a": 1}, ["1"])
    row = db.session.scalar(select(CustomerCache).where(CustomerCache.cache_key == "card:1:first"))
    row.fetched_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    assert cache.get(shop.id, "card:1:first") is None
    assert cache.get(shop.id, "card:1:first", max_age=3600) == {"a": 1}


def test_answers_are_per_shop(app):
    """Another shop's row under the same key is never returned."""
    one, two = make_shop("one.myshopify.com"), make_shop("two.myshopify.com")
    cache.put(one.id, "order:5", {"shop": "one"}, ["1"])
    assert cache.get(two.id, "order:5") is None


def test_invalidating_any_customer_of_a_shared_answer_drops_it(app):
    """A merged card (two accounts) is gone when either account is invalidated."""
    shop = make_shop()
    cache.put(shop.id, "card:1+2:first", {"merged": True}, ["1", "2"])
    assert cache.get(shop.id, "card:1+2:first") == {"merged": True}
    cache.invalidate_customers(shop.id, ["2"])
    assert cache.get(shop.id, "card:1+2:first") is None


def test_webhook_style_delete_by_customer_id_drops_shared_answers(app):
    """Deleting rows by customer_id (as the orders/updated handler does) is enough."""
    shop = make_shop()
    cache.put(shop.id, "match:abc", {"ids": ["1", "2"]}, ["1", "2"])
    db.session.execute(db.delete(CustomerCache).where(CustomerCache.customer_id == "2"))
    db.session.commit()
    assert cache.get(shop.id, "match:abc") is None


def test_put_upserts_one_row_per_key(app):
    """Writing the same key twice updates it (INSERT … ON CONFLICT DO UPDATE)."""
    shop = make_shop()
    cache.put(shop.id, "order:9", {"v": 1}, ["1"])
    cache.put(shop.id, "order:9", {"v": 2}, ["1"])
    count = db.session.scalar(select(func.count()).select_from(CustomerCache)
                              .where(CustomerCache.cache_key == "order:9"))
    assert count == 1
    assert cache.get(shop.id, "order:9") == {"v": 2}


def test_answer_fetched_before_an_invalidation_is_not_written(app):
    """A view that raced with an action cannot put the old state back."""
    shop = make_shop()
    started = utcnow() - timedelta(seconds=1)
    cache.invalidate_customers(shop.id, ["1"])
    assert cache.put(shop.id, "card:1:first", {"old": True}, ["1"], started_at=started) is False
    assert cache.get(shop.id, "card:1:first") is None


def test_answer_fetched_after_an_invalidation_is_written(app):
    """Invalidation markers only block answers that started before them."""
    shop = make_shop()
    cache.invalidate_customers(shop.id, ["1"])
    started = utcnow()
    assert cache.put(shop.id, "card:1:first", {"new": True}, ["1"], started_at=started)
    assert cache.get(shop.id, "card:1:first") == {"new": True}


def test_order_key_invalidation_blocks_stale_order_write(app):
    """Invalidating `order:<id>` also blocks an in-flight read of that order."""
    shop = make_shop()
    started = utcnow() - timedelta(seconds=1)
    cache.invalidate_keys(shop.id, ["order:7"])
    assert cache.put(shop.id, "order:7", {"old": True}, [None], started_at=started) is False


def test_invalidating_a_customer_removes_shared_answers_entirely(app):
    """No row of a merged answer (holding both people's data) outlives either person."""
    shop = make_shop()
    cache.put(shop.id, "card:1+2:first", {"merged": True}, ["1", "2"])
    cache.invalidate_customers(shop.id, ["2"])
    keys = db.session.scalars(select(CustomerCache.cache_key)
                              .where(~CustomerCache.cache_key.startswith("inval:"))).all()
    assert keys == []


def test_partly_deleted_answer_is_purged_on_read(app):
    """A plain delete by customer_id (webhook, redaction) leaves a main row; reading drops it."""
    shop = make_shop()
    cache.put(shop.id, "match:abc", {"ids": ["1", "2"]}, ["1", "2"])
    db.session.execute(db.delete(CustomerCache).where(CustomerCache.customer_id == "2"))
    db.session.commit()
    assert cache.get(shop.id, "match:abc") is None
    assert db.session.scalar(select(func.count()).select_from(CustomerCache)) == 0


@pytest.mark.postgres_only
def test_concurrent_writers_of_one_key_all_succeed(app):
    """Two views caching the same answer at once: upsert, no unique-violation."""
    shop_id = make_shop().id
    errors = []

    def write(n):
        with app.app_context():
            try:
                for _ in range(20):
                    cache.put(shop_id, "card:9:first", {"n": n}, ["9"])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get(shop_id, "card:9:first") in [{"n": n} for n in range(4)]
