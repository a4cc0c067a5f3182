"""The card's data: find the customer, build the card, read one order — each at most one
Shopify request, answers cached per shop and customer (see `cache`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app

from plugin.card_data import cache
from plugin.card_data.matching import (
    SearchPlan,
    email_query,
    name_query,
    normalize_email,
    normalize_phone,
    order_name_query,
    phone_query,
    plan_search,
)
from plugin.card_data.present import (
    customer_vm,
    nodes_of,
    numeric_id,
    order_detail_vm,
    order_row_vm,
    to_gid,
)
from plugin.exceptions import NotFoundError, ValidationError
from plugin.models.base import utcnow
from plugin.models.shop import Shop

log = logging.getLogger("sidecard.card")

DEFAULT_PAGE_SIZE = 10
# Candidates per search (an exact email or phone rarely matches more than one or two).
SEARCH_FIRST = 5
NAME_SEARCH_FIRST = 10
RECENT_ORDERS = 3
# An email/phone → customer mapping is good for this long when only the id is needed.
DEFAULT_MATCH_TTL_SECONDS = 3600
COUNTRY_KEY = "shop:country"
COUNTRY_TTL_SECONDS = 30 * 24 * 3600
MAX_CURSOR_LENGTH = 4096

# In-process counters for the benchmark and the logs: cache hits/misses and Shopify calls.
STATS: Counter[str] = Counter()


def stats_snapshot() -> dict[str, int]:
    """Cache hits, misses and Shopify calls made by the card services in this process."""
    return dict(STATS)


def reset_stats() -> None:
    """Zero the counters (benchmark runs, tests)."""
    STATS.clear()


def _execute(shop: Shop, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One Shopify GraphQL request for the card; returns its `data`."""
    from plugin.shopify.client import client_for_shop  # imported late: needs the app

    STATS[f"shopify:{operation}"] += 1
    STATS["shopify_calls"] += 1
    return client_for_shop(shop).execute(operation, variables).data


def _hit(kind: str) -> None:
    STATS[f"hit:{kind}"] += 1


def _miss(kind: str) -> None:
    STATS[f"miss:{kind}"] += 1


def page_size() -> int:
    """Orders per page of the card (`CARD_ORDERS_PAGE_SIZE`, default 10)."""
    return max(1, min(50, int(current_app.config.get("CARD_ORDERS_PAGE_SIZE",
                                                     DEFAULT_PAGE_SIZE))))


def _match_ttl() -> int:
    return int(current_app.config.get("CARD_MATCH_TTL_SECONDS", DEFAULT_MATCH_TTL_SECONDS))


def shop_region(shop: Shop) -> str | None:
    """The shop's country (ISO 3166 alpha-2) for reading national phone numbers, if known."""
    region = getattr(shop, "country_code", None)
    if region:
        return str(region).upper()
    cached = cache.get(shop.id, COUNTRY_KEY, max_age=COUNTRY_TTL_SECONDS)
    if cached:
        return str(cached)
    configured = current_app.config.get("DEFAULT_PHONE_REGION")
    return str(configured).upper() if configured else None


def _key(prefix: str, *parts: Any) -> str:
    """A cache key; inputs that may hold personal data (emails, phones) are hashed."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:40]
    return f"{prefix}:{digest}"


# ---------------------------------------------------------------------------------------
# Finding the customer


def requester_plan(shop: Shop, email: str | None, phone: str | None) -> SearchPlan:
    """What to search for a ticket's requester: exact email and E.164 phone.

    :raises ValidationError: a malformed email, or neither an email nor a readable phone.
    """
    clean_email = normalize_email(email)
    clean_phone = normalize_phone(phone, shop_region(shop))
    if not clean_email and not clean_phone:
        raise ValidationError("Give an email address or a phone number (with its country "
                              "code, e.g. +1…) to find the customer.")
    return SearchPlan(text="", email=clean_email, phone=clean_phone)


def find_customers(shop: Shop, *, email: str | None = None, phone: str | None = None,
                   q: str | None = None, fresh_only: bool = True) -> dict[str, Any]:
    """Customers matching a requester (email, then phone) or the agent's search text `q`.

    Returns `{"customers": [...], "merged", "matched_order_id", "match_count"}`; each
    customer carries `matched_by` and `recent_orders`. `merged` is true when the requester's
    email and phone each found exactly one account, they differ and their names agree: the
    same person with two accounts, whose card shows both (see `same_person`). At most one
    Shopify request; none when cached.
    `fresh_only=False` accepts an older mapping (up to `CARD_MATCH_TTL_SECONDS`) when the
    caller needs only the ids.

    :raises ValidationError: empty, over-long or unreadable input.
    """
    if q is not None:
        plan = plan_search(q, shop_region(shop))
    else:
        plan = requester_plan(shop, email, phone)
    key = _match_key(plan)
    max_age = cache.ttl_seconds() if fresh_only else max(_match_ttl(), cache.ttl_seconds())
    cached = cache.get(shop.id, key, max_age=max_age)
    if cached is not None:
        _hit("match")
        return cached
    _miss("match")
    started = utcnow()
    data = _execute(shop, "CardSearch", _search_variables(plan))
    _remember_country(shop, data)
    result = _search_result(shop, plan, data, requester=q is None)
    cache.put(shop.id, key, result, [c["id"] for c in result["customers"]],
              started_at=started)
    return result


def _match_key(plan: SearchPlan) -> str:
    """Cache key of a search's answer (hashed: it is made of emails and phone numbers)."""
    return _key("match", plan.email, plan.phone, plan.name, plan.order_number)


def card_ids(found: Mapping[str, Any]) -> list[str]:
    """The accounts a search result opens as one card (one, or one person's two), or []."""
    customers = found.get("customers") or []
    if len(customers) == 1 or (found.get("merged") and len(customers) == 2):
        return [c["id"] for c in customers]
    return []


def launch_card(shop: Shop, *, email: str | None = None,
                phone: str | None = None) -> dict[str, Any]:
    """What the card opens with for a ticket's requester: `{"found", "card"}`.

    `found` is as `find_customers` answers; `card` is the first page of the card when one
    account matched (or one person's two accounts, merged), else None (a choice, or
    nobody). One Shopify request when nothing is cached (CardLaunch fetches both lookups
    with their first pages, and caches each account's card for a later pick); none when
    the requester's mapping and card are cached.

    :raises ValidationError: a malformed email, or neither an email nor a readable phone.
    """
    plan = requester_plan(shop, email, phone)
    key = _match_key(plan)
    fresh = cache.get(shop.id, key)
    found = fresh if fresh is not None else cache.get(
        shop.id, key, max_age=max(_match_ttl(), cache.ttl_seconds()))
    # An older mapping still names the right account; a stale list of candidates does not.
    if found is not None and (fresh is not None or card_ids(found)):
        _hit("match")
        ids = card_ids(found)
        if not ids:
            return {"found": found, "card": None}
        try:
            return {"found": found,
                    "card": customer_card(shop, ids[0], also=ids[1] if len(ids) > 1 else None)}
        except NotFoundError:  # the account is gone: look again
            cache.invalidate_keys(shop.id, [key])
    _miss("match")
    variables: dict[str, Any] = {"first": page_size()}
    if plan.email:
        variables.update(byEmail=True, emailQuery=email_query(plan.email))
    if plan.phone:
        variables.update(byPhone=True, phoneQuery=phone_query(plan.phone))
    started = utcnow()
    data = _execute(shop, "CardLaunch", variables)
    _remember_country(shop, data)
    if any(((data.get(alias) or {}).get("pageInfo") or {}).get("hasNextPage")
           for alias in ("byEmail", "byPhone")):
        # Several accounts share the email or phone (not seen on Shopify): list them all.
        found = find_customers(shop, email=email, phone=phone)
        return {"found": found, "card": None}

    found = _search_result(shop, plan, data, requester=True)
    cache.put(shop.id, key, found, [c["id"] for c in found["customers"]], started_at=started)
    nodes = {numeric_id(n["id"]): n
             for alias in ("byEmail", "byPhone")
             for n in (data.get(alias) or {}).get("nodes") or [] if n and n.get("id")}
    cards = {}
    for cid, node in nodes.items():  # each account's own card, for the chooser's pick
        cards[cid] = _assemble_card(shop, [cid], [(cid, node)], _decode_cursor(None, [cid]),
                                    first_page=True, started=started)
        cache.put(shop.id, _card_key([cid], None), cards[cid], [cid], started_at=started)
    ids = card_ids(found)
    card = None
    if len(ids) == 1:
        card = cards.get(ids[0])
    elif len(ids) == 2:
        card = _assemble_card(shop, ids, [(cid, nodes[cid]) for cid in ids],
                              _decode_cursor(None, ids), first_page=True, started=started)
        cache.put(shop.id, _card_key(ids, None), card, ids, started_at=started)
    return {"found": found, "card": card}


def _search_variables(plan: SearchPlan) -> dict[str, Any]:
    """CardSearch variables: each search only when the plan asks for it."""
    variables: dict[str, Any] = {"first": SEARCH_FIRST, "recentOrders": RECENT_ORDERS}
    if plan.email:
        variables.update(byEmail=True, emailQuery=email_query(plan.email))
    if plan.phone:
        variables.update(byPhone=True, phoneQuery=phone_query(plan.phone))
    if plan.name:
        variables.update(byName=True, nameQuery=name_query(plan.name),
                         nameFirst=NAME_SEARCH_FIRST)
    if plan.order_number:
        variables.update(byOrder=True, orderQuery=order_name_query(plan.order_number))
    return variables


def _remember_country(shop: Shop, data: Mapping[str, Any]) -> None:
    """Keep the shop's country from a search answer, for reading national numbers."""
    code = (((data.get("shop") or {}).get("shopAddress") or {}).get("countryCodeV2"))
    if code and cache.get(shop.id, COUNTRY_KEY, max_age=COUNTRY_TTL_SECONDS) != code:
        cache.put(shop.id, COUNTRY_KEY, code, [None])


def _search_result(shop: Shop, plan: SearchPlan, data: Mapping[str, Any], *,
                   requester: bool) -> dict[str, Any]:
    """Merge the aliases of a CardSearch answer into one candidate list, best first."""
    found: dict[str, dict[str, Any]] = {}
    reasons: dict[str, list[str]] = {}
    matched_order_id = None

    def add(node: Mapping[str, Any] | None, reason: str) -> str | None:
        if not node or not node.get("id"):
            return None
        cid = numeric_id(node["id"])
        if cid is None:
            return None
        found.setdefault(cid, dict(node))
        reasons.setdefault(cid, [])
        if reason not in reasons[cid]:
            reasons[cid].append(reason)
        return cid

    by_email = [add(n, "email") for n in (data.get("byEmail") or {}).get("nodes") or []]
    by_phone = [add(n, "phone") for n in (data.get("byPhone") or {}).get("nodes") or []]
    for order in (data.get("byOrder") or {}).get("nodes") or []:
        if add(order.get("customer"), "order") and matched_order_id is None:
            matched_order_id = numeric_id(order.get("id"))
    for node in (data.get("byName") or {}).get("nodes") or []:
        add(node, "name")

    customers = []
    for cid, node in found.items():
        vm = customer_vm(node, shop.domain, reasons[cid])
        vm["recent_orders"] = [order_row_vm(o, shop.domain, cid)
                               for o in nodes_of(node.get("orders"))[:RECENT_ORDERS]]
        customers.append(vm)
    email_ids = {c for c in by_email if c}
    phone_ids = {c for c in by_phone if c}
    merged = (requester and len(email_ids) == 1 and len(phone_ids) == 1
              and email_ids != phone_ids and len(customers) == 2
              and same_person(customers[0], customers[1]))
    return {"customers": customers, "merged": merged, "matched_order_id": matched_order_id,
            "match_count": len(customers)}


def _name_key(customer: Mapping[str, Any]) -> tuple[str, str] | None:
    first = (customer.get("first_name") or "").strip().lower()
    last = (customer.get("last_name") or "").strip().lower()
    return (first, last) if first or last else None


def same_person(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two accounts (one found by the requester's email, one by their phone) may be
    merged: their names agree, or one has no name to disagree with.

    A phone shared by a family, or mistyped, must not put a stranger's orders on the card;
    then the agent picks instead.
    """
    key_a, key_b = _name_key(a), _name_key(b)
    return key_a is None or key_b is None or key_a == key_b


# ---------------------------------------------------------------------------------------
# The card


def customer_card(shop: Shop, customer_id: str | int, after: str | None = None, *,
                  also: str | int | None = None) -> dict[str, Any]:
    """The card for a customer (and `also` a second account of the same person): headers,
    a page of orders newest first, and on the first page the newest order in full.

    Returns `{"customers", "merged", "orders", "latest_order", "page_info"}`; `after` is
    the previous page's `page_info.end_cursor`. One Shopify request; none when cached.

    :raises ValidationError: a malformed id or cursor.
    :raises NotFoundError: no such customer in this shop.
    """
    ids = [numeric_id(to_gid("Customer", customer_id))]
    if also not in (None, ""):
        second = numeric_id(to_gid("Customer", also))
        if second not in ids:
            ids.append(second)
    state = _decode_cursor(after, ids)
    key = _card_key(ids, after)
    cached = cache.get(shop.id, key)
    if cached is not None:
        _hit("card")
        return cached
    _miss("card")

    first_id, second_id = ids[0], ids[-1]
    variables = {
        "id": to_gid("Customer", first_id), "secondId": to_gid("Customer", second_id),
        "withSecond": len(ids) > 1, "first": page_size(),
        "after": state[first_id]["after"], "withOrders": not state[first_id]["done"],
        "secondAfter": state[second_id]["after"] if len(ids) > 1 else None,
        "secondWithOrders": len(ids) > 1 and not state[second_id]["done"],
        "withLatest": after is None,
    }
    started = utcnow()
    data = _execute(shop, "CardCustomers", variables)
    accounts = [(cid, data.get(alias)) for cid, alias in zip(ids, ("primary", "secondary"),
                                                             strict=False)]
    if not accounts[0][1]:
        raise NotFoundError("No such customer in this shop.", reason="unknown_customer")
    accounts = [(cid, node) for cid, node in accounts if node]
    result = _assemble_card(shop, ids, accounts, state, first_page=after is None,
                            started=started)
    cache.put(shop.id, key, result, [c["id"] for c in result["customers"]],
              started_at=started)
    return result


def _card_key(ids: Sequence[str], after: str | None) -> str:
    """The cache key of one page of a card (one account, or two merged)."""
    page = _key("page", after).split(":")[1] if after else "first"
    return f"card:{'+'.join(ids)}:{page}"


def _assemble_card(shop: Shop, ids: Sequence[str], accounts: Sequence[tuple[str, Any]],
                   state: Mapping[str, Mapping[str, Any]], *, first_page: bool,
                   started: Any) -> dict[str, Any]:
    """Build a card page from account nodes (header, `orders` edges, `latest`).

    Orders of every account are merged newest first; one page is kept and each account's
    cursor moves past what was shown, so the next page misses and repeats nothing.
    """
    size = page_size()
    rows: list[tuple[dict[str, Any], str, str]] = []  # (row, cursor, account)
    more: dict[str, bool] = {}
    for cid, node in accounts:
        connection = node.get("orders") or {}
        more[cid] = bool((connection.get("pageInfo") or {}).get("hasNextPage"))
        for edge in connection.get("edges") or []:
            if edge and edge.get("node"):
                rows.append((order_row_vm(edge["node"], shop.domain, cid), edge["cursor"], cid))
    rows.sort(key=lambda r: (r[0]["created_at"] or "", int(r[0]["id"] or 0)), reverse=True)
    page, rest = rows[:size], rows[size:]
    new_state = {cid: dict(state[cid]) for cid in ids}
    for _row, cursor, cid in page:
        new_state[cid]["after"] = cursor
    for cid in new_state:
        untaken = any(r[2] == cid for r in rest)
        if cid not in more:  # the account has gone (merged, since deleted)
            new_state[cid]["done"] = True
        elif not state[cid]["done"]:
            new_state[cid]["done"] = not untaken and not more[cid]
    has_next = any(not s["done"] for s in new_state.values())

    latest = None
    if first_page:
        newest = [(cid, ((n.get("latest") or {}).get("nodes") or [None])[0])
                  for cid, n in accounts]
        newest = [(cid, n) for cid, n in newest if n]
        if newest:
            owner, node = max(newest, key=lambda p: (p[1].get("createdAt") or "",
                                                     p[1].get("id") or ""))
            latest = order_detail_vm(node, shop.domain)
            if latest["customer"] is None:
                latest["customer_id"] = owner
            cache.put(shop.id, f"order:{latest['id']}", latest, [owner], started_at=started)

    return {
        "customers": [customer_vm(node, shop.domain) for _, node in accounts],
        "merged": len(accounts) > 1,
        "orders": [row for row, _, _ in page],
        "latest_order": latest,
        "page_info": {"has_next_page": has_next,
                      "end_cursor": _encode_cursor(new_state) if has_next else None},
    }


def _encode_cursor(state: Mapping[str, Mapping[str, Any]]) -> str:
    """Where each account's order list stopped, as one opaque URL-safe string."""
    raw = json.dumps({cid: [s["after"], bool(s["done"])] for cid, s in state.items()},
                     separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(after: str | None, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per-account paging state from a cursor (or the first page when there is none).

    :raises ValidationError: the cursor is not one this card produced.
    """
    if not after:
        return {cid: {"after": None, "done": False} for cid in ids}
    invalid = ValidationError("That page of orders is no longer available; reload the card.",
                              reason="bad_cursor")
    if len(after) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    if not isinstance(data, dict) or set(data) != set(ids):
        raise invalid
    state = {}
    for cid, value in data.items():
        if (not isinstance(value, list) or len(value) != 2
                or not (value[0] is None or isinstance(value[0], str))
                or not isinstance(value[1], bool)):
            raise invalid
        state[cid] = {"after": value[0], "done": value[1]}
    return state


# ---------------------------------------------------------------------------------------
# One order


def order_detail(shop: Shop, order_id: str | int) -> dict[str, Any]:
    """One order in full (statuses, items, shipments, addresses, refunds), this shop only.

    :raises ValidationError: a malformed id.
    :raises NotFoundError: no such order in this shop.
    """
    gid = to_gid("Order", order_id)
    key = f"order:{numeric_id(gid)}"
    cached = cache.get(shop.id, key)
    if cached is not None:
        _hit("order")
        return cached
    _miss("order")
    started = utcnow()
    data = _execute(shop, "OrderDetail", {"id": gid})
    node = data.get("order")
    if not node:
        raise NotFoundError("No such order in this shop.", reason="unknown_order")
    vm = order_detail_vm(node, shop.domain)
    cache.put(shop.id, key, vm, [vm["customer_id"]], started_at=started)
    return vm


# ---------------------------------------------------------------------------------------
# Invalidation (webhooks and actions)


def invalidate_customer(shop: Shop, customer_id: str | int) -> int:
    """Forget every cached answer about this customer; the next view asks Shopify."""
    cid = numeric_id(to_gid("Customer", customer_id))
    removed = cache.invalidate_customers(shop.id, [cid])
    log.info("card cache invalidated shop=%s customer=%s rows=%d", shop.domain, cid, removed)
    return removed


def invalidate_order(shop: Shop, order_id: str | int,
                     customer_id: str | int | None = None) -> int:
    """Forget the order and every card that may show it (its customer's, when known;
    otherwise every card of the shop)."""
    oid = numeric_id(to_gid("Order", order_id))
    key = f"order:{oid}"
    owner = (numeric_id(to_gid("Customer", customer_id)) if customer_id not in (None, "")
             else cache.cached_customer_id(shop.id, key))
    removed = cache.invalidate_keys(shop.id, [key])
    if owner:
        removed += cache.invalidate_customers(shop.id, [owner])
    else:
        removed += cache.invalidate_prefix(shop.id, "card:")
    log.info("card cache invalidated shop=%s order=%s rows=%d", shop.domain, oid, removed)
    return removed
