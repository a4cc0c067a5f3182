"""The `refund` action: everything, chosen line items, shipping, or a manual amount.

The preview is Shopify's own `suggestedRefund` (operation RefundPreview); the refund is
`refundCreate` with `@idempotent(key:)` derived from the shop and the request's
Idempotency-Key, its money in `transactions` built from the suggested transactions
(gateway, parent, amount). Restocking: `restock: true` returns units that had shipped
(RETURN) and cancels units that had not (CANCEL) — unshipped units first, so a refund never
asks the warehouse to expect back something still on its shelf; `false` is NO_RESTOCK.

Multi-currency orders (paid in a presentment currency other than the shop's) can be
refunded in full, by line items or by full shipping; a manual `amount` or a shipping
`amount` is refused with 400 there, because Sidecard's amounts are in the shop's currency
and Shopify moves the customer's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from plugin.actions import register
from plugin.actions.base import (
    Action,
    ActionResult,
    Availability,
    agent_label,
    money_text,
    order_label,
)
from plugin.actions.validation import (
    fail,
    integer,
    money,
    numeric_id,
    optional_boolean,
    optional_string,
    require_object,
    string_list,
)
from plugin.card_data.present import money as money_of
from plugin.card_data.present import numeric_id as gid_number
from plugin.exceptions import (
    ActionUnavailableError,
    IdempotencyConflictError,
    NotFoundError,
    ShopifyError,
)

log = logging.getLogger("sidecard.actions")

FIELDS = ("full", "line_items", "shipping", "amount", "reason", "notify")
LINE_FIELDS = ("line_item_id", "quantity", "restock")
MAX_LINE_ITEMS = 250  # Shopify's cap on input arrays
MAX_QUANTITY = 100_000
REASON_MAX_LENGTH = 255
UNPAID = frozenset({"pending", "authorized", "expired", "voided"})
ZERO = Decimal("0")
CENT = Decimal("0.01")
KEY_MISMATCH_CODES = frozenset({"IDEMPOTENCY_KEY_PARAMETER_MISMATCH"})
# The first request with this key is still being processed: not a refusal — the refund may
# be made any moment, so the key must stay retryable (a retry then gets Shopify's replay).
KEY_BUSY_CODE = "IDEMPOTENCY_CONCURRENT_REQUEST"


def shopify_idempotency_key(shop_domain: str, key: str) -> str:
    """The `@idempotent` key for a request's Idempotency-Key, scoped to the shop.

    Hashed so that what the agent's client chose never reaches Shopify as such and two
    shops' identical keys never meet.
    """
    if not key or not key.strip():
        raise ValueError("an Idempotency-Key is required")
    digest = hashlib.sha256(f"{shop_domain}:{key}".encode()).hexdigest()[:40]
    return f"sidecard:{digest}"


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _amount(money_dict: Mapping[str, Any] | None) -> Decimal:
    return _dec(money_dict["amount"]) if money_dict else ZERO


def _bag(bag: Mapping[str, Any] | None, which: str = "shopMoney") -> Decimal:
    """An amount of a MoneyBag (shop or presentment money)."""
    return _dec(((bag or {}).get(which) or {}).get("amount"))


def _cash(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount.quantize(CENT)), "currency": currency}


def refund_ceiling(order: Mapping[str, Any]) -> Decimal | None:
    """At most what can still be refunded, from the presented order alone.

    Exact when the order carries `net_payment` (received minus refunded); otherwise the
    order's total minus what was refunded, which is never below the real figure (the
    preview then checks the exact maximum that Shopify reports).
    """
    if order.get("net_payment"):
        return max(ZERO, _amount(order["net_payment"]))
    if order.get("total") is None:
        return None
    # An edit can raise the order above its original total (and more be collected).
    charged = max(_amount(order["total"]), _amount(order.get("current_total")))
    return max(ZERO, charged - _amount(order.get("total_refunded")))


def unavailable_reason(order: Mapping[str, Any]) -> str | None:
    """Why nothing on this order can be refunded, or None."""
    payment = (order.get("status") or {}).get("payment")
    if payment == "refunded":
        return "Everything paid has already been refunded."
    if payment in UNPAID:
        return "Nothing has been paid yet, so there is nothing to refund."
    if order.get("refundable") is False:
        return "Shopify says nothing on this order can be refunded."
    ceiling = refund_ceiling(order)
    if ceiling is not None and ceiling <= 0:
        return "Nothing left to refund."
    return None


@dataclass
class RefundPlan:
    """What one refund will do: the preview shown and the `RefundInput` that does it."""

    preview: dict[str, Any]
    input: dict[str, Any]
    total: Decimal
    currency: str


@register
class RefundAction(Action):
    """Refund money (and optionally restock items) on a paid order."""

    name = "refund"
    label = "Refund"
    order = 10
    monetary = True
    scopes = frozenset({"read_orders", "write_orders"})

    # --- input -------------------------------------------------------------------------

    def validate(self, body: Any) -> dict[str, Any]:
        """`{"full": true}` or a choice of line_items / shipping / amount, plus reason, notify.

        :raises ValidationError: unknown keys, wrong types, `full` with a selection,
            duplicate line ids, quantities below 1, amounts that are not positive decimal
            strings with at most two places, or nothing to refund.
        """
        data = require_object(body, allowed=FIELDS)
        full = optional_boolean(data, "full", False)
        line_items = self._line_items(data.get("line_items"))
        shipping = self._shipping(data.get("shipping"))
        amount = None if data.get("amount") is None else money(data["amount"], "amount")
        reason = optional_string(data, "reason", max_length=REASON_MAX_LENGTH, multiline=True)
        notify = optional_boolean(data, "notify", False)
        if full and (line_items or shipping or amount is not None):
            raise fail("full", 'A full refund is sent alone: {"full": true} (with reason and '
                               "notify), or choose line_items, shipping or an amount instead.")
        if not (full or line_items or shipping or amount is not None):
            raise fail("body", "Say what to refund: full, line_items, shipping or amount.")
        return {"full": full, "line_items": line_items, "shipping": shipping,
                "amount": None if amount is None else str(amount), "reason": reason,
                "notify": notify}

    @staticmethod
    def _line_items(value: Any) -> list[dict[str, Any]]:
        if value is None:
            return []
        items = string_list(value, "line_items", max_items=MAX_LINE_ITEMS)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, raw in enumerate(items):
            where = f"line_items[{index}]"
            item = require_object(raw, field=where, allowed=LINE_FIELDS,
                                  required=("line_item_id", "quantity"))
            line_id = numeric_id(item["line_item_id"], f"{where}.line_item_id", "LineItem")
            if line_id in seen:
                raise fail(f"{where}.line_item_id",
                           f"Line item {line_id} is listed twice; give it once with the "
                           "total quantity.")
            seen.add(line_id)
            quantity = integer(item["quantity"], f"{where}.quantity", minimum=1,
                               maximum=MAX_QUANTITY)
            restock = optional_boolean(item, "restock", False, parent=where)
            out.append({"line_item_id": line_id, "quantity": quantity, "restock": restock})
        return out

    @staticmethod
    def _shipping(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        data = require_object(value, field="shipping", allowed=("full", "amount"))
        full = optional_boolean(data, "full", None, parent="shipping")
        amount = data.get("amount")
        if full and amount is not None:
            raise fail("shipping", 'shipping takes {"full": true} or {"amount": "5.00"}, '
                                   "not both.")
        if full:
            return {"full": True}
        if amount is not None:
            return {"amount": str(money(amount, "shipping.amount"))}
        raise fail("shipping", 'shipping needs {"full": true} or {"amount": "5.00"}.')

    # --- order state -------------------------------------------------------------------

    def availability(self, order: Mapping[str, Any]) -> Availability:
        """Refundable while something paid is left to give back."""
        reason = unavailable_reason(order)
        return Availability(reason is None, reason)

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Line items exist and have that many units left; the amount fits what is left.

        :raises ActionUnavailableError: nothing paid (or nothing left) to refund (409).
        :raises ValidationError: unknown line item, too many units, amount too high (400).
        """
        reason = unavailable_reason(order)
        if reason:
            raise ActionUnavailableError(reason, reason=reason)
        lines = {str(li.get("id")): li for li in order.get("line_items") or []}
        for index, item in enumerate(body.get("line_items") or []):
            where = f"line_items[{index}]"
            line = lines.get(item["line_item_id"])
            if line is None:
                if order.get("more_line_items"):
                    continue  # beyond the lines the card reads: Shopify's preview decides
                raise fail(f"{where}.line_item_id", f"Line item {item['line_item_id']} is not "
                                                    f"on {order_label(order)}.")
            left = line.get("refundable_quantity")
            left = line.get("current_quantity", 0) if left is None else left
            if item["quantity"] > int(left or 0):
                raise fail(f"{where}.quantity",
                           f"Only {left} of {_title(line)} can still be refunded "
                           f"({item['quantity']} asked).")
            if item["restock"] and line.get("restockable") is False:
                raise fail(f"{where}.restock", f"{_title(line)} cannot be restocked; send "
                                               "restock: false.")
        ceiling = refund_ceiling(order)
        if body.get("amount") is not None and ceiling is not None \
                and Decimal(body["amount"]) > ceiling:
            raise fail("amount", f"{money_text(Decimal(body['amount']), order.get('currency'))}"
                                 f" is more than the {money_text(ceiling, order.get('currency'))}"
                                 " that can still be refunded.")

    def amount(self, order: Mapping[str, Any], body: Mapping[str, Any],
               preview: Mapping[str, Any] | None = None) -> Decimal | None:
        """The money the refund moves: the preview's total, or the manual amount.

        Without a preview (and no manual amount) the most that could still be refunded, so
        a limit is never judged on less than the refund may be.
        """
        if preview and preview.get("total"):
            return _amount(preview["total"])
        if body.get("amount") is not None:
            return Decimal(body["amount"])
        return refund_ceiling(order)

    # --- Shopify -----------------------------------------------------------------------

    def preview(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """Shopify's suggested refund: per-line amounts, shipping, tax, total, gateways.

        :raises ValidationError: the selection no longer fits the order (400).
        """
        plan = self.plan(client, order, body)
        # The service previews then performs with the same instance, order and body: the
        # refund then uses the suggestion just shown instead of asking Shopify again.
        self._planned = (_plan_key(client, order, body), plan)
        return plan.preview

    def _plan_now(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                  ) -> RefundPlan:
        """The plan just previewed for this order and body, else a new one (kept for perform)."""
        planned = getattr(self, "_planned", None)
        if planned and planned[0] == _plan_key(client, order, body):
            return planned[1]
        plan = self.plan(client, order, body)
        self._planned = (_plan_key(client, order, body), plan)
        return plan

    def prepare(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """The exact refund `perform` will send (JSON), stored before it is sent so that a
        retry after an uncertain failure resends it unchanged (see `resend`).

        :raises ValidationError: the selection no longer fits the order (400).
        """
        plan = self._plan_now(client, order, body)
        return {"input": plan.input, "preview": plan.preview, "total": str(plan.total),
                "currency": plan.currency}

    def perform(self, client, order: Mapping[str, Any], body: Mapping[str, Any], *,
                idempotency_key: str) -> ActionResult:
        """Create the refund (the plan previewed or prepared for this order, else a new one).

        :raises ShopifyUserError: Shopify refused (422, its userErrors as given).
        :raises IdempotencyConflictError: this Idempotency-Key already made a different
            refund on Shopify (409).
        """
        plan = self._plan_now(client, order, body)
        self._planned = None
        return self._create(client, order, body, plan, idempotency_key)

    def resend(self, client, order: Mapping[str, Any], body: Mapping[str, Any],
               prepared: Mapping[str, Any], *, idempotency_key: str) -> ActionResult:
        """Send the refund an earlier attempt prepared, unchanged and under the same key:
        Shopify replays it if it was made, or makes it now (once).

        :raises ShopifyUserError: Shopify refused (422), e.g. the order changed meanwhile.
        """
        plan = RefundPlan(preview=dict(prepared["preview"]), input=dict(prepared["input"]),
                          total=Decimal(str(prepared["total"])),
                          currency=str(prepared.get("currency") or ""))
        return self._create(client, order, body, plan, idempotency_key)

    def _create(self, client, order: Mapping[str, Any], body: Mapping[str, Any],
                plan: RefundPlan, idempotency_key: str) -> ActionResult:
        """refundCreate for a plan under the request's `@idempotent` key."""
        key = shopify_idempotency_key(client.shop_domain, idempotency_key)
        try:
            result = client.execute_mutation("RefundCreate", {"input": plan.input, "key": key})
        except ShopifyError as exc:
            if _key_busy(exc):
                raise ShopifyError(
                    "Shopify is still processing this refund; retry shortly with the same "
                    "Idempotency-Key.", status=exc.status, request_id=exc.request_id,
                    errors=exc.errors) from exc
            if _key_mismatch(exc):
                raise IdempotencyConflictError(
                    "This Idempotency-Key already made a refund on Shopify with other amounts "
                    "(the order changed since); check the order's refunds before trying "
                    "again with a new key.", request_id=exc.request_id) from exc
            raise
        payload = result.data.get("refundCreate") or {}
        refund = payload.get("refund")
        if not refund:
            raise ShopifyError("Shopify answered without a refund", request_id=result.request_id)
        refunded = money_of(refund.get("totalRefundedSet")) or _cash(plan.total, plan.currency)
        preview = plan.preview
        details = {
            "refund_id": gid_number(refund.get("id")),
            "refund_gid": refund.get("id"),
            "amount": refunded["amount"],
            "currency": refunded["currency"],
            "gateways": preview["gateways"],
            "full": bool(body.get("full")),
            "manual_amount": preview["manual_amount"],
            "line_items": [{"line_item_id": li["line_item_id"], "title": li["title"],
                            "quantity": li["quantity"], "restock_types": li["restock_types"]}
                           for li in preview["line_items"]],
            "shipping": preview["shipping"]["amount"] if preview["shipping"] else None,
            "financial_status": ((payload.get("order") or {}).get("displayFinancialStatus")
                                 or "").lower() or None,
        }
        log.info("refund created shop=%s order=%s refund=%s request_id=%s",
                 client.shop_domain, order.get("id"), details["refund_id"], result.request_id)
        return ActionResult(order=None, details=details, shopify_request_id=result.request_id)

    def summary(self, order: Mapping[str, Any], body: Mapping[str, Any],
                result: ActionResult | None, agent: Mapping[str, Any]) -> str:
        """`Dana (dana@x.com) refunded $25.00 USD on order #1004 (2 × Blue Tee, shipping) —
        reason: damaged`."""
        details = result.details if result else {}
        currency = details.get("currency") or order.get("currency")
        amount = details.get("amount") or body.get("amount")
        what = _what(order, body, details)
        if result is None:
            text = (f"{agent_label(agent)} asked to refund "
                    f"{money_text(amount, currency) if amount else 'money'} on "
                    f"{order_label(order)}")
        else:
            text = f"{agent_label(agent)} refunded {money_text(amount, currency)} on " \
                   f"{order_label(order)}"
        if what:
            text += f" ({what})"
        if body.get("reason"):
            text += f" — reason: {_one_line(body['reason'])}"
        return text

    # --- the plan (shared by preview and perform) ---------------------------------------

    def plan(self, client, order: Mapping[str, Any], body: Mapping[str, Any]) -> RefundPlan:
        """Ask Shopify for the suggestion and turn it into a preview and a RefundInput.

        :raises NotFoundError: the order is gone.
        :raises ValidationError: the selection or amount does not fit (400).
        """
        order_gid = order.get("gid") or f"gid://shopify/Order/{order['id']}"
        manual = None if body.get("amount") is None else Decimal(body["amount"])
        shipping = body.get("shipping") or None
        line_inputs = [] if body.get("full") else _line_inputs(order, body)
        variables: dict[str, Any] = {"id": order_gid, "withEverything": manual is not None}
        if body.get("full"):
            variables["suggestFullRefund"] = True
        else:
            variables["refundLineItems"] = line_inputs
            if shipping and shipping.get("full"):
                variables["refundShipping"] = True
            elif shipping:
                variables["shippingAmount"] = shipping["amount"]
        node = client.execute("RefundPreview", variables).data.get("order")
        if not node:
            raise NotFoundError("No such order in this shop.", reason="unknown_order")
        currency = node.get("currencyCode") or order.get("currency") or ""
        paid_in = node.get("presentmentCurrencyCode") or currency
        if paid_in != currency and (manual is not None or (shipping and "amount" in shipping)):
            raise fail("amount", f"This order was paid in {paid_in}: refund it in full, by line "
                                 "items or by full shipping (amounts here are in "
                                 f"{currency}).")
        if (node.get("displayFinancialStatus") or "").lower() in UNPAID:
            reason = "Nothing has been paid yet, so there is nothing to refund."
            raise ActionUnavailableError(reason, reason=reason)
        selection = node.get("selection") or {}
        lines, suggested_inputs = self._suggested_lines(order, body, selection, line_inputs)
        ship = self._suggested_shipping(shipping, selection, currency)
        suggested_total = _bag(selection.get("amountSet"))
        maximum = _bag(selection.get("maximumRefundableSet"))
        total = suggested_total if manual is None else manual
        if manual is not None and manual > maximum:
            raise fail("amount", f"{money_text(manual, currency)} is more than the "
                                 f"{money_text(maximum, currency)} that can still be refunded.")
        if total <= 0 and not lines:
            raise fail("body", "Nothing to refund: the selection is worth nothing and no "
                               "items would be restocked or removed.")
        if manual is None:
            suggested = [(t, _bag(t.get("amountSet"), "presentmentMoney"))
                         for t in selection.get("suggestedTransactions") or []]
            transactions = [(t, a) for t, a in suggested if a > 0]
        else:
            everything = (node.get("everything") or {}).get("suggestedTransactions") or []
            transactions = _allocate(manual, everything)
        refund_input: dict[str, Any] = {"orderId": order_gid, "notify": bool(body.get("notify"))}
        if body.get("reason"):
            refund_input["note"] = body["reason"]
        if body.get("full"):
            refund_input["refundLineItems"] = suggested_inputs
            if ship and _amount(ship["amount"]) > 0:
                refund_input["shipping"] = {"fullRefund": True}
        else:
            if line_inputs:
                refund_input["refundLineItems"] = line_inputs
            if shipping and shipping.get("full"):
                refund_input["shipping"] = {"fullRefund": True}
            elif shipping:
                refund_input["shipping"] = {"amount": shipping["amount"]}
        if transactions:
            refund_input["currency"] = paid_in
            refund_input["transactions"] = [
                {"orderId": order_gid, "kind": "REFUND", "gateway": t.get("gateway"),
                 "amount": str(a.quantize(CENT)),
                 **({"parentId": t["parentTransaction"]["id"]}
                    if (t.get("parentTransaction") or {}).get("id") else {})}
                for t, a in transactions]
        gateways = list(dict.fromkeys(t.get("formattedGateway") or t.get("gateway") or "?"
                                      for t, _ in transactions))
        preview = {
            "currency": currency,
            "presentment_currency": paid_in,
            "full": bool(body.get("full")),
            "line_items": lines,
            "shipping": ship,
            "subtotal": money_of(selection.get("subtotalSet")) or _cash(ZERO, currency),
            "tax": money_of(selection.get("totalTaxSet")) or _cash(ZERO, currency),
            "suggested_total": _cash(suggested_total, currency),
            "manual_amount": manual is not None,
            "total": _cash(total, currency),
            "maximum_refundable": _cash(maximum, currency),
            "gateways": gateways,
            "transactions": [{"gateway": t.get("gateway"),
                              "gateway_name": t.get("formattedGateway") or t.get("gateway"),
                              "amount": _cash(a, paid_in),
                              "maximum": _cash(_bag(t.get("maximumRefundableSet"),
                                                    "presentmentMoney"), paid_in)}
                             for t, a in transactions],
            "notify": bool(body.get("notify")),
            "reason": body.get("reason"),
        }
        return RefundPlan(preview=preview, input=refund_input, total=total, currency=currency)

    @staticmethod
    def _suggested_lines(order: Mapping[str, Any], body: Mapping[str, Any],
                         selection: Mapping[str, Any], line_inputs: list[dict[str, Any]]
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(preview lines, one per line item, with Shopify's amounts and the restock split;
        the suggestion's own RefundLineItemInputs, for a full refund).

        :raises ValidationError: Shopify now suggests fewer units of a line than asked.
        """
        titles = {str(li.get("id")): _title(li) for li in order.get("line_items") or []}
        currency = order.get("currency") or ""
        grouped: dict[str, dict[str, Any]] = {}
        suggested_inputs = []
        for entry in selection.get("refundLineItems") or []:
            item = entry.get("lineItem") or {}
            number = gid_number(item.get("id")) or ""
            quantity = int(entry.get("quantity") or 0)
            suggested_inputs.append({"lineItemId": item.get("id"), "quantity": quantity,
                                     "restockType": entry.get("restockType")})
            line = grouped.setdefault(number, {
                "line_item_id": number, "title": titles.get(number) or item.get("title"),
                "quantity": 0, "restock_types": {}, "subtotal": ZERO, "tax": ZERO})
            line["quantity"] += quantity
            line["subtotal"] += _bag(entry.get("subtotalSet"))
            line["tax"] += _bag(entry.get("totalTaxSet"))
            if body.get("full"):
                kind = entry.get("restockType") or "NO_RESTOCK"
                line["restock_types"][kind] = line["restock_types"].get(kind, 0) + quantity
        if not body.get("full"):
            for index, item in enumerate(body.get("line_items") or []):
                number = item["line_item_id"]
                line = grouped.get(number)
                if line is None or line["quantity"] < item["quantity"]:
                    raise fail(f"line_items[{index}].quantity",
                               f"Only {line['quantity'] if line else 0} of "
                               f"{titles.get(number) or 'line item ' + number} can still be "
                               f"refunded ({item['quantity']} asked).")
            for item in line_inputs:
                kinds = grouped[gid_number(item["lineItemId"]) or ""]["restock_types"]
                kinds[item["restockType"]] = kinds.get(item["restockType"], 0) + item["quantity"]
        lines = [{**line, "subtotal": _cash(line["subtotal"], currency),
                  "tax": _cash(line["tax"], currency)} for line in grouped.values()]
        return lines, suggested_inputs

    @staticmethod
    def _suggested_shipping(shipping: Mapping[str, Any] | None, selection: Mapping[str, Any],
                            currency: str) -> dict[str, Any] | None:
        """Shipping in the preview; asking for more than is left is a 400."""
        block = selection.get("shipping") or {}
        amount = _bag(block.get("amountSet"))
        maximum = _bag(block.get("maximumRefundableSet"))
        if shipping and shipping.get("amount") is not None \
                and Decimal(shipping["amount"]) > maximum:
            raise fail("shipping.amount",
                       f"{money_text(Decimal(shipping['amount']), currency)} is more than the "
                       f"{money_text(maximum, currency)} of shipping that can still be "
                       "refunded.")
        if shipping and shipping.get("full") and maximum <= 0:
            raise fail("shipping", "There is no shipping left to refund on this order.")
        if not shipping and amount <= 0:
            return None
        return {"amount": _cash(amount, currency),
                "tax": money_of(block.get("taxSet")) or _cash(ZERO, currency),
                "maximum": _cash(maximum, currency)}


def _line_inputs(order: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`RefundLineItemInput`s: NO_RESTOCK, or CANCEL for unshipped then RETURN for shipped."""
    lines = {str(li.get("id")): li for li in order.get("line_items") or []}
    out: list[dict[str, Any]] = []
    for item in body.get("line_items") or []:
        line_gid = f"gid://shopify/LineItem/{item['line_item_id']}"
        quantity = item["quantity"]
        if not item["restock"]:
            out.append({"lineItemId": line_gid, "quantity": quantity,
                        "restockType": "NO_RESTOCK"})
            continue
        line = lines.get(item["line_item_id"]) or {}
        unshipped = int(line.get("unfulfilled_quantity") or 0)
        cancel = min(quantity, unshipped)
        if cancel:
            out.append({"lineItemId": line_gid, "quantity": cancel, "restockType": "CANCEL"})
        if quantity - cancel:
            out.append({"lineItemId": line_gid, "quantity": quantity - cancel,
                        "restockType": "RETURN"})
    return out


def _allocate(amount: Decimal, transactions: list[Mapping[str, Any]]
              ) -> list[tuple[Mapping[str, Any], Decimal]]:
    """Split a manual amount over the refundable payments in Shopify's order, each capped at
    its maximum.

    :raises ValidationError: the payments cannot take that much.
    """
    left, out = amount, []
    for txn in transactions:
        if left <= 0:
            break
        room = _bag(txn.get("maximumRefundableSet"), "presentmentMoney")
        take = min(left, room)
        if take > 0:
            out.append((txn, take))
            left -= take
    if left > 0:
        raise fail("amount", f"The payments on this order can take back at most "
                             f"{amount - left}; {amount} is too much.")
    return out


def _plan_key(client, order: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """What a plan depends on: shop, order (and its refunds so far) and the body."""
    return json.dumps([client.shop_domain, order.get("gid") or order.get("id"),
                       order.get("total_refunded"), [r.get("id") for r in
                                                     order.get("refunds") or []],
                       body], sort_keys=True, default=str)


def _key_mismatch(exc: ShopifyError) -> bool:
    """Whether Shopify refused a reused @idempotent key with different input."""
    for error in exc.errors or []:
        if isinstance(error, Mapping) and (
                error.get("code") in KEY_MISMATCH_CODES
                or "same idempotency key" in str(error.get("message") or "").lower()):
            return True
    return False


def _key_busy(exc: ShopifyError) -> bool:
    """Whether Shopify is still processing an earlier request with the same @idempotent key."""
    return any(isinstance(error, Mapping) and error.get("code") == KEY_BUSY_CODE
               for error in exc.errors or [])


def _title(line: Mapping[str, Any]) -> str:
    """`Mug - Blue` (title and variant)."""
    title = line.get("title") or "item"
    variant = line.get("variant_title")
    return f"{title} - {variant}" if variant else str(title)


def _what(order: Mapping[str, Any], body: Mapping[str, Any],
          details: Mapping[str, Any]) -> str:
    """`2 × Blue Tee, shipping` for the summary."""
    parts: list[str] = []
    if body.get("full"):
        parts.append("full refund")
    titles = {str(li.get("id")): _title(li) for li in order.get("line_items") or []}
    chosen = details.get("line_items") if details.get("line_items") is not None \
        else body.get("line_items") or []
    quantities: dict[str, int] = {}
    for item in chosen:
        quantities[item["line_item_id"]] = quantities.get(item["line_item_id"], 0) \
            + int(item["quantity"])
    for line_id, quantity in quantities.items():
        parts.append(f"{quantity} × {titles.get(line_id) or 'line item ' + line_id}")
    if body.get("shipping") or (body.get("full") and details.get("shipping")):
        parts.append("shipping")
    if body.get("amount") is not None and (body.get("line_items") or body.get("shipping")):
        parts.append("amount set by hand")
    return ", ".join(parts)


def _one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and cut long text for a one-line note."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


__all__ = ["RefundAction", "RefundPlan", "refund_ceiling", "shopify_idempotency_key"]
