"""The `update_shipping_address` action: `orderUpdate(shippingAddress:)` before anything ships.

The body is the whole new address (Shopify overwrites the old one; fields left out are
cleared). Checked here: address1, city and country_code are required; the country is an
ISO 3166-1 alpha-2 code Shopify knows; a province code is required for countries whose
addresses need one (validation.PROVINCES: checked against the list for US, CA and AU); a
postal code is required (and format-checked for a few) where the country uses one
(validation.ZIP_FORMATS); every field is at most 255 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.actions import register
from plugin.actions.base import Action, ActionResult, Availability, agent_label, order_label
from plugin.actions.validation import (
    country_code,
    optional_string,
    phone,
    postal_code,
    province_code,
    require_object,
    string,
)
from plugin.exceptions import ActionUnavailableError

FIELD_MAX_LENGTH = 255
TEXT_FIELDS = ("first_name", "last_name", "company", "address1", "address2", "city")
FIELDS = (*TEXT_FIELDS, "province_code", "zip", "country_code", "phone")
# Sidecard's snake_case → Shopify's MailingAddressInput.
CAMEL = {"first_name": "firstName", "last_name": "lastName", "company": "company",
         "address1": "address1", "address2": "address2", "city": "city",
         "province_code": "provinceCode", "zip": "zip", "country_code": "countryCode",
         "phone": "phone"}


def unavailable_reason(order: Mapping[str, Any]) -> str | None:
    """Why the shipping address can no longer change, or None."""
    status = order.get("status") or {}
    if status.get("order") == "cancelled":
        return "The order is cancelled."
    if status.get("fulfillment") in ("fulfilled", "partially_fulfilled") or any(
            f.get("status") == "success" for f in order.get("fulfillments") or []) or any(
            (li.get("fulfilled_quantity") or 0) > 0 for li in order.get("line_items") or []):
        return "Items have shipped already; the address can only change before fulfillment."
    items = order.get("line_items") or []
    if items and not any(li.get("requires_shipping") for li in items):
        return "Nothing on this order is shipped."
    return None


def address_line(address: Mapping[str, Any] | None) -> str:
    """`1 Main St, Springfield IL 62701, US` for notes and previews."""
    if not address:
        return "(none)"
    area = " ".join(p for p in (address.get("city"), address.get("province_code"),
                                address.get("zip")) if p)
    parts = [address.get("address1"), address.get("address2"), area,
             address.get("country_code")]
    return ", ".join(str(p) for p in parts if p)


@register
class UpdateShippingAddressAction(Action):
    """Replace the order's shipping address while nothing has shipped."""

    name = "update_shipping_address"
    label = "Change shipping address"
    order = 30
    scopes = frozenset({"read_orders", "write_orders"})

    def validate(self, body: Any) -> dict[str, Any]:
        """`{"address": {...}}` with the contract's ten fields, checked per country.

        :raises ValidationError: unknown or ill-typed fields, missing address1/city/country,
            unknown country, a missing or unknown province, a missing or malformed zip.
        """
        data = require_object(body, allowed=("address",), required=("address",))
        raw = require_object(data["address"], field="address", allowed=FIELDS,
                             required=("address1", "city", "country_code"))
        address: dict[str, Any] = {}
        for key in TEXT_FIELDS:
            address[key] = optional_string(raw, key, max_length=FIELD_MAX_LENGTH,
                                           parent="address")
        for key in ("address1", "city"):
            address[key] = string(raw[key], f"address.{key}", max_length=FIELD_MAX_LENGTH)
        country = country_code(raw["country_code"], "address.country_code")
        address["country_code"] = country
        address["province_code"] = province_code(country, raw.get("province_code"),
                                                 "address.province_code")
        address["zip"] = postal_code(country, raw.get("zip"), "address.zip")
        address["phone"] = phone(raw.get("phone"), "address.phone")
        return {"address": {key: address[key] for key in FIELDS}}

    def availability(self, order: Mapping[str, Any]) -> Availability:
        """Only before fulfillment, on an open order with something to ship."""
        reason = unavailable_reason(order)
        return Availability(reason is None, reason)

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """The order still allows it.

        :raises ActionUnavailableError: cancelled, shipped or nothing to ship (409).
        """
        reason = unavailable_reason(order)
        if reason:
            raise ActionUnavailableError(reason, reason=reason)

    def preview(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """The old and the new address, and which fields change."""
        old = order.get("shipping_address") or {}
        new = body["address"]
        changed = [key for key in FIELDS if (old.get(key) or None) != (new.get(key) or None)]
        return {"old": {key: old.get(key) for key in FIELDS} if old else None,
                "new": dict(new), "changed": changed,
                "old_line": address_line(old or None), "new_line": address_line(new)}

    def perform(self, client, order: Mapping[str, Any], body: Mapping[str, Any], *,
                idempotency_key: str) -> ActionResult:
        """orderUpdate with the new shippingAddress (repeating it changes nothing more).

        :raises ShopifyUserError: Shopify refused (422).
        """
        # Every field, nulls included: the new address replaces the old one as a whole.
        mailing = {CAMEL[key]: body["address"].get(key) for key in FIELDS}
        result = client.execute_mutation("OrderUpdate", {"input": {
            "id": order.get("gid") or f"gid://shopify/Order/{order['id']}",
            "shippingAddress": mailing}})
        saved = ((result.data.get("orderUpdate") or {}).get("order") or {}).get(
            "shippingAddress") or {}
        return ActionResult(order=None, details={
            "old": address_line(order.get("shipping_address")),
            "new": address_line(body["address"]),
            "country_code": saved.get("countryCodeV2") or body["address"]["country_code"],
        }, shopify_request_id=result.request_id)

    def summary(self, order: Mapping[str, Any], body: Mapping[str, Any],
                result: ActionResult | None, agent: Mapping[str, Any]) -> str:
        """`Dana (dana@x.com) changed the shipping address of order #1004 to 1 Main St, ...`."""
        verb = "changed" if result is not None else "asked to change"
        return (f"{agent_label(agent)} {verb} the shipping address of {order_label(order)} "
                f"to {address_line(body['address'])}")
