"""A subset of Shopify's search syntax for `customers(query:)` and `orders(query:)`.

Supported: `field:value`, `field:"quoted value"`, comparisons (`field:>=2024-01-01`), a trailing
`*` for prefix matches, `-term` / `NOT term`, `AND` (implicit) and `OR`, and free text. As on
Shopify, an unquoted `email:` value is tokenized (it matches any address sharing a token: quote
it for an exact match), and unknown fields are ignored with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plugin.sandbox.models import Customer, Order, parse_gid

TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass
class Term:
    """One search term."""

    field: str | None
    value: str
    op: str = ":"
    quoted: bool = False
    negate: bool = False


def tokenize(query: str) -> list[str]:
    """Split on whitespace outside quotes; parentheses are dropped."""
    tokens, buf, quote, escaped = [], [], None, False
    for char in query:
        if quote:
            buf.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'" and (not buf or buf[-1] in ":<>="):
            quote = char  # quotes open a value only at its start (O'Brien stays a word)
            buf.append(char)
        elif char.isspace() or char in "()":
            if buf:
                tokens.append("".join(buf))
                buf = []
        else:
            buf.append(char)
    if buf:
        tokens.append("".join(buf))
    return tokens


def _unquote(text: str) -> tuple[str, bool]:
    """Strip quotes and undo backslash escapes (`\\"` and `\\\\`) inside them."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return re.sub(r"\\(.)", r"\1", text[1:-1]), True
    return text, False


def parse(query: str | None) -> list[list[Term]]:
    """Groups of terms: the groups are OR-ed, the terms of a group AND-ed."""
    groups: list[list[Term]] = [[]]
    negate_next = False
    for word in tokenize(query or ""):
        if word == "OR":
            groups.append([])
            continue
        if word == "AND":
            continue
        if word == "NOT":
            negate_next = True
            continue
        negate = negate_next
        negate_next = False
        if word.startswith("-") and len(word) > 1:
            negate, word = True, word[1:]
        match = re.match(r"^([A-Za-z_][\w.]*):(>=|<=|>|<)?(.*)$", word)
        if match:
            value, quoted = _unquote(match.group(3))
            groups[-1].append(Term(field=match.group(1).lower(), value=value,
                                   op=match.group(2) or ":", quoted=quoted, negate=negate))
        else:
            value, quoted = _unquote(word)
            groups[-1].append(Term(field=None, value=value, quoted=quoted, negate=negate))
    return [g for g in groups if g]


def digits(text: str | None) -> str:
    """Only the digits of a phone number or id."""
    return re.sub(r"\D", "", text or "")


def _text_eq(actual: str | None, term: Term) -> bool:
    if actual is None:
        return False
    value = term.value.lower()
    if value.endswith("*") and not term.quoted:
        return actual.lower().startswith(value[:-1])
    return actual.lower() == value


def _phone_eq(actual: str | None, wanted: str) -> bool:
    a, w = digits(actual), digits(wanted)
    if not a or not w:
        return False
    return a == w or (min(len(a), len(w)) >= 10 and (a.endswith(w) or w.endswith(a)))


def _email_match(actual: str | None, term: Term) -> bool:
    if not actual:
        return False
    if term.quoted:
        return actual.lower() == term.value.lower()
    if term.value.endswith("*"):
        return actual.lower().startswith(term.value[:-1].lower())
    # Shopify tokenizes an unquoted email: any shared token matches.
    wanted = {t for t in TOKEN_SPLIT.split(term.value.lower()) if t}
    return bool(wanted & set(TOKEN_SPLIT.split(actual.lower())))


def _id_eq(actual: int, value: str) -> bool:
    parsed = parse_gid(value)
    return (parsed[1] if parsed else (int(value) if value.isdigit() else None)) == actual


def _parse_when(value: str) -> datetime | None:
    text = value.strip().strip("'\"")
    if text.lower() == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _compare(actual: Any, term: Term, convert: Callable[[str], Any]) -> bool:
    try:
        wanted = convert(term.value)
    except (TypeError, ValueError):
        return False
    if actual is None or wanted is None:
        return False
    return {":": actual == wanted, ">": actual > wanted, "<": actual < wanted,
            ">=": actual >= wanted, "<=": actual <= wanted}[term.op]


def _date_compare(actual: datetime | None, term: Term) -> bool:
    if term.op == ":" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", term.value):
        return actual is not None and actual.date().isoformat() == term.value
    return _compare(actual, term, _parse_when)


def _bool(value: str) -> bool:
    return value.lower() in {"true", "1", "yes"}


# -- customers -----------------------------------------------------------------------------
def _customer_field(store: Any, customer: Customer, term: Term) -> bool | None:
    name = term.field
    addr = customer.addresses[0] if customer.addresses else None
    checks: dict[str, Callable[[], bool]] = {
        "email": lambda: _email_match(customer.email, term),
        "phone": lambda: _phone_eq(customer.phone, term.value),
        "first_name": lambda: _text_eq(customer.first_name, term),
        "last_name": lambda: _text_eq(customer.last_name, term),
        "name": lambda: term.value.lower() in customer.display_name.lower(),
        "tag": lambda: any(_text_eq(t, term) for t in customer.tags),
        "tag_not": lambda: not any(_text_eq(t, term) for t in customer.tags),
        "id": lambda: _id_eq(customer.id, term.value),
        "customer_id": lambda: _id_eq(customer.id, term.value),
        "orders_count": lambda: _compare(len(store.customer_orders(customer)), term, int),
        "country": lambda: bool(addr) and (_text_eq(addr.country_code, term)),
        "state": lambda: customer.state.lower() == term.value.lower(),
        "accepts_marketing": lambda: customer.accepts_marketing == _bool(term.value),
        "created_at": lambda: _date_compare(customer.created_at, term),
        "updated_at": lambda: _date_compare(customer.updated_at, term),
    }
    check = checks.get(name or "")
    return check() if check else None


def _customer_text(customer: Customer, term: Term) -> bool:
    value = term.value.lower()
    fields = [customer.first_name, customer.last_name, customer.display_name, customer.email]
    if any(value in (f or "").lower() for f in fields):
        return True
    # A phone-like term matches a number containing its digits.
    if re.fullmatch(r"[+\d\s().-]{4,}", term.value):
        return digits(term.value) in digits(customer.phone)
    return False


def match_customers(store: Any, customers: Iterable[Customer],
                    query: str | None) -> tuple[list[Customer], list[str]]:
    """Customers matching `query`, and warnings for ignored fields."""
    return _match(customers, query,
                  lambda c, t: _customer_field(store, c, t), _customer_text)


# -- orders --------------------------------------------------------------------------------
FINANCIAL_ALIASES = {"unpaid": {"PENDING", "AUTHORIZED", "PARTIALLY_PAID"},
                     "any": None}
FULFILLMENT_ALIASES = {"shipped": {"FULFILLED"}, "fulfilled": {"FULFILLED"},
                       "partial": {"PARTIALLY_FULFILLED"},
                       "unshipped": {"UNFULFILLED", "ON_HOLD"},
                       "unfulfilled": {"UNFULFILLED", "PARTIALLY_FULFILLED", "ON_HOLD"},
                       "on_hold": {"ON_HOLD"}, "restocked": {"RESTOCKED"}, "any": None}


def _status_match(order: Order, value: str) -> bool:
    value = value.lower()
    if value == "any":
        return True
    if value == "cancelled":
        return order.cancelled_at is not None
    if value == "closed":
        return order.closed_at is not None
    if value == "not_closed":
        return order.closed_at is None
    if value == "open":
        return order.closed_at is None and order.cancelled_at is None
    return False


def _alias_match(actual: str, value: str, aliases: dict[str, set[str] | None]) -> bool:
    key = value.lower()
    if key in aliases:
        allowed = aliases[key]
        return allowed is None or actual in allowed
    return actual.lower() == key


def _order_field(store: Any, order: Order, term: Term) -> bool | None:
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    checks: dict[str, Callable[[], bool]] = {
        "name": lambda: _text_eq(str(order.number), Term(None, term.value.lstrip("#"),
                                                          quoted=term.quoted)),
        "order_number": lambda: str(order.number) == term.value.lstrip("#"),
        "id": lambda: _id_eq(order.id, term.value),
        "customer_id": lambda: order.customer_id is not None and _id_eq(order.customer_id,
                                                                         term.value),
        "email": lambda: _text_eq(order.email, term),
        "phone": lambda: _phone_eq(order.phone, term.value),
        "financial_status": lambda: _alias_match(order.financial_status, term.value,
                                                 FINANCIAL_ALIASES),
        "fulfillment_status": lambda: _alias_match(order.fulfillment_status, term.value,
                                                   FULFILLMENT_ALIASES),
        "status": lambda: _status_match(order, term.value),
        "tag": lambda: any(_text_eq(t, term) for t in order.tags),
        "tag_not": lambda: not any(_text_eq(t, term) for t in order.tags),
        "return_status": lambda: order.return_status.lower() == term.value.lower(),
        "confirmation_number": lambda: _text_eq(order.confirmation_number, term),
        "sku": lambda: any(_text_eq(li.sku, term) for li in order.lines),
        "test": lambda: order.test == _bool(term.value),
        "created_at": lambda: _date_compare(order.created_at, term),
        "processed_at": lambda: _date_compare(order.created_at, term),
        "updated_at": lambda: _date_compare(order.updated_at, term),
        "customer": lambda: bool(customer) and term.value.lower() in
        customer.display_name.lower(),
    }
    check = checks.get(term.field or "")
    return check() if check else None


def _order_text(store: Any, order: Order, term: Term) -> bool:
    value = term.value.lower().lstrip("#")
    if value == str(order.number):
        return True
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    fields = [order.email, order.confirmation_number,
              customer.display_name if customer else None,
              *(li.title for li in order.lines), *(li.sku for li in order.lines)]
    return any(value in (f or "").lower() for f in fields)


def match_orders(store: Any, orders: Iterable[Order],
                 query: str | None) -> tuple[list[Order], list[str]]:
    """Orders matching `query`, and warnings for ignored fields."""
    return _match(orders, query, lambda o, t: _order_field(store, o, t),
                  lambda o, t: _order_text(store, o, t))


def _match(items: Iterable[Any], query: str | None, by_field: Callable[[Any, Term], bool | None],
           by_text: Callable[[Any, Term], bool]) -> tuple[list[Any], list[str]]:
    groups = parse(query)
    items = list(items)
    if not groups:
        return items, []
    warnings: set[str] = set()

    def term_ok(item: Any, term: Term) -> bool:
        if term.field is None:
            result = by_text(item, term)
        else:
            found = by_field(item, term)
            if found is None:
                warnings.add(term.field)
                return True
            result = found
        return not result if term.negate else result

    matched = [item for item in items
               if any(all(term_ok(item, t) for t in group) for group in groups)]
    return matched, sorted(warnings)
