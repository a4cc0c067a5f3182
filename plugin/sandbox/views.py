"""GraphQL projections of the store's records: objects whose attributes are schema field names.

graphql-core's resolver (see `executor.field_resolver`) reads these attributes, calling methods
with `(info, **arguments)` for fields that take arguments (`lineItems(first:)`). Fields a view
does not model fall back to zero values of their type (recorded in `store.unmodelled_fields`).
Attribute, method and argument names are the schema's (camelCase) on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError

from plugin.sandbox.models import (
    ZERO,
    Address,
    Customer,
    Fulfillment,
    LineItem,
    Order,
    Refund,
    RefundLine,
    Return,
    ShippingLine,
    Shop,
    Transaction,
    gid,
    money_str,
    q2,
)
from plugin.sandbox.operations import Suggestion
from plugin.sandbox.store import SandboxStore

MAX_PAGE = 250

COUNTRIES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany",
             "FR": "France", "AU": "Australia", "NL": "Netherlands", "IE": "Ireland",
             "MX": "Mexico", "JP": "Japan"}
PROVINCES = {"NY": "New York", "CA": "California", "TX": "Texas", "WA": "Washington",
             "IL": "Illinois", "MA": "Massachusetts", "OR": "Oregon", "CO": "Colorado",
             "FL": "Florida", "ON": "Ontario", "QC": "Quebec", "BC": "British Columbia",
             "AB": "Alberta", "NSW": "New South Wales"}
GATEWAY_NAMES = {"shopify_payments": "Shopify Payments", "manual": "Manual",
                 "paypal": "PayPal Express Checkout", "shopify_store_credit": "Store credit",
                 "gift_card": "Gift card", "bogus": "Bogus"}


@dataclass
class Context:
    """Per-request state handed to every resolver as `info.context`."""

    store: SandboxStore
    shop: Shop
    search_warnings: list[str] = field(default_factory=list)


def iso(value: datetime | None) -> str | None:
    """Shopify's DateTime form: `2026-10-02T14:03:11Z`."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def money_v2(amount: Decimal, currency: str) -> dict[str, str]:
    """A MoneyV2."""
    return {"amount": money_str(amount), "currencyCode": currency}


def bag(order: Order, amount: Decimal) -> dict[str, dict[str, str]]:
    """A MoneyBag: presentment amount plus its shop-currency conversion."""
    return {"shopMoney": money_v2(q2(amount * order.rate), order.currency),
            "presentmentMoney": money_v2(amount, order.presentment_currency)}


# -- connections ----------------------------------------------------------------------------
def _cursor(item_id: int, sort_value: Any) -> str:
    raw = json.dumps({"last_id": item_id, "last_value": str(sort_value)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def _cursor_id(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(json.loads(base64.b64decode(cursor.encode()))["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.",
                           extensions={"code": "BAD_REQUEST"}) from exc


def connection(items: Sequence[Any], *, first: int | None = None, after: str | None = None,
               last: int | None = None, before: str | None = None, reverse: bool | None = False,
               key: Callable[[Any], int] = lambda item: item.id,
               sort_value: Callable[[Any], Any] | None = None,
               wrap: Callable[[Any], Any] = lambda item: item) -> dict[str, Any]:
    """A Relay connection over already-sorted `items`, paginated like Shopify.

    :raises GraphQLError: neither `first` nor `last`, or a page above 250.
    """
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last",
                           extensions={"code": "BAD_REQUEST"})
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise GraphQLError(f"The value of '{name}' must be between 0 and {MAX_PAGE}",
                               extensions={"code": "BAD_REQUEST"})
    ordered = list(reversed(items)) if reverse else list(items)
    ids = [key(item) for item in ordered]
    start, end = 0, len(ordered)
    after_id, before_id = _cursor_id(after), _cursor_id(before)
    if after_id is not None and after_id in ids:
        start = ids.index(after_id) + 1
    if before_id is not None and before_id in ids:
        end = ids.index(before_id)
    window = ordered[start:end]
    has_next = has_prev = False
    if first is not None and len(window) > first:
        window, has_next = window[:first], True
    if last is not None and len(window) > last:
        window, has_prev = window[len(window) - last:], True
    has_prev = has_prev or start > 0
    has_next = has_next or end < len(ordered)
    value_of = sort_value or key
    edges = [{"cursor": _cursor(key(item), value_of(item)), "node": wrap(item)} for item in window]
    return {"edges": edges, "nodes": [e["node"] for e in edges],
            "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_prev,
                         "startCursor": edges[0]["cursor"] if edges else None,
                         "endCursor": edges[-1]["cursor"] if edges else None}}


def paged(items: Iterable[Any], wrap: Callable[[Any], Any], **args: Any) -> dict[str, Any]:
    """`connection` with only the pagination arguments Shopify's connections share."""
    allowed = {k: v for k, v in args.items() if k in {"first", "after", "last", "before",
                                                       "reverse"}}
    return connection(list(items), wrap=wrap, **allowed)


def limited(items: list[Any], first: int | None) -> list[Any]:
    """A plain list field with an optional `first`."""
    return items if first is None else items[:first]


# -- shop -----------------------------------------------------------------------------------
class ShopView:
    """`Shop`."""

    typename = "Shop"

    def __init__(self, ctx: Context, shop: Shop) -> None:
        self._shop = shop
        handle = shop.domain.split(".")[0]
        self.id = gid("Shop", shop.id)
        self.name = shop.name
        self.myshopifyDomain = shop.domain
        self.currencyCode = shop.currency
        self.enabledPresentmentCurrencies = sorted(
            {shop.currency} | {o.presentment_currency for o in ctx.store.shop_orders(shop.domain)})
        self.ianaTimezone = shop.timezone
        self.timezoneAbbreviation = "EST" if "New_York" in shop.timezone else "ET"
        self.timezoneOffset = "-0500"
        self.timezoneOffsetMinutes = -300
        self.email = self.contactEmail = shop.email
        self.url = f"https://{handle}.example"
        self.primaryDomain = {"id": gid("Domain", shop.id), "host": f"{handle}.example",
                              "url": self.url, "sslEnabled": True}
        self.plan = {"publicDisplayName": shop.plan, "partnerDevelopment": False,
                     "shopifyPlus": shop.plan == "Shopify Plus"}
        self.createdAt = iso(shop.created_at)
        self.updatedAt = iso(shop.created_at)
        self.orderNumberFormatPrefix = "#"
        self.orderNumberFormatSuffix = ""
        self.shopOwnerName = "Demo Owner"
        self.taxesIncluded = False
        self.taxShipping = False
        self.weightUnit = "KILOGRAMS"
        self.unitSystem = "METRIC_SYSTEM"
        self.currencyFormats = {"moneyFormat": "${{amount}}",
                                "moneyWithCurrencyFormat": f"${{{{amount}}}} {shop.currency}",
                                "moneyInEmailsFormat": "${{amount}}",
                                "moneyWithCurrencyInEmailsFormat":
                                    f"${{{{amount}}}} {shop.currency}"}
        self.shipsToCountries = [shop.country_code]
        self.shopAddress = {"id": gid("ShopAddress", shop.id), "company": shop.name,
                            "countryCodeV2": shop.country_code,
                            "country": COUNTRIES.get(shop.country_code, shop.country_code),
                            "coordinatesValidated": False, "address1": None, "city": None,
                            "formatted": lambda info, **kw: [
                                shop.name, COUNTRIES.get(shop.country_code, shop.country_code)]}


# -- addresses, customers -------------------------------------------------------------------
class AddressView:
    """`MailingAddress`."""

    typename = "MailingAddress"

    def __init__(self, address: Address) -> None:
        a = address
        self.id = gid("MailingAddress", a.id) + "?model_name=CustomerAddress"
        self.firstName, self.lastName, self.company = a.first_name, a.last_name, a.company
        self.address1, self.address2, self.city, self.zip = a.address1, a.address2, a.city, a.zip
        self.phone = a.phone
        self.provinceCode = a.province_code
        self.province = PROVINCES.get(a.province_code or "", a.province_code)
        self.countryCodeV2 = a.country_code
        self.country = COUNTRIES.get(a.country_code or "", a.country_code)
        self.name = " ".join(p for p in (a.first_name, a.last_name) if p) or None
        self.coordinatesValidated = False
        self.latitude = self.longitude = None
        self.formattedArea = ", ".join(p for p in (
            " ".join(p for p in (a.city, a.province_code) if p), self.country) if p) or None

    def formatted(self, info: Any, withName: bool = False,
                  withCompany: bool = True) -> list[str]:
        """Address lines as the admin prints them."""
        lines = []
        if withName and self.name:
            lines.append(self.name)
        if withCompany and self.company:
            lines.append(self.company)
        lines += [p for p in (self.address1, self.address2) if p]
        area = " ".join(p for p in (self.city, self.provinceCode, self.zip) if p)
        lines += [p for p in (area, self.country) if p]
        return lines


def address_view(address: Address | None) -> AddressView | None:
    """An AddressView or None."""
    return AddressView(address) if address else None


class CustomerView:
    """`Customer`."""

    typename = "Customer"

    def __init__(self, ctx: Context, customer: Customer) -> None:
        self._ctx, self._c = ctx, customer
        c = customer
        self.id = gid("Customer", c.id)
        self.legacyResourceId = str(c.id)
        self.firstName, self.lastName = c.first_name, c.last_name
        self.displayName = c.display_name
        self.note = c.note
        self.tags = sorted(c.tags, key=str.lower)
        self.createdAt, self.updatedAt = iso(c.created_at), iso(c.updated_at)
        self.state = c.state
        self.verifiedEmail = c.verified_email
        self.locale = c.locale
        self.taxExempt = False
        self.taxExemptions: list[str] = []
        self.dataSaleOptOut = False
        self.multipassIdentifier = None
        self.defaultEmailAddress = None if not c.email else {
            "emailAddress": c.email, "validFormat": "@" in c.email,
            "marketingState": "SUBSCRIBED" if c.accepts_marketing else "NOT_SUBSCRIBED",
            "marketingOptInLevel": "SINGLE_OPT_IN" if c.accepts_marketing else None,
            "marketingUpdatedAt": None, "openTrackingLevel": "UNKNOWN"}
        self.defaultPhoneNumber = None if not c.phone else {
            "phoneNumber": c.phone,
            "smsMarketingConsent": {"state": "NEVER_SUBSCRIBED",
                                    "optInLevel": None, "updatedAt": None,
                                    "collectedFrom": None}}
        self.defaultAddress = address_view(c.addresses[0] if c.addresses else None)

    def _orders(self) -> list[Order]:
        return self._ctx.store.customer_orders(self._c)

    @property
    def numberOfOrders(self) -> str:
        """UnsignedInt64 travels as a string."""
        return str(len(self._orders()))

    @property
    def amountSpent(self) -> dict[str, str]:
        """Net payments of the customer's orders, in shop currency."""
        total = sum((q2(o.net_payment * o.rate) for o in self._orders()), ZERO)
        return money_v2(total, self._ctx.shop.currency)

    @property
    def canDelete(self) -> bool:
        """Customers with orders cannot be deleted."""
        return not self._orders()

    @property
    def lastOrder(self) -> OrderView | None:
        """The most recent order."""
        orders = self._orders()
        return OrderView(self._ctx, orders[-1]) if orders else None

    @property
    def lifetimeDuration(self) -> str:
        """Human duration since the customer was created."""
        days = (self._ctx.store.now() - self._c.created_at).days
        return f"about {days // 365} years" if days >= 730 else (
            "about 1 year" if days >= 365 else f"{max(days // 30, 1)} months")

    def addressesV2(self, info: Any, **args: Any) -> dict[str, Any]:
        """The customer's addresses."""
        return paged(self._c.addresses, AddressView, **args)

    def orders(self, info: Any, query: str | None = None, sortKey: str | None = None,
               **args: Any) -> dict[str, Any]:
        """The customer's orders, filtered and sorted like `QueryRoot.orders`."""
        from plugin.sandbox.roots import order_connection

        return order_connection(self._ctx, self._orders(), query=query, sortKey=sortKey, **args)

    def storeCreditAccounts(self, info: Any, **args: Any) -> dict[str, Any]:
        """No store credit accounts are modelled."""
        return paged([], lambda x: x, **args)


# -- orders ---------------------------------------------------------------------------------
class VariantView:
    """`ProductVariant` of a line item."""

    typename = "ProductVariant"

    def __init__(self, ctx: Context, li: LineItem) -> None:
        self._ctx, self._li = ctx, li
        self.id = gid("ProductVariant", li.variant_id or 0)
        self.legacyResourceId = str(li.variant_id or 0)
        self.title = li.variant_title or "Default Title"
        self.displayName = f"{li.title} - {self.title}"
        self.sku = li.sku
        self.price = money_str(li.price)
        self.compareAtPrice = None
        self.barcode = None
        self.inventoryQuantity = 12
        self.availableForSale = True
        self.taxable = li.taxable
        self.position = 1
        self.selectedOptions = ([{"name": "Variant", "value": li.variant_title}]
                                if li.variant_title else [])
        self.image = None

    @property
    def product(self) -> ProductView:
        """The variant's product."""
        return ProductView(self._ctx, self._li)


class ProductView:
    """`Product` of a line item."""

    typename = "Product"

    def __init__(self, ctx: Context, li: LineItem) -> None:
        self._ctx, self._li = ctx, li
        self.id = gid("Product", li.product_id or 0)
        self.legacyResourceId = str(li.product_id or 0)
        self.title = li.title
        self.handle = "-".join(li.title.lower().split())
        self.vendor = li.vendor or ""
        self.productType = ""
        self.status = "ACTIVE"
        self.tags: list[str] = []
        self.totalInventory = 12
        self.isGiftCard = False
        self.hasOnlyDefaultVariant = not li.variant_title
        self.onlineStoreUrl = None
        self.featuredMedia = None

    def description(self, info: Any, truncateAt: int | None = None) -> str:
        """No descriptions are modelled."""
        return ""

    def variants(self, info: Any, **args: Any) -> dict[str, Any]:
        """The line item's variant."""
        return paged([self._li], lambda li: VariantView(self._ctx, li), **args)


def _discount_application(order: Order, index: int = 0) -> dict[str, Any]:
    code = order.discount_codes[0] if order.discount_codes else "DISCOUNT"
    return {"__typename": "DiscountCodeApplication", "code": code, "index": index,
            "allocationMethod": "ACROSS", "targetSelection": "ALL", "targetType": "LINE_ITEM",
            "value": {"__typename": "MoneyV2",
                      **money_v2(sum((li.discount for li in order.lines), ZERO),
                                 order.presentment_currency)}}


class LineItemView:
    """`LineItem`, with quantities derived from fulfillments and refunds."""

    typename = "LineItem"

    def __init__(self, ctx: Context, order: Order, li: LineItem) -> None:
        self._ctx, self._o, self._li = ctx, order, li
        o = order
        self.id = gid("LineItem", li.id)
        self.title = li.title
        self.name = f"{li.title} - {li.variant_title}" if li.variant_title else li.title
        self.variantTitle = li.variant_title
        self.sku = li.sku
        self.vendor = li.vendor
        self.quantity = li.quantity
        self.currentQuantity = o.current_qty(li)
        self.refundableQuantity = o.refundable_qty(li)
        self.unfulfilledQuantity = o.unfulfilled_qty(li)
        self.nonFulfillableQuantity = li.quantity - o.fulfilled_qty(li) - o.remaining_to_fulfill(
            li)
        self.restockable = o.refundable_qty(li) > 0
        self.requiresShipping = li.requires_shipping
        self.taxable = li.taxable
        self.isGiftCard = False
        self.merchantEditable = not o.cancelled_at and o.unfulfilled_qty(li) > 0
        self.customAttributes: list[dict[str, str]] = []
        self.image = None
        unit = o.unit_discounted(li)
        self.originalUnitPriceSet = bag(o, li.price)
        self.discountedUnitPriceSet = bag(o, q2(unit))
        self.discountedUnitPriceAfterAllDiscountsSet = bag(o, q2(unit))
        self.priceAfterAllDiscountsBeforeTaxesSet = bag(o, q2(unit))
        self.originalTotalSet = bag(o, li.price * li.quantity)
        self.totalDiscountSet = bag(o, li.discount)
        self.unfulfilledOriginalTotalSet = bag(o, li.price * o.unfulfilled_qty(li))
        self.unfulfilledDiscountedTotalSet = bag(o, q2(unit * o.unfulfilled_qty(li)))
        self.discountAllocations = ([{"allocatedAmountSet": bag(o, li.discount),
                                      "discountApplication": _discount_application(o)}]
                                    if li.discount > 0 else [])
        self.duties: list[Any] = []

    def discountedTotalSet(self, info: Any, withCodeDiscounts: bool | None = None
                           ) -> dict[str, Any]:
        """Line total after discounts."""
        return bag(self._o, self._li.total)

    def taxLines(self, info: Any, first: int | None = None) -> list[dict[str, Any]]:
        """The line's tax."""
        li = self._li
        if li.tax <= 0:
            return []
        return limited([tax_line(self._o, li.tax_title, li.tax_rate, li.tax)], first)

    @property
    def variant(self) -> VariantView:
        """The purchased variant."""
        return VariantView(self._ctx, self._li)

    @property
    def product(self) -> ProductView:
        """The purchased product."""
        return ProductView(self._ctx, self._li)


def tax_line(order: Order, title: str, rate: Decimal, amount: Decimal) -> dict[str, Any]:
    """A `TaxLine`."""
    return {"title": title, "rate": float(rate), "ratePercentage": float(rate * 100),
            "priceSet": bag(order, amount), "channelLiable": False, "source": "Shopify"}


class ShippingLineView:
    """`ShippingLine`."""

    typename = "ShippingLine"

    def __init__(self, order: Order, line: ShippingLine) -> None:
        self.id = gid("ShippingLine", line.id)
        self.title = line.title
        self.code = line.code
        self.source = "shopify"
        self.carrierIdentifier = line.carrier
        self.custom = False
        self.isRemoved = False
        self.phone = None
        self.deliveryCategory = "shipping"
        self.originalPriceSet = bag(order, line.price)
        self.discountedPriceSet = bag(order, line.total)
        refunded = order.refunded_shipping if order.shipping_lines[0] is line else ZERO
        self.currentDiscountedPriceSet = bag(order, line.total - refunded)
        self.taxLines = ([tax_line(order, "Shipping tax", line.tax_rate, line.tax)]
                         if line.tax > 0 else [])
        self.discountAllocations: list[Any] = []


class TransactionView:
    """`OrderTransaction`."""

    typename = "OrderTransaction"

    def __init__(self, ctx: Context, order: Order, txn: Transaction) -> None:
        self._ctx, self._o, self._t = ctx, order, txn
        self.id = gid("OrderTransaction", txn.id)
        self.kind = txn.kind
        self.status = txn.status
        self.gateway = txn.gateway
        self.formattedGateway = GATEWAY_NAMES.get(txn.gateway,
                                                  txn.gateway.replace("_", " ").title())
        self.amountSet = bag(order, txn.amount)
        self.createdAt = self.processedAt = iso(txn.created_at)
        self.test = txn.test
        self.errorCode = None
        self.accountNumber = txn.account_number
        self.manualPaymentGateway = txn.gateway == "manual"
        self.manuallyCapturable = False
        self.multiCapturable = False
        self.authorizationExpiresAt = None
        self.fees: list[Any] = []
        self.paymentDetails = None
        self.maximumRefundableV2 = (
            money_v2(order.refundable_on(txn), order.presentment_currency)
            if txn.kind in {"SALE", "CAPTURE"} and txn.status == "SUCCESS" else None)
        self.totalUnsettledSet = (bag(order, txn.amount) if txn.kind == "AUTHORIZATION"
                                  and txn in order.open_authorizations() else None)

    @property
    def parentTransaction(self) -> TransactionView | None:
        """The authorization or sale this transaction settles or refunds."""
        parent = self._o.transaction(self._t.parent_id) if self._t.parent_id else None
        return TransactionView(self._ctx, self._o, parent) if parent else None

    @property
    def order(self) -> OrderView:
        """The transaction's order."""
        return OrderView(self._ctx, self._o)


class FulfillmentView:
    """`Fulfillment` with tracking."""

    typename = "Fulfillment"

    def __init__(self, ctx: Context, order: Order, f: Fulfillment) -> None:
        self._ctx, self._o, self._f = ctx, order, f
        self.id = gid("Fulfillment", f.id)
        self.legacyResourceId = str(f.id)
        self.name = f.name
        self.status = f.status
        self.displayStatus = f.display_status
        self.createdAt, self.updatedAt = iso(f.created_at), iso(f.updated_at)
        self.inTransitAt = iso(f.in_transit_at)
        self.deliveredAt = iso(f.delivered_at)
        self.estimatedDeliveryAt = iso(f.estimated_delivery_at)
        self.requiresShipping = True
        self.totalQuantity = sum(fl.quantity for fl in f.lines)
        self.location = {"id": gid("Location", 1), "name": f.location, "isActive": True}
        self.service = None

    def trackingInfo(self, info: Any, first: int | None = None) -> list[dict[str, Any]]:
        """Carrier, number and URL of each tracking number."""
        return limited([{"company": t.company, "number": t.number, "url": t.url}
                        for t in self._f.tracking], first)

    def fulfillmentLineItems(self, info: Any, **args: Any) -> dict[str, Any]:
        """What shipped."""
        o = self._o

        def wrap(fl: Any) -> dict[str, Any]:
            li = o.line(fl.line_item_id)
            return {"id": gid("FulfillmentLineItem", fl.id), "quantity": fl.quantity,
                    "lineItem": LineItemView(self._ctx, o, li),
                    "originalTotalSet": bag(o, li.price * fl.quantity),
                    "discountedTotalSet": bag(o, q2(o.unit_discounted(li) * fl.quantity))}
        return paged(self._f.lines, wrap, **args)

    @property
    def order(self) -> OrderView:
        """The fulfilled order."""
        return OrderView(self._ctx, self._o)


class FulfillmentOrderView:
    """The order's single `FulfillmentOrder` (what is left to ship, holds, actions)."""

    typename = "FulfillmentOrder"
    ACTIONS = {"OPEN": ["CREATE_FULFILLMENT", "REQUEST_FULFILLMENT", "HOLD", "MOVE", "SPLIT"],
               "IN_PROGRESS": ["CREATE_FULFILLMENT", "HOLD", "MOVE", "SPLIT"],
               "ON_HOLD": ["RELEASE_HOLD"], "SCHEDULED": ["MARK_AS_OPEN"]}

    def __init__(self, ctx: Context, order: Order) -> None:
        self._ctx, self._o = ctx, order
        o = order
        self.id = gid("FulfillmentOrder", o.fulfillment_order_id)
        self.status = o.fulfillment_order_status
        self.requestStatus = "UNSUBMITTED"
        self.createdAt, self.updatedAt = iso(o.created_at), iso(o.updated_at)
        self.orderId = gid("Order", o.id)
        self.orderName = o.name
        self.orderProcessedAt = iso(o.created_at)
        self.fulfillAt = iso(o.created_at)
        self.fulfillBy = None
        self.supportedActions = [{"action": a, "externalUrl": None}
                                 for a in self.ACTIONS.get(self.status, [])]
        self.fulfillmentHolds = ([{
            "id": gid("FulfillmentHold", o.hold_id or 0), "reason": o.hold_reason,
            "reasonNotes": o.hold_notes, "displayReason": o.hold_reason.replace("_", " ").title(),
            "handle": None, "heldByRequestingApp": False, "heldByApp": None}]
            if o.hold_reason and self.status == "ON_HOLD" else [])
        self.assignedLocation = {"name": "Main warehouse", "countryCode": ctx.shop.country_code,
                                 "location": {"id": gid("Location", 1),
                                              "name": "Main warehouse"}}
        self.destination = None

    def lineItems(self, info: Any, **args: Any) -> dict[str, Any]:
        """Each line with its remaining quantity."""
        o = self._o

        def wrap(li: LineItem) -> dict[str, Any]:
            return {"id": gid("FulfillmentOrderLineItem", li.id), "totalQuantity": li.quantity,
                    "remainingQuantity": o.remaining_to_fulfill(li), "sku": li.sku,
                    "productTitle": li.title, "variantTitle": li.variant_title,
                    "vendor": li.vendor, "requiresShipping": li.requires_shipping,
                    "lineItem": LineItemView(self._ctx, o, li), "warnings": [],
                    "financialSummaries": []}
        return paged([li for li in o.lines if li.requires_shipping], wrap, **args)

    def fulfillments(self, info: Any, **args: Any) -> dict[str, Any]:
        """Fulfillments made from this fulfillment order."""
        return paged(self._o.fulfillments, lambda f: FulfillmentView(self._ctx, self._o, f),
                     **args)

    @property
    def order(self) -> OrderView:
        """The order."""
        return OrderView(self._ctx, self._o)


class RefundLineView:
    """`RefundLineItem` (recorded or suggested)."""

    typename = "RefundLineItem"

    def __init__(self, ctx: Context, order: Order, li: LineItem, *, quantity: int,
                 restock_type: str, subtotal: Decimal, tax: Decimal,
                 record: RefundLine | None = None) -> None:
        self.id = gid("RefundLineItem", record.id) if record else None
        self.lineItem = LineItemView(ctx, order, li)
        self.quantity = quantity
        self.restockType = restock_type
        self.restocked = record.restocked if record else False
        self.priceSet = bag(order, q2(order.unit_discounted(li)))
        self.subtotalSet = bag(order, subtotal)
        self.totalTaxSet = bag(order, tax)
        self.location = ({"id": gid("Location", 1), "name": "Main warehouse"}
                         if record and record.restocked else None)


class RefundView:
    """`Refund`."""

    typename = "Refund"

    def __init__(self, ctx: Context, order: Order, refund: Refund) -> None:
        self._ctx, self._o, self._r = ctx, order, refund
        self.id = gid("Refund", refund.id)
        self.legacyResourceId = str(refund.id)
        self.note = refund.note
        self.createdAt = self.processedAt = self.updatedAt = iso(refund.created_at)
        moved = sum((t.amount for t in self._transactions()), ZERO)
        self.totalRefundedSet = bag(order, moved)
        self.duties: list[Any] = []
        self.staffMember = None

    def _transactions(self) -> list[Transaction]:
        return [t for t in (self._o.transaction(i) for i in self._r.transaction_ids) if t]

    def refundLineItems(self, info: Any, **args: Any) -> dict[str, Any]:
        """Refunded lines."""
        o = self._o
        return paged(self._r.lines, lambda rl: RefundLineView(
            self._ctx, o, o.line(rl.line_item_id), quantity=rl.quantity,
            restock_type=rl.restock_type, subtotal=rl.subtotal, tax=rl.tax, record=rl), **args)

    def refundShippingLines(self, info: Any, **args: Any) -> dict[str, Any]:
        """Refunded shipping."""
        o, r = self._o, self._r
        rows = [r] if r.shipping > 0 and o.shipping_lines else []
        return paged(rows, lambda _: {
            "id": gid("RefundShippingLine", r.id), "subtotalAmountSet": bag(o, r.shipping),
            "taxAmountSet": bag(o, r.shipping_tax),
            "shippingLine": ShippingLineView(o, o.shipping_lines[0])}, **args)

    def transactions(self, info: Any, **args: Any) -> dict[str, Any]:
        """Money moved by this refund."""
        return paged(self._transactions(), lambda t: TransactionView(self._ctx, self._o, t),
                     **args)

    def orderAdjustments(self, info: Any, **args: Any) -> dict[str, Any]:
        """No discrepancies are modelled."""
        return paged([], lambda x: x, **args)

    @property
    def order(self) -> OrderView:
        """The refunded order."""
        return OrderView(self._ctx, self._o)

    @property
    def refund_record(self) -> Refund:
        """The underlying record (not a schema field)."""
        return self._r


class ReturnView:
    """`Return` (status and quantities only)."""

    typename = "Return"

    def __init__(self, ctx: Context, order: Order, ret: Return) -> None:
        self._ctx, self._o = ctx, order
        self.id = gid("Return", ret.id)
        self.name = ret.name
        self.status = ret.status
        self.createdAt = iso(ret.created_at)
        self.closedAt = iso(ret.closed_at)
        self.totalQuantity = sum(ret.lines.values())
        self.requestApprovedAt = iso(ret.created_at) if ret.status != "REQUESTED" else None

    @property
    def order(self) -> OrderView:
        """The order."""
        return OrderView(self._ctx, self._o)


class SuggestedRefundView:
    """`SuggestedRefund` from `operations.suggest_refund`."""

    typename = "SuggestedRefund"

    def __init__(self, ctx: Context, s: Suggestion) -> None:
        o = s.order
        self.amountSet = bag(o, s.amount)
        self.maximumRefundableSet = bag(o, s.maximum)
        self.subtotalSet = bag(o, s.subtotal)
        self.discountedSubtotalSet = bag(o, s.subtotal)
        self.totalTaxSet = bag(o, s.tax)
        self.totalCartDiscountAmountSet = bag(o, ZERO)
        self.totalDutiesSet = bag(o, ZERO)
        self.refundDuties: list[Any] = []
        self.shipping = {"amountSet": bag(o, s.shipping), "taxSet": bag(o, s.shipping_tax),
                         "maximumRefundableSet": bag(o, o.refundable_shipping)}
        self.refundLineItems = [RefundLineView(ctx, o, sl.line, quantity=sl.quantity,
                                               restock_type=sl.restock_type,
                                               subtotal=sl.subtotal, tax=sl.tax)
                                for sl in s.lines]
        self.suggestedTransactions = [{
            "gateway": parent.gateway, "kind": "SUGGESTED_REFUND", "amountSet": bag(o, amount),
            "formattedGateway": GATEWAY_NAMES.get(parent.gateway, parent.gateway),
            "maximumRefundableSet": bag(o, o.refundable_on(parent)),
            "parentTransaction": TransactionView(ctx, o, parent),
            "accountNumber": parent.account_number, "paymentDetails": None}
            for parent, amount in s.transactions]
        self.suggestedRefundMethods = ([{
            "__typename": "SuggestedStoreCreditRefund", "amount": bag(o, s.store_credit),
            "maximumRefundable": bag(o, s.maximum), "expiresAt": None}]
            if s.store_credit is not None else [])


class OrderView:
    """`Order`."""

    typename = "Order"

    def __init__(self, ctx: Context, order: Order) -> None:
        self._ctx, self._o = ctx, order
        o = order
        self.id = gid("Order", o.id)
        self.legacyResourceId = str(o.id)
        self.name = o.name
        self.number = o.number
        self.email, self.phone, self.note = o.email, o.phone, o.note
        self.tags = sorted(o.tags, key=str.lower)
        self.createdAt = self.processedAt = iso(o.created_at)
        self.updatedAt = iso(o.updated_at)
        self.cancelledAt = iso(o.cancelled_at)
        self.cancelReason = o.cancel_reason
        self.cancellation = {"staffNote": o.cancel_staff_note} if o.cancelled_at else None
        self.closed = o.closed_at is not None
        self.closedAt = iso(o.closed_at)
        self.confirmed = True
        self.test = o.test
        self.currencyCode = o.currency
        self.presentmentCurrencyCode = o.presentment_currency
        self.displayFinancialStatus = o.financial_status
        self.displayFulfillmentStatus = o.fulfillment_status
        self.returnStatus = o.return_status
        self.sourceName = o.source_name
        self.confirmationNumber = o.confirmation_number
        self.poNumber = o.po_number
        self.customAttributes = [dict(a) for a in o.custom_attributes]
        self.discountCodes = list(o.discount_codes)
        self.discountCode = o.discount_codes[0] if o.discount_codes else None
        self.paymentGatewayNames = sorted({t.gateway for t in o.transactions})
        self.taxesIncluded = False
        self.taxExempt = False
        self.dutiesIncluded = False
        self.estimatedTaxes = False
        self.edited = False
        self.hasTimelineComment = False
        self.customerAcceptsMarketing = False
        self.customerLocale = "en"
        self.requiresShipping = any(li.requires_shipping for li in o.lines)
        self.fulfillable = not o.cancelled_at and any(o.remaining_to_fulfill(li) for li in o.lines)
        self.fullyPaid = o.net_payment >= o.current_total and o.captured > 0
        self.unpaid = o.captured <= 0
        self.refundable = o.net_payment > 0
        self.restockable = any(o.refundable_qty(li) for li in o.lines)
        self.capturable = bool(o.open_authorizations()) and not o.cancelled_at
        pending_gateway = any(t.status == "PENDING" and t.gateway == "shopify_payments"
                              for t in o.transactions)
        self.canMarkAsPaid = (not o.cancelled_at and o.outstanding > 0 and not pending_gateway
                              and not o.open_authorizations())
        self.canNotifyCustomer = bool(o.email)
        self.merchantEditable = not o.cancelled_at and o.closed_at is None
        self.merchantEditableErrors = ([] if self.merchantEditable
                                       else ["Order is cancelled or archived"])
        self.shippingAddress = address_view(o.shipping_address)
        self.billingAddress = address_view(o.billing_address)
        self.displayAddress = self.shippingAddress or self.billingAddress
        self.billingAddressMatchesShippingAddress = (
            (o.shipping_address and o.billing_address
             and _same_address(o.shipping_address, o.billing_address)) or False)
        self.subtotalLineItemsQuantity = sum(li.quantity for li in o.lines)
        self.currentSubtotalLineItemsQuantity = sum(o.current_qty(li) for li in o.lines)
        self.subtotalPriceSet = bag(o, o.subtotal)
        self.currentSubtotalPriceSet = bag(o, o.current_subtotal)
        self.totalPriceSet = bag(o, o.total_price)
        self.originalTotalPriceSet = bag(o, o.total_price)
        self.currentTotalPriceSet = bag(o, o.current_total)
        self.totalTaxSet = bag(o, o.total_tax)
        self.currentTotalTaxSet = bag(o, o.current_tax)
        self.totalShippingPriceSet = bag(o, o.shipping_total)
        self.currentShippingPriceSet = bag(o, o.current_shipping)
        self.totalDiscountsSet = bag(o, o.total_discounts)
        self.currentTotalDiscountsSet = bag(o, o.total_discounts)
        self.cartDiscountAmountSet = None
        self.currentCartDiscountAmountSet = bag(o, ZERO)
        self.totalRefundedSet = bag(o, o.refunded)
        self.totalRefundedShippingSet = bag(o, o.refunded_shipping)
        self.totalOutstandingSet = bag(o, o.outstanding)
        self.totalReceivedSet = bag(o, o.captured)
        self.netPaymentSet = bag(o, o.net_payment)
        self.totalCapturableSet = bag(o, o.capturable)
        self.totalTipReceivedSet = bag(o, ZERO)
        self.refundDiscrepancySet = bag(o, ZERO)
        self.taxLines = _tax_lines(o, current=False)
        self.currentTaxLines = _tax_lines(o, current=True)
        self.shippingLine = ShippingLineView(o, o.shipping_lines[0]) if o.shipping_lines else None
        self.fulfillmentsCount = {"count": len(o.fulfillments), "precision": "EXACT"}
        self.transactionsCount = {"count": len(o.transactions), "precision": "EXACT"}
        self.disputes: list[Any] = []
        self.additionalFees: list[Any] = []
        self.alerts: list[Any] = []

    @property
    def customer(self) -> CustomerView | None:
        """The buyer, if any."""
        c = self._ctx.store.customers.get(self._o.customer_id) if self._o.customer_id else None
        return CustomerView(self._ctx, c) if c else None

    def statusPageUrl(self, info: Any, **args: Any) -> str:
        """The customer's order status page."""
        token = hashlib.sha256(str(self._o.id).encode()).hexdigest()[:32]
        return f"https://{self._o.shop}/{self._ctx.shop.id}/orders/{token}/authenticate"

    def lineItems(self, info: Any, **args: Any) -> dict[str, Any]:
        """Line items."""
        return paged(self._o.lines, lambda li: LineItemView(self._ctx, self._o, li), **args)

    def nonFulfillableLineItems(self, info: Any, **args: Any) -> dict[str, Any]:
        """Lines with units that will never ship."""
        lines = [li for li in self._o.lines
                 if li.quantity - self._o.fulfilled_qty(li) - self._o.remaining_to_fulfill(li)]
        return paged(lines, lambda li: LineItemView(self._ctx, self._o, li), **args)

    def shippingLines(self, info: Any, includeRemovals: bool | None = None,
                      **args: Any) -> dict[str, Any]:
        """Shipping lines."""
        return paged(self._o.shipping_lines, lambda s: ShippingLineView(self._o, s), **args)

    def fulfillments(self, info: Any, first: int | None = None,
                     query: str | None = None) -> list[FulfillmentView]:
        """Fulfillments (a plain list)."""
        return limited([FulfillmentView(self._ctx, self._o, f) for f in self._o.fulfillments],
                       first)

    def fulfillmentOrders(self, info: Any, displayable: bool | None = None,
                          query: str | None = None, **args: Any) -> dict[str, Any]:
        """The order's fulfillment order (none when nothing needs shipping)."""
        rows = [self._o] if self.requiresShipping else []
        return paged(rows, lambda o: FulfillmentOrderView(self._ctx, o), **args)

    def refunds(self, info: Any, first: int | None = None) -> list[RefundView]:
        """Refunds, oldest first (a plain list)."""
        return limited([RefundView(self._ctx, self._o, r) for r in self._o.refunds], first)

    def returns(self, info: Any, query: str | None = None, **args: Any) -> dict[str, Any]:
        """Returns."""
        return paged(self._o.returns, lambda r: ReturnView(self._ctx, self._o, r), **args)

    def transactions(self, info: Any, first: int | None = None, capturable: bool | None = None,
                     manuallyResolvable: bool | None = None) -> list[TransactionView]:
        """Transactions, oldest first (a plain list)."""
        txns = self._o.open_authorizations() if capturable else self._o.transactions
        return limited([TransactionView(self._ctx, self._o, t) for t in txns], first)

    def discountApplications(self, info: Any, **args: Any) -> dict[str, Any]:
        """Discount codes used."""
        rows = [self._o] if self._o.discount_codes else []
        return paged(rows, _discount_application, **args)

    def suggestedRefund(self, info: Any, **args: Any) -> SuggestedRefundView:
        """A refund preview (see `operations.suggest_refund`)."""
        from plugin.sandbox.operations import suggest_refund

        return SuggestedRefundView(self._ctx, suggest_refund(self._o, **args))

    @property
    def record(self) -> Order:
        """The underlying record (not a schema field)."""
        return self._o


def _same_address(a: Address, b: Address) -> bool:
    keys = [k for k in a.__dict__ if k != "id"]
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _tax_lines(order: Order, *, current: bool) -> list[dict[str, Any]]:
    """Tax per title and rate, summed over lines and shipping."""
    totals: dict[tuple[str, Decimal], Decimal] = {}
    for li in order.lines:
        if li.tax > 0:
            amount = li.tax - (order.refunded_tax(li) if current else ZERO)
            totals[(li.tax_title, li.tax_rate)] = totals.get((li.tax_title, li.tax_rate),
                                                             ZERO) + amount
    for s in order.shipping_lines:
        if s.tax > 0:
            amount = s.tax - (order.refunded_shipping_tax if current else ZERO)
            totals[("Shipping tax", s.tax_rate)] = totals.get(("Shipping tax", s.tax_rate),
                                                              ZERO) + amount
    return [tax_line(order, title, rate, amount) for (title, rate), amount in totals.items()]
