"""Business rules of the mutations: refunds (and their preview), cancel jobs, updates, tags.

Functions take the store, an order (or ids) and the mutation's coerced GraphQL input, and return
records plus Shopify-shaped user errors (`{"field": [...], "message": ...}`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.sandbox.models import (
    PAYMENT_KINDS,
    ZERO,
    Customer,
    Job,
    LineItem,
    Order,
    Refund,
    RefundLine,
    Transaction,
    dec,
    gid,
    parse_gid,
    q2,
)
from plugin.sandbox.store import SandboxStore

RESTOCK_TYPES = {"RETURN", "CANCEL", "NO_RESTOCK"}
STORE_CREDIT_GATEWAY = "shopify_store_credit"


def user_error(fields: list[str] | None, message: str, code: str | None = None) -> dict[str, Any]:
    """A `UserError` (or, with `code`, an `OrderCancelUserError`)."""
    error: dict[str, Any] = {"field": fields, "message": message}
    if code is not None:
        error["code"] = code
    return error


def _money(value: Any) -> Decimal | None:
    try:
        return dec(value) if value is not None else None
    except (InvalidOperation, ValueError):
        return None


def order_from_gid(store: SandboxStore, shop: str, value: Any) -> Order | None:
    """The shop's order for `gid://shopify/Order/N`."""
    parsed = parse_gid(value)
    if not parsed or parsed[0] != "Order":
        return None
    return store.order(shop, parsed[1])


# -- refund preview -------------------------------------------------------------------------
@dataclass
class SuggestedLine:
    """One line of a refund preview."""

    line: LineItem
    quantity: int
    restock_type: str
    subtotal: Decimal
    tax: Decimal


@dataclass
class Suggestion:
    """`Order.suggestedRefund`, in Decimals."""

    order: Order
    lines: list[SuggestedLine] = field(default_factory=list)
    shipping: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    amount: Decimal = ZERO
    transactions: list[tuple[Transaction, Decimal]] = field(default_factory=list)
    store_credit: Decimal | None = None

    @property
    def subtotal(self) -> Decimal:
        """Refunded line money before tax."""
        return sum((s.subtotal for s in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        """Refunded line and shipping tax."""
        return sum((s.tax for s in self.lines), ZERO) + self.shipping_tax

    @property
    def maximum(self) -> Decimal:
        """The most that can still be refunded."""
        return max(ZERO, self.order.net_payment)


def refund_parents(order: Order) -> list[Transaction]:
    """Sales and captures that still have money to refund, oldest first."""
    return [t for t in order.successful(*PAYMENT_KINDS) if order.refundable_on(t) > 0]


def allocate(order: Order, amount: Decimal) -> list[tuple[Transaction, Decimal]]:
    """Split `amount` over the refundable payments, oldest first."""
    left, out = amount, []
    for parent in refund_parents(order):
        if left <= 0:
            break
        take = min(left, order.refundable_on(parent))
        out.append((parent, take))
        left -= take
    return out


def suggest_refund(order: Order, *, refundLineItems: list[dict[str, Any]] | None = None,
                   refundShipping: bool | None = None, shippingAmount: Any = None,
                   suggestFullRefund: bool | None = None,
                   refundMethodAllocation: str | None = None,
                   **_ignored: Any) -> Suggestion:
    """Preview a refund the way Shopify does: quantities capped, amounts capped at net payment."""
    suggestion = Suggestion(order=order)
    wanted: dict[int, tuple[int, str]] = {}
    if suggestFullRefund:
        for li in order.lines:
            if order.refundable_qty(li):
                wanted[li.id] = (order.refundable_qty(li), "NO_RESTOCK")
    for item in refundLineItems or []:
        parsed = parse_gid(item.get("lineItemId"))
        li = order.line(parsed[1]) if parsed and parsed[0] == "LineItem" else None
        if li is None:
            continue
        previous = wanted.get(li.id, (0, ""))[0]
        wanted[li.id] = (previous + int(item.get("quantity") or 0),
                         item.get("restockType") or "NO_RESTOCK")
    for li in order.lines:
        if li.id not in wanted:
            continue
        quantity = min(wanted[li.id][0], order.refundable_qty(li))
        if quantity <= 0:
            continue
        subtotal, tax = order.line_refund_amounts(li, quantity)
        suggestion.lines.append(SuggestedLine(li, quantity, wanted[li.id][1], subtotal, tax))
    if suggestFullRefund or refundShipping:
        suggestion.shipping = order.refundable_shipping
    elif shippingAmount is not None:
        suggestion.shipping = min(max(ZERO, _money(shippingAmount) or ZERO),
                                  order.refundable_shipping)
    suggestion.shipping_tax = order.shipping_tax_for(suggestion.shipping)
    total = suggestion.subtotal + suggestion.tax + suggestion.shipping
    suggestion.amount = q2(min(total, suggestion.maximum))
    if refundMethodAllocation == "STORE_CREDIT":
        suggestion.store_credit = suggestion.amount
    else:
        suggestion.transactions = allocate(order, suggestion.amount)
    return suggestion


# -- refundCreate ---------------------------------------------------------------------------
def create_refund(store: SandboxStore, shop: str,
                  data: dict[str, Any]) -> tuple[Refund | None, Order | None, list[dict]]:
    """Apply `refundCreate(input:)`: validate against refundable amounts, then record it."""
    order = order_from_gid(store, shop, data.get("orderId"))
    if order is None:
        return None, None, [user_error(["orderId"], "Order does not exist")]
    errors: list[dict] = []
    if order.captured <= 0:
        return None, order, [user_error(
            ["orderId"], f"Order {order.name} can't be refunded: it has no successful payment "
            f"(financial status {order.financial_status})")]
    currency = data.get("currency")
    if currency and currency != order.presentment_currency:
        errors.append(user_error(["currency"], f"Currency must be the order's presentment "
                                               f"currency ({order.presentment_currency})"))
    elif not currency and order.presentment_currency != order.currency and data.get(
            "transactions"):
        errors.append(user_error(["currency"], "Currency is required for orders in a "
                                               "presentment currency other than the shop's"))
    lines = _refund_lines(order, data.get("refundLineItems") or [], errors)
    shipping = _refund_shipping(order, data.get("shipping"), errors)
    transactions = _refund_transactions(order, data.get("transactions") or [], errors)
    credit = _store_credit(store, order, data.get("refundMethods") or [], errors)
    if errors:
        return None, order, errors
    moved = sum((amount for _, amount, _ in transactions), ZERO) + (credit or ZERO)
    if moved > order.net_payment and not data.get("allowOverRefunding"):
        return None, order, [user_error(
            ["transactions"], f"Refund amount {moved} is greater than the refundable amount "
            f"{order.net_payment} (captured minus refunded)")]
    if not lines and shipping <= 0 and moved <= 0:
        return None, order, [user_error(
            None, "A refund needs at least one line item, shipping or transaction")]
    refund = _record_refund(store, order, lines, shipping, transactions, credit,
                            note=data.get("note"))
    return refund, order, []


def _refund_lines(order: Order, items: list[dict[str, Any]],
                  errors: list[dict]) -> list[tuple[LineItem, int, str]]:
    totals: dict[int, int] = {}
    out: list[tuple[LineItem, int, str]] = []
    for index, item in enumerate(items):
        where = ["refundLineItems", str(index)]
        parsed = parse_gid(item.get("lineItemId"))
        li = order.line(parsed[1]) if parsed and parsed[0] == "LineItem" else None
        if li is None:
            errors.append(user_error([*where, "lineItemId"], "Line item does not exist"))
            continue
        quantity = int(item.get("quantity") or 0)
        restock = item.get("restockType") or "NO_RESTOCK"
        if quantity <= 0:
            errors.append(user_error([*where, "quantity"], "Quantity must be greater than 0"))
            continue
        if restock not in RESTOCK_TYPES:
            errors.append(user_error([*where, "restockType"],
                                     f"Restock type {restock} is not supported for new refunds"))
            continue
        totals[li.id] = totals.get(li.id, 0) + quantity
        if totals[li.id] > order.refundable_qty(li):
            errors.append(user_error(
                [*where, "quantity"],
                f"Quantity cannot refund more items than were purchased: {li.title} has "
                f"{order.refundable_qty(li)} refundable"))
            continue
        if restock == "CANCEL" and quantity > order.unfulfilled_qty(li):
            errors.append(user_error(
                [*where, "restockType"],
                f"Only unfulfilled items can be restocked as CANCEL ({li.title}: "
                f"{order.unfulfilled_qty(li)} unfulfilled)"))
            continue
        if restock == "RETURN" and quantity > order.fulfilled_qty(li) - order.returned_qty(li):
            errors.append(user_error(
                [*where, "restockType"],
                f"Only fulfilled items can be restocked as RETURN ({li.title})"))
            continue
        out.append((li, quantity, restock))
    return out


def _refund_shipping(order: Order, shipping: dict[str, Any] | None, errors: list[dict]) -> Decimal:
    if not shipping:
        return ZERO
    if shipping.get("fullRefund"):
        return order.refundable_shipping
    amount = _money(shipping.get("amount"))
    if amount is None:
        return ZERO
    if amount < 0:
        errors.append(user_error(["shipping", "amount"], "Shipping amount must be positive"))
    elif amount > order.refundable_shipping:
        errors.append(user_error(
            ["shipping", "amount"],
            f"Shipping refund amount {amount} exceeds the refundable shipping "
            f"{order.refundable_shipping}"))
    return amount


def _refund_transactions(order: Order, items: list[dict[str, Any]],
                         errors: list[dict]) -> list[tuple[Transaction, Decimal, str]]:
    out: list[tuple[Transaction, Decimal, str]] = []
    per_parent: dict[int, Decimal] = {}
    for index, item in enumerate(items):
        where = ["transactions", str(index)]
        amount = _money(item.get("amount"))
        if item.get("kind") != "REFUND":
            errors.append(user_error([*where, "kind"], "Transaction kind must be REFUND"))
            continue
        if amount is None or amount <= 0:
            errors.append(user_error([*where, "amount"], "Amount must be greater than 0"))
            continue
        if item.get("orderId") and order_from_gid_id(item["orderId"]) != order.id:
            errors.append(user_error([*where, "orderId"], "Transaction belongs to another order"))
            continue
        parent = _parent_for(order, item)
        if parent is None:
            errors.append(user_error(
                [*where, "parentId"],
                "Parent transaction must be a successful sale or capture of this order"))
            continue
        if item.get("gateway") and item["gateway"] != parent.gateway:
            errors.append(user_error([*where, "gateway"],
                                     f"Gateway must match the parent transaction's "
                                     f"({parent.gateway})"))
            continue
        per_parent[parent.id] = per_parent.get(parent.id, ZERO) + amount
        if per_parent[parent.id] > order.refundable_on(parent):
            errors.append(user_error(
                [*where, "amount"],
                f"Amount {amount} exceeds the refundable amount {order.refundable_on(parent)} "
                f"of the parent transaction"))
            continue
        out.append((parent, q2(amount), parent.gateway))
    return out


def order_from_gid_id(value: Any) -> int | None:
    """The number of an Order GID, else None."""
    parsed = parse_gid(value)
    return parsed[1] if parsed and parsed[0] == "Order" else None


def _parent_for(order: Order, item: dict[str, Any]) -> Transaction | None:
    parsed = parse_gid(item.get("parentId"))
    if parsed:
        parent = order.transaction(parsed[1]) if parsed[0] == "OrderTransaction" else None
        ok = parent and parent.status == "SUCCESS" and parent.kind in PAYMENT_KINDS
        return parent if ok else None
    if item.get("parentId"):
        return None
    # No parent given: Shopify picks the gateway's payment.
    return next((t for t in refund_parents(order)
                 if not item.get("gateway") or t.gateway == item["gateway"]), None)


def _store_credit(store: SandboxStore, order: Order, methods: list[dict[str, Any]],
                  errors: list[dict]) -> Decimal | None:
    total = None
    for index, method in enumerate(methods):
        credit = method.get("storeCreditRefund")
        if not credit:
            continue
        where = ["refundMethods", str(index), "storeCreditRefund"]
        if order.customer_id is None:
            errors.append(user_error(where, "Store credit needs a customer on the order"))
            continue
        money = credit.get("amount") or {}
        amount = _money(money.get("amount"))
        if amount is None or amount <= 0:
            errors.append(user_error([*where, "amount"], "Amount must be greater than 0"))
            continue
        total = (total or ZERO) + amount
    return total


def _record_refund(store: SandboxStore, order: Order, lines: list[tuple[LineItem, int, str]],
                   shipping: Decimal, transactions: list[tuple[Transaction, Decimal, str]],
                   credit: Decimal | None, *, note: str | None) -> Refund:
    now = store.now()
    refund = Refund(id=store.next_id("Refund"), created_at=now, note=note)
    for li, quantity, restock in lines:
        subtotal, tax = order.line_refund_amounts(li, quantity)
        unfulfilled = order.unfulfilled_qty(li)
        from_unfulfilled = {"CANCEL": quantity, "RETURN": 0}.get(restock,
                                                                 min(quantity, unfulfilled))
        refund.lines.append(RefundLine(id=store.next_id("RefundLineItem"), line_item_id=li.id,
                                       quantity=quantity, restock_type=restock,
                                       subtotal=subtotal, tax=tax,
                                       from_unfulfilled=from_unfulfilled))
    if shipping > 0:
        refund.shipping_tax = order.shipping_tax_for(shipping)
        refund.shipping = q2(shipping)
        refund.shipping_line_id = order.shipping_lines[0].id if order.shipping_lines else None
    for parent, amount, gateway in transactions:
        txn = Transaction(id=store.next_id("OrderTransaction"), kind="REFUND", amount=amount,
                          gateway=gateway, created_at=now, parent_id=parent.id,
                          account_number=parent.account_number, test=order.test)
        order.transactions.append(txn)
        refund.transaction_ids.append(txn.id)
    if credit:
        txn = Transaction(id=store.next_id("OrderTransaction"), kind="REFUND", amount=q2(credit),
                          gateway=STORE_CREDIT_GATEWAY, created_at=now, test=order.test)
        order.transactions.append(txn)
        refund.transaction_ids.append(txn.id)
    order.refunds.append(refund)
    order.updated_at = now
    return refund


# -- orderCancel ----------------------------------------------------------------------------
def start_cancel(store: SandboxStore, shop: str, args: dict[str, Any]) -> tuple[Job | None,
                                                                                list[dict]]:
    """Check `orderCancel` preconditions and queue the job that cancels on its next poll."""
    order = order_from_gid(store, shop, args.get("orderId"))
    if order is None:
        return None, [user_error(["orderId"], "Order does not exist", "NOT_FOUND")]
    problem = cancel_problem(store, order, args)
    if problem:
        return None, [problem]
    for job in store.jobs.values():
        if job.kind == "order_cancel" and not job.done and job.args["order_id"] == order.id:
            return job, []  # already being cancelled: same job, like a replayed request
    job = Job(id=gid("Job", str(uuid.uuid4())), shop=shop, kind="order_cancel",
              args={"order_id": order.id, "reason": args.get("reason"),
                    "restock": bool(args.get("restock")),
                    "refund_method": args.get("refundMethod") or {},
                    "staff_note": args.get("staffNote")})
    store.jobs[job.id] = job
    return job, []


def cancel_problem(store: SandboxStore, order: Order, args: dict[str, Any]) -> dict | None:
    """Why this order cannot be cancelled now, as an `OrderCancelUserError`, else None."""
    if order.cancelled_at:
        return user_error(["orderId"], "Order has already been cancelled", "INVALID")
    if any(order.fulfilled_qty(li) for li in order.lines):
        return user_error(["orderId"], "Cannot cancel an order with fulfilled line items; "
                                       "cancel or return the fulfillments first", "INVALID")
    if order.has_active_return():
        return user_error(["orderId"], "Cannot cancel an order with an open return", "INVALID")
    note = args.get("staffNote")
    if note and len(note) > 255:
        return user_error(["staffNote"], "Staff note is too long (maximum is 255 characters)",
                          "INVALID")
    method = args.get("refundMethod") or {}
    if method.get("storeCreditRefund") is not None:
        if order.customer_id is None:
            return user_error(["refundMethod", "storeCreditRefund"],
                              "Store credit refunds need a customer on the order",
                              "STORE_CREDIT_REFUND_MISSING_CUSTOMER")
        expires = method["storeCreditRefund"].get("expiresAt")
        if expires and str(expires) < store.now().isoformat():
            return user_error(["refundMethod", "storeCreditRefund", "expiresAt"],
                              "Expiry date must be in the future",
                              "STORE_CREDIT_REFUND_EXPIRATION_IN_PAST")
    return None


def run_job(store: SandboxStore, job: Job) -> None:
    """Finish a queued job (the cancel happens here, when the job is polled)."""
    if job.done:
        return
    job.done = True
    if job.kind != "order_cancel":
        return
    order = store.orders.get(job.args["order_id"])
    if order is None or cancel_problem(store, order, {}):
        return  # Conditions changed while queued; the job completes without cancelling.
    apply_cancel(store, order, reason=job.args["reason"], restock=job.args["restock"],
                 refund_method=job.args["refund_method"], staff_note=job.args["staff_note"])


def apply_cancel(store: SandboxStore, order: Order, *, reason: str | None, restock: bool,
                 refund_method: dict[str, Any] | None = None,
                 staff_note: str | None = None) -> None:
    """Cancel: refund if asked and paid, release authorizations, close the order."""
    now = store.now()
    refund_method = refund_method or {}
    to_original = bool(refund_method.get("originalPaymentMethodsRefund"))
    to_credit = refund_method.get("storeCreditRefund") is not None
    if (to_original or to_credit or restock) and any(order.refundable_qty(li)
                                                     for li in order.lines):
        lines = [(li, order.refundable_qty(li), "CANCEL" if restock else "NO_RESTOCK")
                 for li in order.lines if order.refundable_qty(li)]
        money = max(ZERO, order.net_payment) if (to_original or to_credit) else ZERO
        transactions = ([(p, a, p.gateway) for p, a in allocate(order, money)]
                        if to_original else [])
        credit = money if to_credit and money > 0 else None
        shipping = order.refundable_shipping if money > 0 else ZERO
        _record_refund(store, order, lines, shipping, transactions, credit, note=None)
    for auth in order.open_authorizations():
        order.transactions.append(Transaction(
            id=store.next_id("OrderTransaction"), kind="VOID", amount=auth.amount,
            gateway=auth.gateway, created_at=now, parent_id=auth.id, test=order.test))
    order.cancelled_at, order.cancel_reason = now, reason or "OTHER"
    order.cancel_staff_note = staff_note
    order.closed_at = order.closed_at or now
    order.updated_at = now


# -- orderUpdate, tags ----------------------------------------------------------------------
def update_order(store: SandboxStore, shop: str,
                 data: dict[str, Any]) -> tuple[Order | None, list[dict]]:
    """`orderUpdate(input:)`: overwrite the given fields (tags and address replace, not merge)."""
    order = order_from_gid(store, shop, data.get("id"))
    if order is None:
        return None, [user_error(["id"], "Order does not exist")]
    if "email" in data and data["email"] and "@" not in data["email"]:
        return order, [user_error(["email"], "Email is invalid")]
    if "note" in data:
        order.note = data["note"]
    if "email" in data:
        order.email = data["email"]
    if "phone" in data:
        order.phone = data["phone"]
    if "poNumber" in data:
        order.po_number = data["poNumber"]
    if "tags" in data:
        order.tags = normalize_tags(data["tags"] or [])
    if "customAttributes" in data:
        order.custom_attributes = [{"key": a["key"], "value": a.get("value")}
                                   for a in data["customAttributes"] or []]
    if "shippingAddress" in data:
        # Shopify saves the new address as given; taxes are recalculated only on entirely
        # unfulfilled orders, which the sandbox does not model (its taxes stay as charged).
        order.shipping_address = store.make_address(data["shippingAddress"])
    order.updated_at = store.now()
    return order, []


def normalize_tags(tags: list[str]) -> list[str]:
    """Split comma lists, trim, drop empties and case-insensitive duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in tags:
        for tag in str(raw).split(","):
            tag = tag.strip()
            if tag and tag.lower() not in seen:
                seen.add(tag.lower())
                out.append(tag)
    return out


def change_tags(store: SandboxStore, shop: str, node_id: Any, tags: list[str], *,
                add: bool) -> tuple[Order | Customer | None, list[dict]]:
    """`tagsAdd` / `tagsRemove` on an order or customer: set semantics, case-insensitive."""
    parsed = parse_gid(node_id)
    target: Order | Customer | None = None
    if parsed and parsed[0] == "Order":
        target = store.order(shop, parsed[1])
    elif parsed and parsed[0] == "Customer":
        target = store.customer(shop, parsed[1])
    if target is None:
        return None, [user_error(["id"], "Resource not found or does not support tags")]
    wanted = normalize_tags(tags)
    if add:
        target.tags = normalize_tags([*target.tags, *wanted])
    else:
        drop = {t.lower() for t in wanted}
        target.tags = [t for t in target.tags if t.lower() not in drop]
    target.updated_at = store.now()
    return target, []
