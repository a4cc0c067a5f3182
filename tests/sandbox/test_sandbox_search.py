"""Shopify search syntax for customers and orders, customerByIdentifier, pagination."""

from __future__ import annotations

import pytest
from sandbox_kit import gid

CUSTOMERS = """query($q: String, $first: Int = 20, $after: String) {
  customers(first: $first, after: $after, query: $q, sortKey: NAME) {
    nodes { displayName }
    pageInfo { hasNextPage endCursor }
  }
}"""
ORDERS = """query($q: String) { orders(first: 20, query: $q, sortKey: CREATED_AT, reverse: true) {
  nodes { name } } }"""
BY_IDENTIFIER = """query($identifier: CustomerIdentifierInput!) {
  customerByIdentifier(identifier: $identifier) { displayName } }"""


@pytest.fixture
def people(store):
    """Bo (two accounts sharing a phone), Bob at the same domain, Ann with no orders."""
    bo = store.add_customer(first_name="Bo", last_name="Wang", email="bo.wang@example.com",
                            phone="+14155550123", tags=["VIP"])
    store.add_customer(first_name="Bo", last_name="Wang", email="bo@work.example",
                       phone="+14155550123")
    store.add_customer(first_name="Bob", last_name="Stone", email="bob.stone@example.com",
                       phone="+12125550187")
    store.add_customer(first_name="Ann", last_name="O'Neil", email="ann@example.org")
    return bo


def names(sandbox, query, **variables):
    """Display names of the customers matching `query`."""
    data = sandbox.gql(CUSTOMERS, {"q": query, **variables})
    return [n["displayName"] for n in data["customers"]["nodes"]]


@pytest.mark.parametrize(("query", "expected"), [
    ('email:"bo.wang@example.com"', ["Bo Wang"]),
    ('email:"BO.WANG@example.com"', ["Bo Wang"]),
    # Unquoted, the address is tokenized: any shared token (bo, example) matches.
    ("email:bo.wang@example.com", ["Ann O'Neil", "Bo Wang", "Bo Wang", "Bob Stone"]),
    ("email:bo*", ["Bo Wang", "Bo Wang", "Bob Stone"]),
    ("phone:+14155550123", ["Bo Wang", "Bo Wang"]),
    ('phone:"+1 (415) 555-0123"', ["Bo Wang", "Bo Wang"]),
    ("first_name:bob", ["Bob Stone"]),
    ("last_name:wang", ["Bo Wang", "Bo Wang"]),
    ("stone", ["Bob Stone"]),
    ('"o\'neil"', ["Ann O'Neil"]),
    ('"bo" "wang"', ["Bo Wang", "Bo Wang"]),
    ("first_name:ann OR last_name:stone", ["Ann O'Neil", "Bob Stone"]),
    ("tag:vip", ["Bo Wang"]),
    ("-tag:vip last_name:wang", ["Bo Wang"]),
    ("orders_count:0", ["Ann O'Neil", "Bo Wang", "Bo Wang", "Bob Stone"]),
    ('email:"nobody@example.com"', []),
])
def test_customer_search(sandbox, people, query, expected):
    """Quoted email is exact, unquoted is tokenized; phone, names, text, OR, NOT, tags."""
    assert sorted(names(sandbox, query)) == sorted(expected)


def test_customer_search_reads_escaped_literals(sandbox, people, store):
    """Backslash escapes inside quotes are literal characters (as the card escapes text)."""
    store.add_customer(first_name='Quo"te', email="q@example.com")
    assert names(sandbox, r'"quo\"te"') == ['Quo"te']


def test_unknown_search_fields_are_ignored_with_a_warning(sandbox, people):
    """Like Shopify: the filter is dropped and extensions.search says so."""
    body = sandbox.post(CUSTOMERS, {"q": "shoe_size:12"}).json()
    assert len(body["data"]["customers"]["nodes"]) == 4
    assert body["extensions"]["search"][0]["warnings"][0]["field"] == "shoe_size"


@pytest.mark.parametrize(("identifier", "expected"), [
    ({"emailAddress": "BO.WANG@example.com"}, "Bo Wang"),
    ({"phoneNumber": "+12125550187"}, "Bob Stone"),
    ({"emailAddress": "nobody@example.com"}, None),
])
def test_customer_by_identifier(sandbox, people, identifier, expected):
    """Exact email (any case) or E.164 phone; unknown is null."""
    found = sandbox.gql(BY_IDENTIFIER, {"identifier": identifier})["customerByIdentifier"]
    assert (found["displayName"] if found else None) == expected


def test_customer_by_identifier_id(sandbox, people):
    """The id form returns the same customer as customer(id)."""
    found = sandbox.gql(BY_IDENTIFIER, {"identifier": {"id": gid("Customer", people.id)}})
    assert found["customerByIdentifier"]["displayName"] == "Bo Wang"


def test_pagination_walks_every_customer_once(sandbox, people):
    """first/after with endCursor pages through the list without repeats."""
    seen, after = [], None
    while True:
        data = sandbox.gql(CUSTOMERS, {"q": None, "first": 3, "after": after})["customers"]
        seen += [n["displayName"] for n in data["nodes"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == ["Ann O'Neil", "Bo Wang", "Bo Wang", "Bob Stone"]


@pytest.fixture
def orders(store, people):
    """#1001 paid (Bo), #1002 pending (Bo), #1003 cancelled (guest)."""
    first = store.add_order(customer=people, days_ago=3, lines=[
        {"title": "Mug", "price": "12.00", "sku": "MUG-BLU"}])
    second = store.add_order(customer=people, days_ago=2, payment="pending", tags=["rush"])
    third = store.add_order(email="guest@example.net", days_ago=1)
    third.cancelled_at = third.closed_at = store.now()
    return first, second, third


@pytest.mark.parametrize(("query", "expected"), [
    ("name:1001", ["#1001"]),
    ("name:#1002", ["#1002"]),
    ("#1003", ["#1003"]),
    ("1001", ["#1001"]),
    ("email:guest@example.net", ["#1003"]),
    ("financial_status:pending", ["#1002"]),
    ("financial_status:paid", ["#1003", "#1001"]),
    ("status:cancelled", ["#1003"]),
    ("status:open", ["#1002", "#1001"]),
    ("tag:rush", ["#1002"]),
    ("sku:mug-blu", ["#1001"]),
    ("fulfillment_status:unshipped name:1001", ["#1001"]),
    ("name:1001 OR name:1003", ["#1003", "#1001"]),
])
def test_order_search(sandbox, orders, query, expected):
    """Order names with or without #, email, statuses, tags, SKU; newest first."""
    data = sandbox.gql(ORDERS, {"q": query})
    assert [n["name"] for n in data["orders"]["nodes"]] == expected


def test_order_search_by_customer_id(sandbox, orders, people):
    """customer_id:N matches the customer's orders (numeric id or GID)."""
    for value in (str(people.id), gid("Customer", people.id)):
        data = sandbox.gql(ORDERS, {"q": f'customer_id:"{value}"'})
        assert [n["name"] for n in data["orders"]["nodes"]] == ["#1002", "#1001"]


def test_orders_are_scoped_to_the_shop(sandbox, store, orders):
    """Another shop's orders never show up."""
    store.add_shop("other-shop.myshopify.com")
    store.add_order("other-shop.myshopify.com")
    data = sandbox.gql(ORDERS, {"q": "name:1001"})
    assert len(data["orders"]["nodes"]) == 1
