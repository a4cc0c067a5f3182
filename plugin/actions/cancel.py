"""The `cancel` action: Shopify's `orderCancel`, then wait for its job and re-read the order.

Defaults: `refund` is true for orders with money paid (paid, partially paid, partially
refunded) and false otherwise; an explicit `refund: true` on an order with nothing paid is a
400 (Shopify would release an authorization anyway, and there is nothing to give back).
`restock` defaults to true (nothing has shipped, so the units are still in stock, as in
Shopify's admin); `notify` defaults to false (the API's default).

Cancelling is asynchronous. `perform` polls the job for up to `poll_timeout` seconds (through
the injectable `sleep`/`clock`); if it is still running, the result says
`details["job_pending"] = True` with `details["job_id"]`, and `resume(client, details)` polls
again later (a worker job) and reports the outcome once Shopify has finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from plugin.actions import register
from plugin.actions.base import (
    Action,
    ActionResult,
    Availability,
    agent_label,
    money_text,
    order_label,
)
from plugin.actions.refund import refund_ceiling
from plugin.actions.validation import (
    fail,
    optional_boolean,
    optional_string,
    require_object,
    string,
)
from plugin.card_data.present import order_detail_vm
from plugin.exceptions import (
    ActionUnavailableError,
    NotFoundError,
    ShopifyError,
    ShopifyUserError,
)

log = logging.getLogger("sidecard.actions")

REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER")
FIELDS = ("reason", "refund", "restock", "notify", "staff_note")
STAFF_NOTE_MAX_LENGTH = 255  # Shopify's limit on orderCancel(staffNote:)
PAID = frozenset({"paid", "partially_paid", "partially_refunded"})
ACTIVE_RETURNS = frozenset({"return_requested", "in_progress", "inspection_complete"})
SHIPPED = frozenset({"fulfilled", "partially_fulfilled"})
ZERO = Decimal("0")


def has_money_paid(order: Mapping[str, Any]) -> bool:
    """Whether the order holds money a cancel could give back."""
    return (order.get("status") or {}).get("payment") in PAID


def unavailable_reason(order: Mapping[str, Any]) -> str | None:
    """Why Shopify would refuse to cancel this order, or None."""
    status = order.get("status") or {}
    if status.get("order") == "cancelled" or order.get("cancelled_at"):
        return "The order is already cancelled."
    if status.get("fulfillment") in SHIPPED or any(
            f.get("status") == "success" for f in order.get("fulfillments") or []) or any(
            (li.get("fulfilled_quantity") or 0) > 0 for li in order.get("line_items") or []):
        return "Items have shipped, so refund them instead."
    if status.get("return") in ACTIVE_RETURNS:
        return "The order has an open return; close it before cancelling."
    return None


def _refunded(order: Mapping[str, Any] | None) -> Decimal:
    money = (order or {}).get("total_refunded")
    return Decimal(money["amount"]) if money else ZERO


@register
class CancelAction(Action):
    """Cancel an order that has not shipped, refunding and restocking as asked."""

    name = "cancel"
    label = "Cancel order"
    order = 20
    # A cancel of a paid order refunds it: that money counts against the agent's limit.
    monetary = True
    scopes = frozenset({"read_orders", "write_orders"})

    # Waiting for Shopify's cancel job: about `poll_timeout` seconds in all.
    poll_timeout: ClassVar[float] = 10.0
    poll_intervals: ClassVar[tuple[float, ...]] = (0.2, 0.3, 0.5, 1.0)
    max_polls: ClassVar[int] = 30

    def __init__(self, *, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic

    # --- input -------------------------------------------------------------------------

    def validate(self, body: Any) -> dict[str, Any]:
        """reason (Shopify's enum, required), refund/restock/notify booleans, staff_note.

        :raises ValidationError: unknown keys, a missing or unknown reason, non-booleans,
            a staff note over 255 characters.
        """
        data = require_object(body, allowed=FIELDS, required=("reason",))
        reason = string(data["reason"], "reason", max_length=20).upper()
        if reason not in REASONS:
            raise fail("reason", f"reason must be one of {', '.join(REASONS)}.")
        return {
            "reason": reason,
            "refund": optional_boolean(data, "refund", None),
            "restock": optional_boolean(data, "restock", True),
            "notify": optional_boolean(data, "notify", False),
            "staff_note": optional_string(data, "staff_note",
                                          max_length=STAFF_NOTE_MAX_LENGTH, multiline=True),
        }

    @staticmethod
    def refunds(order: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
        """Whether this cancel refunds: as asked, else when money was paid."""
        return has_money_paid(order) if body.get("refund") is None else bool(body["refund"])

    # --- order state -------------------------------------------------------------------

    def availability(self, order: Mapping[str, Any]) -> Availability:
        """Not cancelled, nothing shipped, no open return."""
        reason = unavailable_reason(order)
        return Availability(reason is None, reason)

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """The order can still be cancelled; a refund is asked only of a paid order.

        :raises ActionUnavailableError: cancelled, shipped or being returned (409).
        :raises ValidationError: `refund: true` with nothing paid (400).
        """
        reason = unavailable_reason(order)
        if reason:
            raise ActionUnavailableError(reason, reason=reason)
        if body.get("refund") is True and not has_money_paid(order):
            raise fail("refund", "Nothing has been paid on this order, so there is nothing to "
                                 "refund: send refund: false (an authorization is released "
                                 "when the order is cancelled).")

    def amount(self, order: Mapping[str, Any], body: Mapping[str, Any],
               preview: Mapping[str, Any] | None = None) -> Decimal | None:
        """The money the cancel refunds (zero without a refund)."""
        if not self.refunds(order, body):
            return ZERO
        if preview and preview.get("refund_amount"):
            return Decimal(preview["refund_amount"]["amount"])
        return refund_ceiling(order) or ZERO

    # --- Shopify -----------------------------------------------------------------------

    def preview(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """What the cancel does: refund amount and gateways (Shopify's full-refund
        suggestion), restock, notify, the items that will not ship."""
        refund = self.refunds(order, body)
        currency = order.get("currency") or ""
        amount, gateways = ZERO, []
        if refund:
            data = client.execute("SuggestedRefund", {
                "id": _gid(order), "suggestFullRefund": True,
                "refundMethodAllocation": "ORIGINAL_PAYMENT_METHODS"}).data
            suggestion = (data.get("order") or {}).get("suggestedRefund") or {}
            shop_money = (suggestion.get("amountSet") or {}).get("shopMoney") or {}
            amount = Decimal(str(shop_money.get("amount") or "0"))
            currency = shop_money.get("currencyCode") or currency
            gateways = list(dict.fromkeys(t.get("gateway") for t in
                                          suggestion.get("suggestedTransactions") or []
                                          if t.get("gateway")))
        return {
            "reason": body["reason"],
            "refund": refund,
            "refund_amount": {"amount": str(amount.quantize(Decimal("0.01"))),
                              "currency": currency},
            "gateways": gateways,
            "restock": bool(body.get("restock")),
            "notify": bool(body.get("notify")),
            "staff_note": body.get("staff_note"),
            "releases_authorization": (order.get("status") or {}).get("payment")
            == "authorized",
            "line_items": [{"line_item_id": li.get("id"), "title": li.get("title"),
                            "quantity": li.get("current_quantity", li.get("quantity"))}
                           for li in order.get("line_items") or []
                           if li.get("current_quantity", li.get("quantity"))],
        }

    def perform(self, client, order: Mapping[str, Any], body: Mapping[str, Any], *,
                idempotency_key: str) -> ActionResult:
        """orderCancel, wait for its job (bounded), re-read the order.

        Shopify has no idempotency key for orderCancel; a second cancel of the same order
        is refused by Shopify (already cancelled) or joins the running job.

        :raises ShopifyUserError: Shopify refused (422, `orderCancelUserErrors` as given),
            or its job finished without cancelling the order.
        """
        refund = self.refunds(order, body)
        variables: dict[str, Any] = {
            "orderId": _gid(order),
            "reason": body["reason"],
            "restock": bool(body.get("restock")),
            "notifyCustomer": bool(body.get("notify")),
            "refundMethod": {"originalPaymentMethodsRefund": refund},
        }
        if body.get("staff_note"):
            variables["staffNote"] = body["staff_note"]
        result = client.execute_mutation("OrderCancel", variables)
        job = (result.data.get("orderCancel") or {}).get("job") or {}
        if not job.get("id"):
            raise ShopifyError("Shopify started no cancel job", request_id=result.request_id)
        details = {
            "job_id": job["id"],
            "job_pending": True,
            "order_gid": _gid(order),
            "reason": body["reason"],
            "refund": refund,
            "restock": bool(body.get("restock")),
            "notify": bool(body.get("notify")),
            "staff_note": body.get("staff_note"),
            "refunded_before": str(_refunded(order)),
            "cancel_request_id": result.request_id,
        }
        done = bool(job.get("done")) or self.wait_for_job(client, job["id"])
        if not done:
            log.info("cancel job pending shop=%s order=%s job=%s", client.shop_domain,
                     order.get("id"), job["id"])
            return ActionResult(order=None, details=details,
                                shopify_request_id=result.request_id)
        return self._outcome(client, details)

    def wait_for_job(self, client, job_id: str, timeout: float | None = None) -> bool:
        """Poll `job(id) { done }` with short sleeps for up to `timeout` seconds; True when
        done. A failed poll (Shopify down for a moment) is not the job failing: keep going."""
        deadline = self.clock() + (self.poll_timeout if timeout is None else timeout)
        for attempt in range(self.max_polls):
            now = self.clock()
            if now >= deadline:
                return False
            step = self.poll_intervals[min(attempt, len(self.poll_intervals) - 1)]
            self.sleep(min(step, deadline - now))
            try:
                job = client.execute("JobPoll", {"id": job_id}).data.get("job") or {}
            except ShopifyError as exc:
                log.warning("cancel job poll failed shop=%s job=%s error=%s",
                            client.shop_domain, job_id, type(exc).__name__)
                continue
            if job.get("done"):
                return True
        return False

    def resume(self, client, details: Mapping[str, Any]) -> ActionResult:
        """Poll a pending cancel job once more (for a worker); the outcome once done, else the
        same details with `job_pending` still true.

        :raises ShopifyUserError: the job finished without cancelling the order.
        """
        details = dict(details)
        try:
            job = client.execute("JobPoll", {"id": details["job_id"]}).data.get("job") or {}
        except ShopifyError:
            job = {}
        if not job.get("done"):
            return ActionResult(order=None, details=details,
                                shopify_request_id=details.get("cancel_request_id"))
        return self._outcome(client, details)

    def _outcome(self, client, details: dict[str, Any]) -> ActionResult:
        """Re-read the order after the job: cancelled, and how much was refunded."""
        result = client.execute("OrderDetail", {"id": details["order_gid"]})
        node = result.data.get("order")
        if not node:
            raise NotFoundError("The order is gone.", reason="unknown_order")
        after = order_detail_vm(node, client.shop_domain)
        if (after.get("status") or {}).get("order") != "cancelled":
            message = ("Shopify finished the cancel job but did not cancel the order (it may "
                       "have shipped or changed meanwhile).")
            raise ShopifyUserError(message, errors=[{"field": None, "message": message}],
                                   request_id=details.get("cancel_request_id"))
        refunded = max(ZERO, _refunded(after) - Decimal(details.get("refunded_before") or "0"))
        details.update(job_pending=False, cancelled=True,
                       refunded={"amount": str(refunded.quantize(Decimal("0.01"))),
                                 "currency": after.get("currency")})
        return ActionResult(order=after, details=details,
                            shopify_request_id=details.get("cancel_request_id"))

    def summary(self, order: Mapping[str, Any], body: Mapping[str, Any],
                result: ActionResult | None, agent: Mapping[str, Any]) -> str:
        """`Dana (dana@x.com) cancelled order #1004 (reason: customer), refunded $25.00 USD,
        restocked the items`."""
        who, what = agent_label(agent), order_label(order)
        reason = body["reason"].lower()
        if result is None:
            refund = " with a refund" if self.refunds(order, body) else ""
            text = f"{who} asked to cancel {what} (reason: {reason}){refund}"
        elif result.details.get("job_pending"):
            text = (f"{who} cancelled {what} (reason: {reason}); Shopify is still processing "
                    "the cancellation")
        else:
            parts = [f"{who} cancelled {what} (reason: {reason})"]
            refunded = result.details.get("refunded") or {}
            if refunded and Decimal(refunded.get("amount") or "0") > 0:
                parts.append(f"refunded {money_text(refunded['amount'], refunded['currency'])}")
            elif not result.details.get("refund"):
                parts.append("no refund")
            parts.append("restocked the items" if body.get("restock") else "no restock")
            if body.get("notify"):
                parts.append("customer notified")
            text = ", ".join(parts)
        if body.get("staff_note"):
            text += f" — note: {' '.join(body['staff_note'].split())}"
        return text


def _gid(order: Mapping[str, Any]) -> str:
    return order.get("gid") or f"gid://shopify/Order/{order['id']}"
