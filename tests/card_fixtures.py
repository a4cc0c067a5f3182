"""Card fixtures: the sandbox store wired in-process, an installed shop, customers, orders.

Used by tests/cards (through its conftest) and tests/api/test_customers.py and
test_orders.py (which import the fixtures they need).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from factories import launch_token, make_connection, make_shop, open_session

from plugin.card_data import reset_stats
from plugin.sandbox.app import create_sandbox_app
from plugin.sandbox.store import SandboxStore
from plugin.shopify.client import reset_rate_state
from plugin.shopify.transport import EXTENSION_KEY

SHOP = "acme.myshopify.com"
OTHER_SHOP = "other.myshopify.com"


@pytest.fixture
def store(app):
    """A sandbox store hosting two shops, reached through `httpx.WSGITransport`.

    No Shopify retries: a failure shows at once, and no test sleeps for a backoff.
    """
    app.config.update(SHOPIFY_MAX_RETRIES=0, SHOPIFY_MAX_THROTTLE_WAIT=0.0)
    sandbox = SandboxStore.empty((SHOP, OTHER_SHOP))
    app.extensions["sandbox_wsgi"] = create_sandbox_app(
        api_key=app.config["SHOPIFY_API_KEY"], api_secret=app.config["SHOPIFY_API_SECRET"],
        store=sandbox)
    app.extensions.pop(EXTENSION_KEY, None)  # the pooled client is built with the transport
    reset_rate_state()
    reset_stats()
    yield sandbox
    reset_rate_state()


def install(store: SandboxStore, domain: str = SHOP):
    """An installed Shop row holding an access token the sandbox issued."""
    tokens = store.issue_tokens(domain)
    return make_shop(domain, access_token=tokens["access_token"])


@pytest.fixture
def shop(store):
    """The installed `acme` shop."""
    return install(store)


def calls(store: SandboxStore, domain: str = SHOP) -> int:
    """GraphQL requests the sandbox answered for a shop."""
    return store.stats(domain)["graphql_calls"]


@dataclass
class World:
    """The seeded people and orders the card tests talk about."""

    bo: Any
    bo_phone_account: Any
    ann_lee: Any
    ann_smith: Any
    shipped: Any
    newest: Any
    cancelled: Any
    refunded: Any
    phone_account_order: Any


@pytest.fixture
def world(store, shop):
    """Bo Wang (email + phone, a second phone-only account), two Anns, orders in each state."""
    return build_world(store)


def build_world(store: SandboxStore) -> World:
    """Add the card tests' people and orders to the `acme` shop of a sandbox store."""
    bo = store.add_customer(SHOP, first_name="Bo", last_name="Wang",
                            email="bo.wang@example.com", phone="+14155550100",
                            tags=["vip", "wholesale"], note="Prefers email",
                            address={"address1": "1 Market St", "city": "San Francisco",
                                     "province_code": "CA", "country_code": "US",
                                     "zip": "94105"})
    # The same person's older account, found only by the phone number on the ticket.
    bo_phone = store.add_customer(SHOP, first_name="Bo", last_name="Wang",
                                  email="bowang.old@example.net", phone="+14155550199")
    ann_lee = store.add_customer(SHOP, first_name="Ann", last_name="Lee",
                                 email="ann.lee@example.com", phone="+442079460958")
    ann_smith = store.add_customer(SHOP, first_name="Ann", last_name="Smith",
                                   email="ann.smith@example.com")
    refunded = store.add_order(SHOP, customer=bo, days_ago=40,
                               lines=[{"title": "Scarf", "price": "30.00", "sku": "SCF-1"}])
    cancelled = store.add_order(SHOP, customer=bo, days_ago=20, payment="voided",
                                lines=[{"title": "Hat", "price": "15.00", "sku": "HAT-1"}])
    shipped = store.add_order(SHOP, customer=bo, days_ago=8, shipping="5.00",
                              note="Leave at the door", tags=["gift"],
                              lines=[{"title": "Mug", "price": "12.50", "quantity": 2,
                                      "sku": "MUG-1", "variant_title": "Blue"},
                                     {"title": "Tee", "price": "20.00", "sku": "TEE-M"}])
    newest = store.add_order(SHOP, customer=bo, days_ago=1,
                             lines=[{"title": "Poster", "price": "8.00", "sku": "PST-1"}])
    phone_account_order = store.add_order(SHOP, customer=bo_phone, days_ago=3,
                                          lines=[{"title": "Socks", "price": "6.00"}])
    store.fulfill(shipped, {shipped.lines[0].id: 2}, company="UPS", number="1Z999AA10123456784")
    _cancel(store, cancelled)
    _refund_all(store, refunded)
    store.reset()  # the setup's own GraphQL calls don't count
    return World(bo=bo, bo_phone_account=bo_phone, ann_lee=ann_lee, ann_smith=ann_smith,
                 shipped=shipped, newest=newest, cancelled=cancelled, refunded=refunded,
                 phone_account_order=phone_account_order)


def _cancel(store: SandboxStore, order) -> None:
    """Cancel an order in the store (as Shopify's orderCancel would leave it)."""
    order.cancelled_at = store.now()
    order.cancel_reason = "CUSTOMER"
    order.closed_at = store.now()


def _refund_all(store: SandboxStore, order) -> None:
    """Refund an order in full through the sandbox's own GraphQL."""
    from plugin.sandbox.executor import run_graphql

    body = run_graphql(store, SHOP, {
        "query": """mutation R($input: RefundInput!, $key: String!) {
          refundCreate(input: $input) @idempotent(key: $key) {
            userErrors { field message } refund { id } } }""",
        "variables": {"key": f"seed-refund-{order.id}", "input": {
            "orderId": f"gid://shopify/Order/{order.id}", "notify": False,
            "refundLineItems": [{"lineItemId": f"gid://shopify/LineItem/{li.id}",
                                 "quantity": li.quantity, "restockType": "NO_RESTOCK"}
                                for li in order.lines],
            "transactions": [{"orderId": f"gid://shopify/Order/{order.id}",
                              "gateway": "shopify_payments", "kind": "REFUND",
                              "amount": str(order.total_price)}]}}})
    assert not body.get("errors") and not body["data"]["refundCreate"]["userErrors"], body


@pytest.fixture
def connection(shop):
    """A Zendesk connection of the `acme` shop."""
    return make_connection(shop, kind="zendesk", account="acme")


@pytest.fixture
def session_token(client, connection):
    """A session token of an agent of the `acme` shop."""
    return open_session(client, connection)["token"]


@pytest.fixture
def launch(connection):
    """Make a launch token for the connection (customer claim as given)."""

    def make(customer: dict[str, str] | None = None, **claims: Any) -> str:
        if customer is not None:
            claims["customer"] = customer
        return launch_token(connection, **claims)

    return make


def refund_in_admin(store: SandboxStore, order: Any, line: Any, *, quantity: int, amount: str,
                    key: str) -> None:
    """Refund `quantity` of `line` (no restock) for `amount` straight in the sandbox store,
    as a merchant would in Shopify's admin."""
    from plugin.sandbox.executor import run_graphql

    body = run_graphql(store, SHOP, {
        "query": """mutation R($input: RefundInput!, $key: String!) {
          refundCreate(input: $input) @idempotent(key: $key) { userErrors { message } } }""",
        "variables": {"key": key, "input": {
            "orderId": f"gid://shopify/Order/{order.id}",
            "refundLineItems": [{"lineItemId": f"gid://shopify/LineItem/{line.id}",
                                 "quantity": quantity, "restockType": "NO_RESTOCK"}],
            "transactions": [{"orderId": f"gid://shopify/Order/{order.id}",
                              "gateway": "shopify_payments", "kind": "REFUND",
                              "amount": amount}]}}})
    assert not body["data"]["refundCreate"]["userErrors"]
