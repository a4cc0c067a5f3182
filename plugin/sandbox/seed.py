"""Load seed.json into a store through the same builders and rules the tests use.

Dates in the file are relative (`days_ago`), so "older than 60 days" stays true whenever the
demo starts. Refunds and cancellations go through `operations`, so seeded orders obey the same
arithmetic as orders changed through GraphQL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from plugin.sandbox import operations
from plugin.sandbox.models import Order, gid
from plugin.sandbox.store import SandboxStore

SEED_PATH = Path(__file__).with_name("seed.json")


def load_seed(store: SandboxStore, path: Path | None = None) -> None:
    """Add every shop, customer and order of the seed file to `store`."""
    data = json.loads((path or SEED_PATH).read_text())
    for shop_spec in data["shops"]:
        shop = store.add_shop(shop_spec["domain"], name=shop_spec["name"],
                              currency=shop_spec["currency"], timezone=shop_spec["timezone"],
                              plan=shop_spec.get("plan", "Basic"),
                              country_code=shop_spec.get("country_code", "US"),
                              email=shop_spec.get("email"))
        customers = {}
        for spec in shop_spec.get("customers", []):
            fields = {k: v for k, v in spec.items() if k != "key"}
            customers[spec["key"]] = store.add_customer(shop.domain, **fields)
        products = shop_spec.get("products", {})
        for spec in shop_spec.get("orders", []):
            _add_order(store, shop.domain, spec, customers, products)


def _add_order(store: SandboxStore, shop: str, spec: dict[str, Any],
               customers: dict[str, Any], products: dict[str, Any]) -> Order:
    lines = []
    for line in spec["lines"]:
        product = products[line["sku"]]
        lines.append({"sku": line["sku"], "quantity": line.get("quantity", 1), **product,
                      **{k: v for k, v in line.items() if k not in {"sku", "quantity"}}})
    options = {k: spec[k] for k in ("shipping", "tax_rate", "discount_percent", "discount_code",
                                    "payment", "gateway", "days_ago", "email", "phone", "note",
                                    "tags", "presentment_currency", "rate", "hold", "hold_notes",
                                    "paid_amount", "source_name", "shipping_address")
               if k in spec}
    customer = customers.get(spec["customer"]) if spec.get("customer") else None
    order = store.add_order(shop, customer=customer, lines=lines, **options)
    by_sku = {li.sku: li for li in order.lines}
    for fulfillment in spec.get("fulfillments", []):
        quantities = ({by_sku[sku].id: qty for sku, qty in fulfillment["lines"].items()}
                      if "lines" in fulfillment else None)
        store.fulfill(order, quantities, company=fulfillment.get("company"),
                      number=fulfillment.get("number"),
                      display_status=fulfillment.get("status", "IN_TRANSIT"),
                      days_ago=fulfillment.get("days_ago"),
                      delivered_days_ago=fulfillment.get("delivered_days_ago"))
    for ret in spec.get("returns", []):
        store.add_return(order, ret.get("status", "OPEN"),
                         {by_sku[sku].id: qty for sku, qty in ret.get("lines", {}).items()}
                         or None)
    for refund in spec.get("refunds", []):
        _refund(store, order, refund, by_sku)
    if "cancel" in spec:
        cancel = spec["cancel"]
        before_txns = {t.id for t in order.transactions}
        before_refunds = {r.id for r in order.refunds}
        operations.apply_cancel(store, order, reason=cancel.get("reason", "CUSTOMER"),
                                restock=cancel.get("restock", True),
                                refund_method={"originalPaymentMethodsRefund":
                                               cancel.get("refund", True)},
                                staff_note=cancel.get("staff_note"))
        when = _backdate(order, cancel.get("days_ago"), store)
        order.cancelled_at = order.closed_at = when
        for txn in order.transactions:
            if txn.id not in before_txns:
                txn.created_at = when
        for refund in order.refunds:
            if refund.id not in before_refunds:
                refund.created_at = when
    if spec.get("closed"):
        order.closed_at = max(order.updated_at, order.created_at)
    return order


def _refund(store: SandboxStore, order: Order, spec: dict[str, Any],
            by_sku: dict[str, Any]) -> None:
    """Refund through the same validation refundCreate uses (raises if the seed is wrong)."""
    items = [{"lineItemId": gid("LineItem", by_sku[line["sku"]].id),
              "quantity": line.get("quantity", 1),
              "restockType": line.get("restock", "NO_RESTOCK")}
             for line in spec.get("lines", [])]
    shipping = {"fullRefund": True} if spec.get("shipping") else None
    preview = operations.suggest_refund(order, refundLineItems=items,
                                        refundShipping=bool(spec.get("shipping")))
    transactions = [{"amount": str(amount), "gateway": parent.gateway, "kind": "REFUND",
                     "orderId": gid("Order", order.id),
                     "parentId": gid("OrderTransaction", parent.id)}
                    for parent, amount in preview.transactions]
    refund, _, errors = operations.create_refund(store, order.shop, {
        "orderId": gid("Order", order.id), "refundLineItems": items, "shipping": shipping,
        "transactions": transactions, "note": spec.get("note"),
        "currency": order.presentment_currency})
    if errors or refund is None:
        raise ValueError(f"seed refund on {order.name} is invalid: {errors}")
    when = _backdate(order, spec.get("days_ago"), store)
    refund.created_at = when
    for txn in order.transactions:
        if txn.id in refund.transaction_ids:
            txn.created_at = when


def _backdate(order: Order, days_ago: float | None, store: SandboxStore):
    """Set the order's last update `days_ago` (when given) and return that moment."""
    if days_ago is not None:
        order.updated_at = store.now() - timedelta(days=days_ago)
    return order.updated_at
