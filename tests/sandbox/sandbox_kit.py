"""Shared sandbox test helpers: the Sandbox wrapper (store, app, client, token), gid(), and
the RefundCreate document with its input builder."""

from __future__ import annotations

from typing import Any

import httpx

from plugin.sandbox import DEMO_SHOP, SandboxStore, create_sandbox_app

API_KEY = "sandbox-test-key"
# Shopify client secrets are `shpss_` + 32 hex; PyJWT warns on HS256 keys under 32 bytes.
API_SECRET = "shpss_" + "0f1e2d3c4b5a6978" * 2
SHOP = DEMO_SHOP
GRAPHQL = f"/{SHOP}/admin/api/2026-10/graphql.json"

REFUND = """
mutation RefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount } }
      refundLineItems(first: 10) { nodes { quantity restockType restocked } } }
    order { id displayFinancialStatus displayFulfillmentStatus
      totalRefundedSet { shopMoney { amount } }
      lineItems(first: 10) { nodes { id quantity currentQuantity refundableQuantity } } }
    userErrors { field message }
  }
}"""


class Sandbox:
    """A store, an HTTP client into its app, and an access token for `SHOP`."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self.app = create_sandbox_app(api_key=API_KEY, api_secret=API_SECRET, store=store)
        self.http = httpx.Client(transport=httpx.WSGITransport(app=self.app),
                                 base_url="http://sandbox.test")
        self.token = store.issue_tokens(SHOP)["access_token"]

    def post(self, query: str, variables: dict[str, Any] | None = None, *,
             token: str | None = None, path: str = GRAPHQL) -> httpx.Response:
        """POST a GraphQL document; returns the raw response."""
        token = self.token if token is None else token
        return self.http.post(path, json={"query": query, "variables": variables or {}},
                              headers={"X-Shopify-Access-Token": token})

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a document that must succeed; returns `data`."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[dict]:
        """POST a document that must fail; returns the top-level errors."""
        body = self.post(query, variables).json()
        assert body.get("errors"), body
        return body["errors"]


def gid(kind: str, number: int) -> str:
    """`gid://shopify/Kind/N`."""
    return f"gid://shopify/{kind}/{number}"


def refund_input(order, *, lines=(), amount=None, shipping=None, parent=None, **extra):
    """A RefundInput: (line, quantity, restockType) tuples and an optional transaction."""
    data = {"orderId": gid("Order", order.id),
            "refundLineItems": [{"lineItemId": gid("LineItem", li.id), "quantity": qty,
                                 "restockType": restock} for li, qty, restock in lines], **extra}
    if shipping is not None:
        data["shipping"] = shipping
    if amount is not None:
        sale = parent or order.transactions[0]
        data["transactions"] = [{"orderId": gid("Order", order.id), "kind": "REFUND",
                                 "gateway": sale.gateway, "amount": amount,
                                 "parentId": gid("OrderTransaction", sale.id)}]
    return data
