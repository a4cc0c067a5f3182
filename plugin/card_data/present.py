"""Turn Shopify's GraphQL answers into the card's view-models: plain, JSON-ready dicts that
the API serializes as they are and the templates render (money as decimal strings)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.exceptions import ValidationError

GID_PREFIX = "gid://shopify/"
_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d{1,20})$")
_NUMERIC = re.compile(r"^\d{1,20}$")
# ISO 4217 currencies without minor units (Shopify formats them without decimals).
ZERO_DECIMAL_CURRENCIES = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
                                     "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})

# Badge words and Polaris tones. Words carry the meaning; the tone only helps the eye.
ORDER_STATUS = {
    "open": ("Open", "info"),
    "archived": ("Archived", "neutral"),
    "cancelled": ("Cancelled", "critical"),
}
PAYMENT_STATUS = {
    "PAID": ("Paid", "success"),
    "PENDING": ("Payment pending", "attention"),
    "AUTHORIZED": ("Authorized", "attention"),
    "PARTIALLY_PAID": ("Partially paid", "warning"),
    "PARTIALLY_REFUNDED": ("Partially refunded", "info"),
    "REFUNDED": ("Refunded", "neutral"),
    "VOIDED": ("Voided", "neutral"),
    "EXPIRED": ("Payment expired", "critical"),
}
FULFILLMENT_STATUS = {
    "UNFULFILLED": ("Unfulfilled", "attention"),
    "PARTIALLY_FULFILLED": ("Partially fulfilled", "warning"),
    "FULFILLED": ("Fulfilled", "success"),
    "ON_HOLD": ("On hold", "warning"),
    "SCHEDULED": ("Scheduled", "info"),
    "IN_PROGRESS": ("In progress", "info"),
    "OPEN": ("Open", "attention"),
    "PENDING_FULFILLMENT": ("Pending fulfillment", "attention"),
    "RESTOCKED": ("Restocked", "neutral"),
    "REQUEST_DECLINED": ("Request declined", "critical"),
    "FULFILLMENT_NOT_REQUIRED": ("No fulfillment needed", "neutral"),
}
RETURN_STATUS = {
    "RETURN_REQUESTED": ("Return requested", "attention"),
    "IN_PROGRESS": ("Return in progress", "info"),
    "INSPECTION_COMPLETE": ("Return inspected", "info"),
    "RETURNED": ("Returned", "neutral"),
    "RETURN_FAILED": ("Return failed", "critical"),
}
SHIPMENT_STATUS = {
    "DELIVERED": ("Delivered", "success"),
    "PICKED_UP": ("Picked up", "success"),
    "IN_TRANSIT": ("In transit", "info"),
    "OUT_FOR_DELIVERY": ("Out for delivery", "info"),
    "CARRIER_PICKED_UP": ("Picked up by carrier", "info"),
    "READY_FOR_PICKUP": ("Ready for pickup", "info"),
    "CONFIRMED": ("Confirmed", "info"),
    "LABEL_PRINTED": ("Label printed", "info"),
    "LABEL_PURCHASED": ("Label purchased", "info"),
    "SUBMITTED": ("Submitted", "info"),
    "FULFILLED": ("Fulfilled", "success"),
    "MARKED_AS_FULFILLED": ("Fulfilled", "success"),
    "ATTEMPTED_DELIVERY": ("Delivery attempted", "warning"),
    "DELAYED": ("Delayed", "warning"),
    "NOT_DELIVERED": ("Not delivered", "critical"),
    "FAILURE": ("Failed", "critical"),
    "CANCELED": ("Cancelled", "neutral"),
    "LABEL_VOIDED": ("Label voided", "neutral"),
}
BADGE_KIND_LABELS = {"order": "Order", "payment": "Payment", "fulfillment": "Fulfillment",
                     "return": "Return", "shipment": "Shipment"}


# ---------------------------------------------------------------------------------------
# Ids


def numeric_id(gid: str | None) -> str | None:
    """`gid://shopify/Order/123` → `"123"` (None stays None)."""
    if not gid:
        return None
    match = _GID.match(gid)
    return match.group(2) if match else None


def to_gid(kind: str, value: str | int | None) -> str:
    """Accept a numeric id or a GID of this kind and return the GID.

    :raises ValidationError: anything else (so nothing odd reaches Shopify).
    """
    text = str(value or "").strip()
    if _NUMERIC.match(text) and int(text) > 0:
        return f"{GID_PREFIX}{kind}/{text}"
    match = _GID.match(text)
    if match and match.group(1) == kind and int(match.group(2)) > 0:
        return text
    raise ValidationError(f"Not a Shopify {kind.lower()} id: use the number or "
                          f"gid://shopify/{kind}/N.")


def store_handle(shop_domain: str) -> str:
    """`acme.myshopify.com` → `acme`, the store's name in admin.shopify.com URLs."""
    return shop_domain.split(".", 1)[0]


def admin_url(shop_domain: str, resource: str, numeric: str | None) -> str | None:
    """Link to a resource in the Shopify admin (`.../store/acme/orders/123`)."""
    if not numeric:
        return None
    return f"https://admin.shopify.com/store/{store_handle(shop_domain)}/{resource}/{numeric}"


# ---------------------------------------------------------------------------------------
# Money, badges, small helpers


def money(value: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A MoneyV2 or MoneyBag (shop currency) as `{"amount": "12.50", "currency": "USD"}`."""
    if not value:
        return None
    if "shopMoney" in value:
        value = value.get("shopMoney") or {}
    amount, currency = value.get("amount"), value.get("currencyCode")
    if amount is None or not currency:
        return None
    try:
        number = Decimal(str(amount))
    except InvalidOperation:
        return None
    places = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return {"amount": str(number.quantize(places)), "currency": currency}


def is_positive(amount: Mapping[str, str] | None) -> bool:
    """True when a money dict holds more than zero."""
    return bool(amount) and Decimal(amount["amount"]) > 0


# Polaris "progress" marks (empty, half, full circle) for payment and fulfillment badges.
PROGRESS = {
    "PAID": "complete", "FULFILLED": "complete", "REFUNDED": "complete",
    "PARTIALLY_PAID": "partial", "PARTIALLY_FULFILLED": "partial",
    "PARTIALLY_REFUNDED": "partial",
    "PENDING": "incomplete", "AUTHORIZED": "incomplete", "UNFULFILLED": "incomplete",
    "ON_HOLD": "incomplete", "OPEN": "incomplete", "PENDING_FULFILLMENT": "incomplete",
    "SCHEDULED": "incomplete",
}


def badge(kind: str, value: str, table: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """One status badge: the machine value, the words to show, a Polaris tone and, for
    payment and fulfillment, a progress mark."""
    label, tone = table.get(value, (value.replace("_", " ").capitalize(), "neutral"))
    progress = PROGRESS.get(value) if kind in ("payment", "fulfillment") else None
    return {"kind": kind, "kind_label": BADGE_KIND_LABELS[kind], "value": value.lower(),
            "label": label, "tone": tone, "progress": progress}


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach an href (a carrier URL is data from outside)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def nodes_of(connection: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Nodes of a connection (`nodes` or `edges[].node`), or a plain list as it is."""
    if connection is None:
        return []
    if isinstance(connection, list):
        return [c for c in connection if c]
    if connection.get("nodes") is not None:
        return [n for n in connection["nodes"] if n]
    return [e["node"] for e in connection.get("edges") or [] if e and e.get("node")]


def _address(address: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A mailing address with the fields the card edits and lines ready to print."""
    if not address:
        return None
    fields = {
        "name": address.get("name") or " ".join(
            p for p in (address.get("firstName"), address.get("lastName")) if p) or None,
        "first_name": address.get("firstName"),
        "last_name": address.get("lastName"),
        "company": address.get("company"),
        "address1": address.get("address1"),
        "address2": address.get("address2"),
        "city": address.get("city"),
        "province": address.get("province"),
        "province_code": address.get("provinceCode"),
        "zip": address.get("zip"),
        "country": address.get("country"),
        "country_code": address.get("countryCodeV2"),
        "phone": address.get("phone"),
    }
    area = " ".join(p for p in (fields["city"], fields["province_code"] or fields["province"],
                                fields["zip"]) if p)
    lines = [fields["name"], fields["company"], fields["address1"], fields["address2"], area,
             fields["country"]]
    fields["lines"] = [line for line in lines if line]
    return fields


def _tracking(infos: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Tracking numbers with a safe link each."""
    return [{"company": t.get("company"), "number": t.get("number"),
             "url": safe_url(t.get("url"))}
            for t in infos or [] if t and (t.get("number") or t.get("url"))]


# ---------------------------------------------------------------------------------------
# Customers


def customer_vm(node: Mapping[str, Any], shop_domain: str,
                matched_by: Iterable[str] = ()) -> dict[str, Any]:
    """The customer header: who they are, how many orders, how much spent, tags."""
    cid = numeric_id(node.get("id"))
    email = (node.get("defaultEmailAddress") or {}).get("emailAddress")
    phone = (node.get("defaultPhoneNumber") or {}).get("phoneNumber")
    name = (node.get("displayName") or " ".join(
        p for p in (node.get("firstName"), node.get("lastName")) if p) or email or phone
        or "Unnamed customer")
    orders_count = node.get("numberOfOrders")
    return {
        "id": cid,
        "gid": node.get("id"),
        "name": name,
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "email": email,
        "phone": phone,
        "orders_count": int(orders_count) if orders_count is not None else None,
        "amount_spent": money(node.get("amountSpent")),
        "tags": list(node.get("tags") or []),
        "note": node.get("note") or None,
        "created_at": node.get("createdAt"),
        "matched_by": list(dict.fromkeys(matched_by)),
        "admin_url": admin_url(shop_domain, "customers", cid),
    }


# ---------------------------------------------------------------------------------------
# Orders


def order_status(node: Mapping[str, Any]) -> str:
    """open, archived or cancelled (Shopify's `closed` is the admin's "Archived")."""
    if node.get("cancelledAt"):
        return "cancelled"
    if node.get("closed"):
        return "archived"
    return "open"


def order_badges(node: Mapping[str, Any]) -> list[dict[str, str]]:
    """Order, payment, fulfillment (and return, when there is one) badges, in that order."""
    badges = [badge("order", order_status(node), ORDER_STATUS)]
    if node.get("displayFinancialStatus"):
        badges.append(badge("payment", node["displayFinancialStatus"], PAYMENT_STATUS))
    if node.get("displayFulfillmentStatus"):
        badges.append(badge("fulfillment", node["displayFulfillmentStatus"],
                            FULFILLMENT_STATUS))
    if node.get("returnStatus") and node["returnStatus"] != "NO_RETURN":
        badges.append(badge("return", node["returnStatus"], RETURN_STATUS))
    return badges


def order_row_vm(node: Mapping[str, Any], shop_domain: str,
                 customer_id: str | None = None) -> dict[str, Any]:
    """One collapsed order in the list: number, date, total, statuses."""
    oid = numeric_id(node.get("id"))
    payment = node.get("displayFinancialStatus")
    fulfillment = node.get("displayFulfillmentStatus")
    customer = node.get("customer") or {}
    # Units ordered (not what is left after refunds): what the customer remembers buying.
    items = node.get("subtotalLineItemsQuantity")
    return {
        "id": oid,
        "gid": node.get("id"),
        "name": node.get("name"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "status": {
            "order": order_status(node),
            "payment": payment.lower() if payment else None,
            "fulfillment": fulfillment.lower() if fulfillment else None,
            "return": (node.get("returnStatus") or "NO_RETURN").lower(),
        },
        "badges": order_badges(node),
        "total": money(node.get("totalPriceSet")),
        "current_total": money(node.get("currentTotalPriceSet")),
        "total_refunded": money(node.get("totalRefundedSet")),
        "items_count": int(items) if items is not None else None,
        "customer_id": numeric_id(customer.get("id")) or customer_id,
        "admin_url": admin_url(shop_domain, "orders", oid),
    }


def order_detail_vm(node: Mapping[str, Any], shop_domain: str) -> dict[str, Any]:
    """The whole order: statuses, line items with their tracking, shipments, address,
    notes, tags, refunds and totals."""
    vm = order_row_vm(node, shop_domain)
    fulfillments = [_fulfillment_vm(f) for f in nodes_of(node.get("fulfillments"))]
    shipped: dict[str, int] = {}
    tracking_by_item: dict[str, list[dict[str, Any]]] = {}
    for fulfillment in fulfillments:
        if fulfillment["status"] in ("cancelled", "error", "failure"):
            continue
        for item in fulfillment["line_items"]:
            lid = item["line_item_id"]
            shipped[lid] = shipped.get(lid, 0) + item["quantity"]
            tracking_by_item.setdefault(lid, []).extend(
                dict(t, shipment=fulfillment["display"]) for t in fulfillment["tracking"])
    line_connection = node.get("lineItems") or {}
    holds = [
        (h.get("displayReason") or (h.get("reason") or "").replace("_", " ").capitalize())
        for fo in nodes_of(node.get("fulfillmentOrders")) if fo.get("status") == "ON_HOLD"
        for h in fo.get("fulfillmentHolds") or [] if h
    ]
    customer = node.get("customer") or None
    vm.update({
        "cancel_reason": (node.get("cancelReason") or "").lower() or None,
        "closed": bool(node.get("closed")),
        "closed_at": node.get("closedAt"),
        "currency": node.get("currencyCode"),
        "total_outstanding": money(node.get("totalOutstandingSet")),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "note": node.get("note") or None,
        "tags": list(node.get("tags") or []),
        "test": bool(node.get("test")),
        "status_page_url": safe_url(node.get("statusPageUrl")),
        "refundable": node.get("refundable"),
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "line_items": [_line_item_vm(li, shipped, tracking_by_item)
                       for li in nodes_of(line_connection)],
        "more_line_items": bool((line_connection.get("pageInfo") or {}).get("hasNextPage")
                                if isinstance(line_connection, Mapping) else False),
        "fulfillments": fulfillments,
        "holds": [h for h in holds if h],
        "refunds": [
            {"id": numeric_id(r.get("id")), "created_at": r.get("createdAt"),
             "note": r.get("note") or None, "amount": money(r.get("totalRefundedSet"))}
            for r in nodes_of(node.get("refunds"))
        ],
        "customer": ({"id": numeric_id(customer.get("id")), "gid": customer.get("id"),
                      "name": customer.get("displayName")} if customer else None),
    })
    if vm["items_count"] is None:
        vm["items_count"] = sum(li["quantity"] for li in vm["line_items"])
    vm["customer_id"] = vm["customer"]["id"] if vm["customer"] else vm["customer_id"]
    return vm


def _fulfillment_vm(node: Mapping[str, Any]) -> dict[str, Any]:
    """One shipment: status, dates, tracking links and which items it carried."""
    display = node.get("displayStatus") or ("CANCELED" if node.get("status") == "CANCELLED"
                                            else "FULFILLED")
    return {
        "id": numeric_id(node.get("id")),
        "gid": node.get("id"),
        "name": node.get("name"),
        "status": (node.get("status") or "SUCCESS").lower(),
        "display_status": display.lower(),
        "display": badge("shipment", display, SHIPMENT_STATUS),
        "created_at": node.get("createdAt"),
        "delivered_at": node.get("deliveredAt"),
        "estimated_delivery_at": node.get("estimatedDeliveryAt"),
        "tracking": _tracking(node.get("trackingInfo")),
        "line_items": [
            {"line_item_id": numeric_id((fli.get("lineItem") or {}).get("id")),
             "quantity": int(fli.get("quantity") or 0)}
            for fli in nodes_of(node.get("fulfillmentLineItems"))
        ],
    }


def _line_item_vm(node: Mapping[str, Any], shipped: Mapping[str, int],
                  tracking_by_item: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One line item: what, how many, price, SKU, and where its units are."""
    lid = numeric_id(node.get("id"))
    quantity = int(node.get("quantity") or 0)
    current = node.get("currentQuantity")
    current = quantity if current is None else int(current)
    fulfilled = min(shipped.get(lid, 0), quantity)
    unfulfilled = node.get("unfulfilledQuantity")
    if current == 0:
        state = badge("fulfillment", "REMOVED", {"REMOVED": ("Removed", "neutral")})
    elif unfulfilled == 0 or fulfilled >= current:
        state = badge("fulfillment", "FULFILLED", FULFILLMENT_STATUS)
    elif fulfilled > 0:
        state = badge("fulfillment", "PARTIALLY_FULFILLED", FULFILLMENT_STATUS)
    elif node.get("requiresShipping") is False:
        state = badge("fulfillment", "FULFILLMENT_NOT_REQUIRED", FULFILLMENT_STATUS)
    else:
        state = badge("fulfillment", "UNFULFILLED", FULFILLMENT_STATUS)
    variant = node.get("variant") or {}
    variant_title = variant.get("title") or node.get("variantTitle")
    if variant_title == "Default Title":
        variant_title = None
    unit = money(node.get("discountedUnitPriceSet")) or money(node.get("originalUnitPriceSet"))
    return {
        "id": lid,
        "gid": node.get("id"),
        "title": node.get("title") or node.get("name"),
        "variant_title": variant_title,
        "sku": node.get("sku") or None,
        "quantity": quantity,
        "current_quantity": current,
        "refundable_quantity": node.get("refundableQuantity"),
        "unfulfilled_quantity": unfulfilled,
        "fulfilled_quantity": fulfilled,
        "removed_quantity": max(quantity - current, 0),
        "unit_price": unit,
        "original_unit_price": money(node.get("originalUnitPriceSet")),
        "requires_shipping": node.get("requiresShipping"),
        "restockable": node.get("restockable"),
        "image_url": safe_url((node.get("image") or {}).get("url")),
        "fulfillment": state,
        "tracking": tracking_by_item.get(lid, []),
    }
