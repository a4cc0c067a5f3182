"""Which card actions an order allows, from the order's state alone.

A placeholder for the actions issue, which replaces `order_action_availability` with the
actions registry (`action.availability(order)`) plus the agent's permission set. Until then
the card and `GET /api/v1/orders/{id}` show what each action will be able to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

ACTION_LABELS = {
    "refund": "Refund",
    "cancel": "Cancel order",
    "update_shipping_address": "Change shipping address",
    "edit_tags": "Edit tags",
    "edit_note": "Edit note",
}
UNPAID = {"pending", "authorized", "expired", "voided"}


def _amount(money: Mapping[str, str] | None) -> Decimal:
    return Decimal(money["amount"]) if money else Decimal(0)


def _refund(order: Mapping[str, Any]) -> str | None:
    status = order["status"]
    if status["payment"] == "refunded":
        return "Everything paid has already been refunded."
    if status["payment"] in UNPAID:
        return "Nothing has been paid yet, so there is nothing to refund."
    if order.get("refundable") is False:
        return "Shopify says nothing on this order can be refunded."
    paid = _amount(order.get("total")) - _amount(order.get("total_outstanding"))
    if order.get("total") is not None and paid - _amount(order.get("total_refunded")) <= 0:
        return "Nothing left to refund."
    return None


def _cancel(order: Mapping[str, Any]) -> str | None:
    status = order["status"]
    if status["order"] == "cancelled":
        return "The order is already cancelled."
    if status["fulfillment"] in ("fulfilled", "partially_fulfilled") or any(
            f["status"] == "success" for f in order.get("fulfillments") or []):
        return "Items have shipped, so refund them instead."
    return None


def _address(order: Mapping[str, Any]) -> str | None:
    status = order["status"]
    if status["order"] == "cancelled":
        return "The order is cancelled."
    if status["fulfillment"] == "fulfilled":
        return "Everything has shipped already."
    items = order.get("line_items") or []
    if items and not any(li.get("requires_shipping") for li in items):
        return "Nothing on this order is shipped."
    return None


def order_action_availability(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`[{name, label, available, reason}]` for refund, cancel, address, tags and note."""
    reasons = {
        "refund": _refund(order),
        "cancel": _cancel(order),
        "update_shipping_address": _address(order),
        "edit_tags": None,
        "edit_note": None,
    }
    return [{"name": name, "label": ACTION_LABELS[name], "available": reason is None,
             "reason": reason} for name, reason in reasons.items()]


def with_actions(order: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of an order view-model with its `actions` list."""
    if order is None:
        return None
    return {**order, "actions": order_action_availability(order)}
