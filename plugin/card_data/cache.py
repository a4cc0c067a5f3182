"""The card's cache of Shopify answers (`CustomerCache`), per shop and customer.

A cached answer may concern several customers (a merged card, a search with several
matches). It is stored as one row under its key plus a pointer row `key#n` per further
customer, each carrying that customer's id, so that invalidating any one of them (by
`customer_id`, as the `orders/updated` webhook does) makes the whole answer a miss.

Invalidation also leaves a short-lived marker (`inval:<customer>` / `inval:order:<id>`):
an answer whose Shopify request started before the marker is not written, so a view that
raced with an action or a webhook cannot put the old state back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_, select

from plugin.extensions import db
from plugin.models import CustomerCache
from plugin.models.base import utcnow

DEFAULT_TTL_SECONDS = 300
# How long an invalidation marker blocks writes of answers fetched before it.
MARKER_SECONDS = 120
MEMBER_SEPARATOR = "#"
MARKER_PREFIX = "inval:"


def ttl_seconds() -> int:
    """Lifetime of a cached card answer (`CARD_CACHE_TTL_SECONDS`, default 5 minutes)."""
    return int(current_app.config.get("CARD_CACHE_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def get(shop_id: int, key: str, *, max_age: int | None = None) -> dict[str, Any] | None:
    """The payload cached under key, or None if missing, expired or partly invalidated."""
    rows = db.session.execute(
        select(CustomerCache.cache_key, CustomerCache.payload, CustomerCache.fetched_at)
        .where(CustomerCache.shop_id == shop_id,
               or_(CustomerCache.cache_key == key,
                   CustomerCache.cache_key.startswith(key + MEMBER_SEPARATOR,
                                                      autoescape=True)))
    ).all()
    main = next((r for r in rows if r.cache_key == key), None)
    if main is None or not isinstance(main.payload, dict):
        return None
    age = max_age if max_age is not None else ttl_seconds()
    if main.fetched_at < utcnow() - timedelta(seconds=age):
        return None
    members = main.payload.get("_members", 1)
    if len(rows) < members:
        # One of the customers it concerns was invalidated (or redacted) by a plain delete:
        # drop the rest too, so no other customer's data outlives it.
        _delete_groups(shop_id, [key])
        db.session.commit()
        return None
    return main.payload.get("data")


def put(shop_id: int, key: str, data: Any, customer_ids: Sequence[str | None],
        *, started_at: datetime | None = None) -> bool:
    """Cache data under key for these customers (upsert, safe under concurrency).

    Returns False, writing nothing, when one of them was invalidated after `started_at`
    (the moment the Shopify request was sent).
    """
    ids = [c for c in dict.fromkeys(customer_ids) if c] or [None]
    if started_at is not None and _invalidated_since(shop_id, ids, started_at, keys=[key]):
        return False
    now = utcnow()
    rows = [{"shop_id": shop_id, "cache_key": key, "customer_id": ids[0],
             "payload": {"data": data, "_members": len(ids)}, "fetched_at": now}]
    rows += [{"shop_id": shop_id, "cache_key": f"{key}{MEMBER_SEPARATOR}{n}",
              "customer_id": cid, "payload": {}, "fetched_at": now}
             for n, cid in enumerate(ids[1:], start=2)]
    _upsert(rows)
    db.session.commit()
    return True


def invalidate_customers(shop_id: int, customer_ids: Iterable[str]) -> int:
    """Drop every answer about these customers; returns the number of rows removed."""
    ids = [str(c) for c in customer_ids if c]
    if not ids:
        return 0
    # Answers shared with other customers go whole: their main rows and every member row.
    member_keys = db.session.scalars(
        select(CustomerCache.cache_key).where(
            CustomerCache.shop_id == shop_id, CustomerCache.customer_id.in_(ids),
            CustomerCache.cache_key.contains(MEMBER_SEPARATOR, autoescape=True))).all()
    count = _delete_groups(shop_id, {k.rsplit(MEMBER_SEPARATOR, 1)[0] for k in member_keys})
    result = db.session.execute(
        delete(CustomerCache).where(CustomerCache.shop_id == shop_id,
                                    CustomerCache.customer_id.in_(ids),
                                    ~CustomerCache.cache_key.startswith(MARKER_PREFIX)))
    _mark(shop_id, [(f"{MARKER_PREFIX}{cid}", cid) for cid in ids])
    db.session.commit()
    return count + (result.rowcount or 0)


def invalidate_keys(shop_id: int, keys: Iterable[str]) -> int:
    """Drop the answers cached under these exact keys (and their member rows)."""
    keys = list(keys)
    count = _delete_groups(shop_id, keys)
    _mark(shop_id, [(f"{MARKER_PREFIX}{key}", None) for key in keys])
    db.session.commit()
    return count


def _delete_groups(shop_id: int, keys: Iterable[str]) -> int:
    """Delete the rows of these answers (main rows and member rows); no commit."""
    count = 0
    for key in keys:
        result = db.session.execute(
            delete(CustomerCache).where(
                CustomerCache.shop_id == shop_id,
                or_(CustomerCache.cache_key == key,
                    CustomerCache.cache_key.startswith(key + MEMBER_SEPARATOR,
                                                       autoescape=True))))
        count += result.rowcount or 0
    return count


def invalidate_prefix(shop_id: int, prefix: str) -> int:
    """Drop every answer whose key starts with prefix (e.g. all cards of a shop)."""
    result = db.session.execute(
        delete(CustomerCache).where(CustomerCache.shop_id == shop_id,
                                    CustomerCache.cache_key.startswith(prefix,
                                                                       autoescape=True)))
    db.session.commit()
    return result.rowcount or 0


def cached_customer_id(shop_id: int, key: str) -> str | None:
    """The customer a cached row is about (fresh or not), e.g. the customer of an order."""
    return db.session.execute(
        select(CustomerCache.customer_id).where(CustomerCache.shop_id == shop_id,
                                                CustomerCache.cache_key == key)
    ).scalar_one_or_none()


def _invalidated_since(shop_id: int, customer_ids: Sequence[str | None],
                       started_at: datetime, keys: Sequence[str] = ()) -> bool:
    """True if a marker for one of these customers (or keys) is newer than started_at."""
    markers = [f"{MARKER_PREFIX}{c}" for c in customer_ids if c]
    markers += [f"{MARKER_PREFIX}{k}" for k in keys]
    if not markers:
        return False
    newest = db.session.execute(
        select(CustomerCache.fetched_at).where(CustomerCache.shop_id == shop_id,
                                               CustomerCache.cache_key.in_(markers))
        .order_by(CustomerCache.fetched_at.desc()).limit(1)
    ).scalar_one_or_none()
    return newest is not None and newest >= started_at


def _mark(shop_id: int, markers: list[tuple[str, str | None]]) -> None:
    """Write invalidation markers and forget markers too old to matter."""
    now = utcnow()
    db.session.execute(
        delete(CustomerCache).where(
            CustomerCache.shop_id == shop_id,
            CustomerCache.cache_key.startswith(MARKER_PREFIX),
            CustomerCache.fetched_at < now - timedelta(seconds=MARKER_SECONDS)))
    _upsert([{"shop_id": shop_id, "cache_key": key, "customer_id": cid, "payload": {},
              "fetched_at": now} for key, cid in markers])


def _upsert(rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT (shop_id, cache_key) DO UPDATE, on PostgreSQL and SQLite."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app supports these two databases
        raise RuntimeError(f"unsupported database for the card cache: {dialect}")
    stmt = insert(CustomerCache).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[CustomerCache.shop_id, CustomerCache.cache_key],
        set_={"payload": stmt.excluded.payload, "customer_id": stmt.excluded.customer_id,
              "fetched_at": stmt.excluded.fetched_at})
    db.session.execute(stmt)
