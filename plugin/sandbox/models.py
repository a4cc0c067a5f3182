"""The sandbox store's records (plain dataclasses) and the order arithmetic Shopify derives.

Amounts are `Decimal` in the order's presentment currency; `Order.rate` converts to the shop
currency. Everything Shopify computes (statuses, current totals, refundable amounts) is derived
here from line items, fulfillments, refunds and transactions, never stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")

PAYMENT_KINDS = ("SALE", "CAPTURE")


def q2(value: Decimal) -> Decimal:
    """Round to cents, half up (how Shopify rounds allocations)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def dec(value: object) -> Decimal:
    """A Decimal from a string, int, float literal or Decimal (floats go through str)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def money_str(value: Decimal) -> str:
    """Shopify's wire form of money: `"10.0"`, `"12.5"`, `"12.55"` (a decimal string)."""
    text = format(q2(value).normalize(), "f")
    return text if "." in text else text + ".0"


def gid(kind: str, number: int | str) -> str:
    """`gid://shopify/<Kind>/<number>`."""
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: object) -> tuple[str, int] | None:
    """`("Order", 123)` from `gid://shopify/Order/123` (query string ignored); None otherwise."""
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        return None
    parts = value[len("gid://shopify/"):].split("?", 1)[0].split("/")
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


@dataclass
class Address:
    """A mailing address (customer or order)."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province_code: str | None = None
    country_code: str | None = None
    zip: str | None = None
    phone: str | None = None


@dataclass
class Shop:
    """A shop the sandbox hosts."""

    domain: str
    id: int
    name: str
    currency: str = "USD"
    timezone: str = "America/New_York"
    email: str = ""
    plan: str = "Basic"
    country_code: str = "US"
    created_at: datetime | None = None
    next_order_number: int = 1001


@dataclass
class Customer:
    """A shop's customer."""

    id: int
    shop: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    addresses: list[Address] = field(default_factory=list)
    state: str = "ENABLED"
    verified_email: bool = True
    locale: str = "en"
    accepts_marketing: bool = False

    @property
    def display_name(self) -> str:
        """Name, else email, else phone (as Shopify's displayName falls back)."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or self.phone or ""


@dataclass
class LineItem:
    """A purchased line: unit price, the line's total discount and total tax."""

    id: int
    title: str
    quantity: int
    price: Decimal
    sku: str | None = None
    variant_title: str | None = None
    vendor: str | None = None
    product_id: int | None = None
    variant_id: int | None = None
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    tax_rate: Decimal = ZERO
    tax_title: str = "Sales tax"
    requires_shipping: bool = True
    taxable: bool = True

    @property
    def total(self) -> Decimal:
        """Discounted line total before tax."""
        return self.price * self.quantity - self.discount


@dataclass
class ShippingLine:
    """A shipping charge."""

    id: int
    title: str
    price: Decimal
    code: str | None = None
    carrier: str | None = None
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    tax_rate: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """Discounted shipping before tax."""
        return self.price - self.discount


@dataclass
class Transaction:
    """A payment gateway transaction."""

    id: int
    kind: str  # SALE, AUTHORIZATION, CAPTURE, REFUND, VOID
    amount: Decimal
    gateway: str
    created_at: datetime
    status: str = "SUCCESS"
    parent_id: int | None = None
    test: bool = False
    account_number: str | None = None


@dataclass
class Tracking:
    """One tracking number."""

    company: str | None
    number: str | None
    url: str | None


@dataclass
class FulfillmentLine:
    """Quantity of one line item in a fulfillment."""

    id: int
    line_item_id: int
    quantity: int


@dataclass
class Fulfillment:
    """A shipment."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    lines: list[FulfillmentLine]
    tracking: list[Tracking] = field(default_factory=list)
    status: str = "SUCCESS"
    display_status: str = "FULFILLED"
    in_transit_at: datetime | None = None
    delivered_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    location: str = "Main warehouse"


@dataclass
class RefundLine:
    """A refunded quantity of one line item, with the money it accounts for."""

    id: int
    line_item_id: int
    quantity: int
    restock_type: str
    subtotal: Decimal
    tax: Decimal
    from_unfulfilled: int = 0

    @property
    def restocked(self) -> bool:
        """Whether the units went back to stock."""
        return self.restock_type in {"RETURN", "CANCEL"}


@dataclass
class Refund:
    """A refund: restocked/removed lines, refunded shipping and the money moved."""

    id: int
    created_at: datetime
    lines: list[RefundLine] = field(default_factory=list)
    shipping: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    transaction_ids: list[int] = field(default_factory=list)
    note: str | None = None
    shipping_line_id: int | None = None


@dataclass
class Return:
    """A return request (only its status matters to Sidecard)."""

    id: int
    name: str
    status: str  # REQUESTED, OPEN, CLOSED, DECLINED, CANCELED
    created_at: datetime
    lines: dict[int, int] = field(default_factory=dict)
    closed_at: datetime | None = None


@dataclass
class Order:
    """An order and the arithmetic Shopify derives from it."""

    id: int
    shop: str
    number: int
    created_at: datetime
    updated_at: datetime
    currency: str
    presentment_currency: str
    fulfillment_order_id: int
    rate: Decimal = Decimal("1")
    customer_id: int | None = None
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    discount_codes: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancel_staff_note: str | None = None
    closed_at: datetime | None = None
    hold_reason: str | None = None
    hold_notes: str | None = None
    hold_id: int | None = None
    source_name: str = "web"
    confirmation_number: str = ""
    po_number: str | None = None
    custom_attributes: list[dict[str, str]] = field(default_factory=list)
    test: bool = False

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """`#1001`."""
        return f"#{self.number}"

    def line(self, line_id: int) -> LineItem | None:
        """The line item with this id, if it belongs to the order."""
        return next((li for li in self.lines if li.id == line_id), None)

    def transaction(self, txn_id: int) -> Transaction | None:
        """The transaction with this id, if it belongs to the order."""
        return next((t for t in self.transactions if t.id == txn_id), None)

    # -- quantities ----------------------------------------------------------------------
    def fulfilled_qty(self, li: LineItem) -> int:
        """Units shipped in successful fulfillments."""
        return sum(fl.quantity for f in self.fulfillments if f.status == "SUCCESS"
                   for fl in f.lines if fl.line_item_id == li.id)

    def refunded_qty(self, li: LineItem) -> int:
        """Units refunded so far."""
        return sum(rl.quantity for r in self.refunds for rl in r.lines if rl.line_item_id == li.id)

    def removed_unfulfilled_qty(self, li: LineItem) -> int:
        """Refunded units that had not shipped (they leave the fulfillment order)."""
        return sum(rl.from_unfulfilled for r in self.refunds for rl in r.lines
                   if rl.line_item_id == li.id)

    def returned_qty(self, li: LineItem) -> int:
        """Refunded units that had shipped."""
        return self.refunded_qty(li) - self.removed_unfulfilled_qty(li)

    def current_qty(self, li: LineItem) -> int:
        """Units still on the order after refunds."""
        return li.quantity - self.refunded_qty(li)

    def refundable_qty(self, li: LineItem) -> int:
        """Units that can still be refunded."""
        return max(0, li.quantity - self.refunded_qty(li))

    def unfulfilled_qty(self, li: LineItem) -> int:
        """Units neither shipped nor removed by a refund."""
        return max(0, li.quantity - self.fulfilled_qty(li) - self.removed_unfulfilled_qty(li))

    def remaining_to_fulfill(self, li: LineItem) -> int:
        """What the fulfillment order still holds for this line (0 once cancelled)."""
        return 0 if self.cancelled_at else self.unfulfilled_qty(li)

    # -- line money ----------------------------------------------------------------------
    def unit_discounted(self, li: LineItem) -> Decimal:
        """Discounted unit price (unrounded)."""
        return li.total / li.quantity if li.quantity else ZERO

    def refunded_subtotal(self, li: LineItem) -> Decimal:
        """Line money already refunded (before tax)."""
        return sum((rl.subtotal for r in self.refunds for rl in r.lines
                    if rl.line_item_id == li.id), ZERO)

    def refunded_tax(self, li: LineItem) -> Decimal:
        """Line tax already refunded."""
        return sum((rl.tax for r in self.refunds for rl in r.lines if rl.line_item_id == li.id),
                   ZERO)

    def line_refund_amounts(self, li: LineItem, quantity: int) -> tuple[Decimal, Decimal]:
        """(subtotal, tax) that refunding `quantity` more units accounts for.

        The last units take whatever is left, so repeated partial refunds never drift by a cent.
        """
        remaining = self.refundable_qty(li)
        if quantity >= remaining:
            return (q2(li.total - self.refunded_subtotal(li)), q2(li.tax - self.refunded_tax(li)))
        share = Decimal(quantity) / Decimal(li.quantity)
        return q2(li.total * share), q2(li.tax * share)

    # -- shipping money ------------------------------------------------------------------
    @property
    def shipping_total(self) -> Decimal:
        """Shipping charged (discounted, before tax)."""
        return sum((s.total for s in self.shipping_lines), ZERO)

    @property
    def shipping_tax_total(self) -> Decimal:
        """Tax on shipping."""
        return sum((s.tax for s in self.shipping_lines), ZERO)

    @property
    def refunded_shipping(self) -> Decimal:
        """Shipping refunded so far (before tax)."""
        return sum((r.shipping for r in self.refunds), ZERO)

    @property
    def refunded_shipping_tax(self) -> Decimal:
        """Shipping tax refunded so far."""
        return sum((r.shipping_tax for r in self.refunds), ZERO)

    @property
    def refundable_shipping(self) -> Decimal:
        """Shipping that can still be refunded (before tax)."""
        return max(ZERO, self.shipping_total - self.refunded_shipping)

    def shipping_tax_for(self, amount: Decimal) -> Decimal:
        """Tax that goes with refunding `amount` of shipping (proportional; the rest at the end)."""
        if self.shipping_total <= 0:
            return ZERO
        if amount >= self.refundable_shipping:
            return q2(self.shipping_tax_total - self.refunded_shipping_tax)
        return q2(self.shipping_tax_total * amount / self.shipping_total)

    # -- order totals --------------------------------------------------------------------
    @property
    def subtotal(self) -> Decimal:
        """Line items after discounts, before shipping and tax."""
        return sum((li.total for li in self.lines), ZERO)

    @property
    def total_discounts(self) -> Decimal:
        """Every discount on lines and shipping."""
        return (sum((li.discount for li in self.lines), ZERO)
                + sum((s.discount for s in self.shipping_lines), ZERO))

    @property
    def total_tax(self) -> Decimal:
        """Line and shipping tax."""
        return sum((li.tax for li in self.lines), ZERO) + self.shipping_tax_total

    @property
    def total_price(self) -> Decimal:
        """What the customer was charged at checkout."""
        return self.subtotal + self.shipping_total + self.total_tax

    @property
    def current_subtotal(self) -> Decimal:
        """Subtotal after refunded lines."""
        return sum((li.total - self.refunded_subtotal(li) for li in self.lines), ZERO)

    @property
    def current_tax(self) -> Decimal:
        """Tax after refunded lines and shipping."""
        refunded = sum((self.refunded_tax(li) for li in self.lines), ZERO)
        return self.total_tax - refunded - self.refunded_shipping_tax

    @property
    def current_shipping(self) -> Decimal:
        """Shipping after refunds."""
        return self.shipping_total - self.refunded_shipping

    @property
    def current_total(self) -> Decimal:
        """Total after refunds and removals."""
        return self.current_subtotal + self.current_shipping + self.current_tax

    # -- payments ------------------------------------------------------------------------
    def successful(self, *kinds: str) -> list[Transaction]:
        """Successful transactions of these kinds."""
        return [t for t in self.transactions if t.status == "SUCCESS" and t.kind in kinds]

    @property
    def captured(self) -> Decimal:
        """Money received (sales and captures)."""
        return sum((t.amount for t in self.successful(*PAYMENT_KINDS)), ZERO)

    @property
    def refunded(self) -> Decimal:
        """Money returned to the customer."""
        return sum((t.amount for t in self.successful("REFUND")), ZERO)

    @property
    def net_payment(self) -> Decimal:
        """Money received minus refunded: the most that can still be refunded."""
        return self.captured - self.refunded

    def refundable_on(self, parent: Transaction) -> Decimal:
        """What a sale or capture can still refund."""
        refunded = sum((t.amount for t in self.successful("REFUND") if t.parent_id == parent.id),
                       ZERO)
        return max(ZERO, parent.amount - refunded)

    def open_authorizations(self) -> list[Transaction]:
        """Authorizations neither captured nor voided."""
        closed = {t.parent_id for t in self.successful("CAPTURE", "VOID")}
        return [t for t in self.successful("AUTHORIZATION") if t.id not in closed]

    @property
    def capturable(self) -> Decimal:
        """Authorized money not captured yet."""
        return sum((t.amount for t in self.open_authorizations()), ZERO)

    @property
    def outstanding(self) -> Decimal:
        """Owed by the customer (negative: owed to the customer)."""
        if self.cancelled_at:
            return ZERO
        return self.current_total - self.net_payment

    # -- statuses ------------------------------------------------------------------------
    @property
    def financial_status(self) -> str:
        """`displayFinancialStatus`."""
        captured, refunded = self.captured, self.refunded
        if captured <= 0:
            if self.successful("VOID"):
                return "VOIDED"
            return "AUTHORIZED" if self.open_authorizations() else "PENDING"
        if refunded >= captured:
            return "REFUNDED"
        if refunded > 0:
            return "PARTIALLY_REFUNDED"
        if captured < self.total_price:
            return "PARTIALLY_PAID"
        return "PAID"

    @property
    def fulfillment_status(self) -> str:
        """`displayFulfillmentStatus`."""
        shipped = sum(self.fulfilled_qty(li) for li in self.lines)
        if shipped == 0:
            if all(self.current_qty(li) == 0 for li in self.lines) and any(
                    rl.restocked for r in self.refunds for rl in r.lines):
                return "RESTOCKED"
            if self.hold_reason and not self.cancelled_at:
                return "ON_HOLD"
            return "UNFULFILLED"
        if all(self.unfulfilled_qty(li) == 0 for li in self.lines):
            return "FULFILLED"
        return "PARTIALLY_FULFILLED"

    @property
    def fulfillment_order_status(self) -> str:
        """Status of the order's one fulfillment order."""
        remaining = sum(self.remaining_to_fulfill(li) for li in self.lines)
        shipped = sum(self.fulfilled_qty(li) for li in self.lines)
        if self.cancelled_at:
            return "CLOSED" if shipped else "CANCELLED"
        if remaining == 0:
            return "CLOSED"
        if self.hold_reason:
            return "ON_HOLD"
        return "IN_PROGRESS" if shipped else "OPEN"

    @property
    def return_status(self) -> str:
        """`returnStatus`."""
        statuses = {r.status for r in self.returns}
        if "OPEN" in statuses:
            return "IN_PROGRESS"
        if "REQUESTED" in statuses:
            return "RETURN_REQUESTED"
        if "CLOSED" in statuses:
            return "RETURNED"
        return "NO_RETURN"

    def has_active_return(self) -> bool:
        """A requested or open return blocks cancelling."""
        return any(r.status in {"REQUESTED", "OPEN"} for r in self.returns)


@dataclass
class Job:
    """An asynchronous Shopify job (orderCancel)."""

    id: str
    shop: str
    kind: str
    args: dict
    done: bool = False


@dataclass
class Token:
    """An access token the store issued."""

    value: str
    shop: str
    scope: str
    expires_at: float | None
    online_user_id: int | None = None


@dataclass
class RefreshToken:
    """A refresh token; it stays valid after rotation until its replacement is used."""

    value: str
    shop: str
    scope: str
    expires_at: float
    replaces: str | None = None
    revoked: bool = False
