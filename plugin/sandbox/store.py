"""SandboxStore: the in-memory state of the Shopify stand-in, its clock, builders and switches."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from plugin.sandbox.models import (
    ZERO,
    Address,
    Customer,
    Fulfillment,
    FulfillmentLine,
    Job,
    LineItem,
    Order,
    RefreshToken,
    Return,
    ShippingLine,
    Shop,
    Token,
    Tracking,
    Transaction,
    dec,
    q2,
)

DEMO_SHOP = "sidecard-demo.myshopify.com"
API_VERSION = "2026-10"
BUCKET_SIZE = 2000.0
RESTORE_RATE = 100.0
ACCESS_TOKEN_TTL = 3600
REFRESH_TOKEN_TTL = 30 * 24 * 3600
DEFAULT_SCOPES = "read_customers,read_orders,write_orders"
FAULT_KINDS = ("throttle", "http_429", "http_500", "http_503", "timeout", "latency")

# Realistic-looking, stable id ranges per record kind (contiguous within a store).
ID_BASES = {
    "Shop": 60_412_000_001, "Customer": 7_104_521_000_001, "Order": 5_812_440_000_001,
    "LineItem": 14_200_310_000_001, "MailingAddress": 8_800_120_000_001,
    "OrderTransaction": 6_900_410_000_001, "Fulfillment": 4_700_220_000_001,
    "FulfillmentLineItem": 10_300_500_000_001, "Refund": 9_050_330_000_001,
    "RefundLineItem": 4_410_870_000_001, "Return": 11_200_000_001,
    "FulfillmentOrder": 6_600_120_000_001, "ShippingLine": 4_880_560_000_001,
    "Product": 8_010_000_000_001, "ProductVariant": 44_500_000_000_001,
    "FulfillmentHold": 100_000_001,
}

TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "DHL Express": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "Canada Post": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
}


@dataclass
class Fault:
    """An injected failure: applies to `times` more requests (None: until reset)."""

    kind: str
    shop: str | None = None
    times: int | None = 1
    seconds: float | None = None
    target: str = "graphql"  # or "oauth": the token endpoint

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the control endpoint."""
        return {"kind": self.kind, "shop": self.shop, "times": self.times,
                "seconds": self.seconds, "target": self.target}


@dataclass
class Bucket:
    """Shopify's leaky bucket of query cost points for one shop."""

    available: float = BUCKET_SIZE
    updated: float = 0.0


@dataclass
class ShopStats:
    """What benchmarks report: calls, cost, throttles, injected faults."""

    graphql_calls: int = 0
    requested_cost: int = 0
    actual_cost: int = 0
    throttled: int = 0
    faults: Counter = field(default_factory=Counter)
    operations: Counter = field(default_factory=Counter)
    tokens_issued: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"graphql_calls": self.graphql_calls, "requested_cost": self.requested_cost,
                "actual_cost": self.actual_cost, "throttled": self.throttled,
                "faults": dict(self.faults), "operations": dict(self.operations),
                "tokens_issued": self.tokens_issued}


class SandboxStore:
    """Shops, customers, orders, tokens and switches of the sandbox; one lock guards it all."""

    def __init__(self, *, api_version: str = API_VERSION, scopes: str = DEFAULT_SCOPES) -> None:
        self.lock = threading.RLock()
        self.api_version = api_version
        self.scopes = scopes
        self._offset = 0.0
        self._ids: dict[str, int] = dict(ID_BASES)
        self._variants: dict[str, tuple[int, int]] = {}
        self.shops: dict[str, Shop] = {}
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.jobs: dict[str, Job] = {}
        self.idempotency: dict[tuple[str, str], dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.buckets: dict[str, Bucket] = {}
        self._stats: dict[str, ShopStats] = {}
        self.unmodelled_fields: set[str] = set()
        # The app credentials the sandbox checks; set by create_sandbox_app.
        self.api_key: str | None = None
        self.api_secret: str | None = None

    # -- construction --------------------------------------------------------------------
    @classmethod
    def empty(cls, shops: tuple[str, ...] = (DEMO_SHOP,), **kwargs: Any) -> SandboxStore:
        """A store hosting `shops` (USD) with no customers or orders."""
        store = cls(**kwargs)
        for domain in shops:
            store.add_shop(domain)
        return store

    @classmethod
    def seeded(cls, path: Path | None = None, **kwargs: Any) -> SandboxStore:
        """A store loaded from seed.json (dates relative to now)."""
        from plugin.sandbox.seed import load_seed

        store = cls(**kwargs)
        load_seed(store, path)
        return store

    # -- clock ---------------------------------------------------------------------------
    def time(self) -> float:
        """The store's clock (epoch seconds); tests move it with `advance`."""
        return time.time() + self._offset

    def now(self) -> datetime:
        """The store's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Move the store's clock forward (token expiry, bucket restore)."""
        with self.lock:
            self._offset += seconds

    def next_id(self, kind: str) -> int:
        """The next stable id for a record kind."""
        with self.lock:
            value = self._ids[kind]
            self._ids[kind] = value + 1
            return value

    def _when(self, days_ago: float | None = None, at: datetime | None = None) -> datetime:
        if at is not None:
            return at
        return self.now() - timedelta(days=days_ago or 0)

    # -- lookups -------------------------------------------------------------------------
    def shop(self, domain: str) -> Shop | None:
        """The hosted shop with this domain."""
        return self.shops.get(domain.lower())

    def customer(self, shop: str, customer_id: int) -> Customer | None:
        """A shop's customer by numeric id."""
        found = self.customers.get(customer_id)
        return found if found and found.shop == shop else None

    def order(self, shop: str, order_id: int) -> Order | None:
        """A shop's order by numeric id."""
        found = self.orders.get(order_id)
        return found if found and found.shop == shop else None

    def order_by_name(self, shop: str, name: str) -> Order | None:
        """A shop's order by name (`#1001` or `1001`)."""
        number = name.lstrip("#")
        return next((o for o in self.orders.values()
                     if o.shop == shop and str(o.number) == number), None)

    def shop_customers(self, shop: str) -> list[Customer]:
        """All customers of a shop."""
        return [c for c in self.customers.values() if c.shop == shop]

    def shop_orders(self, shop: str) -> list[Order]:
        """All orders of a shop."""
        return [o for o in self.orders.values() if o.shop == shop]

    def customer_orders(self, customer: Customer) -> list[Order]:
        """A customer's orders, oldest first."""
        return sorted((o for o in self.orders.values() if o.customer_id == customer.id),
                      key=lambda o: o.id)

    # -- builders ------------------------------------------------------------------------
    def add_shop(self, domain: str, *, name: str | None = None, currency: str = "USD",
                 timezone: str = "America/New_York", email: str | None = None,
                 plan: str = "Basic", country_code: str = "US") -> Shop:
        """Host a shop."""
        domain = domain.lower()
        handle = domain.split(".")[0]
        shop = Shop(domain=domain, id=self.next_id("Shop"),
                    name=name or handle.replace("-", " ").title(), currency=currency,
                    timezone=timezone, email=email or f"owner@{handle}.example",
                    plan=plan, country_code=country_code,
                    created_at=self.now() - timedelta(days=720))
        with self.lock:
            self.shops[domain] = shop
            self.buckets[domain] = Bucket(updated=self.time())
        return shop

    def _default_shop(self, shop: str | None) -> str:
        if shop:
            return shop.lower()
        if not self.shops:
            raise ValueError("the store hosts no shop yet; call add_shop first")
        return next(iter(self.shops))

    def make_address(self, data: dict[str, Any] | None) -> Address | None:
        """An Address from snake_case or Shopify camelCase keys."""
        if not data:
            return None
        get = _getter(data)
        return Address(id=self.next_id("MailingAddress"),
                       first_name=get("first_name"), last_name=get("last_name"),
                       company=get("company"), address1=get("address1"),
                       address2=get("address2"), city=get("city"),
                       province_code=get("province_code"), country_code=get("country_code"),
                       zip=get("zip"), phone=get("phone"))

    def add_customer(self, shop: str | None = None, *, first_name: str | None = None,
                     last_name: str | None = None, email: str | None = None,
                     phone: str | None = None, tags: list[str] | None = None,
                     note: str | None = None, address: dict[str, Any] | None = None,
                     days_ago: float = 200, created_at: datetime | None = None,
                     state: str = "ENABLED", accepts_marketing: bool = False) -> Customer:
        """Add a customer (factory for tests and the seed).

        Unlike Shopify, email and phone are not forced unique, so tests can build odd data.
        """
        domain = self._default_shop(shop)
        created = self._when(days_ago, created_at)
        addr = self.make_address({"first_name": first_name, "last_name": last_name,
                                  "phone": phone, **address} if address else None)
        customer = Customer(id=self.next_id("Customer"), shop=domain, first_name=first_name,
                            last_name=last_name, email=email, phone=phone,
                            created_at=created, updated_at=created, tags=list(tags or []),
                            note=note, addresses=[addr] if addr else [], state=state,
                            accepts_marketing=accepts_marketing)
        with self.lock:
            self.customers[customer.id] = customer
        return customer

    def _variant_ids(self, sku: str | None, title: str) -> tuple[int, int]:
        key = sku or title
        if key not in self._variants:
            self._variants[key] = (self.next_id("Product"), self.next_id("ProductVariant"))
        return self._variants[key]

    def add_order(self, shop: str | None = None, *, customer: Customer | int | None = None,
                  lines: list[dict[str, Any]] | None = None,
                  shipping: str | Decimal | dict[str, Any] | None = None,
                  tax_rate: str | Decimal = "0", discount_percent: str | Decimal | None = None,
                  discount_code: str | None = None, payment: str = "paid",
                  gateway: str = "shopify_payments", days_ago: float = 1,
                  created_at: datetime | None = None, email: str | None = None,
                  phone: str | None = None, note: str | None = None,
                  tags: list[str] | None = None,
                  shipping_address: dict[str, Any] | None = None,
                  presentment_currency: str | None = None, rate: str | Decimal = "1",
                  hold: str | None = None, hold_notes: str | None = None,
                  source_name: str = "web", test: bool = False,
                  paid_amount: str | Decimal | None = None) -> Order:
        """Add an order (factory for tests and the seed).

        `lines`: dicts with title, price, quantity and optional sku, variant_title, vendor,
        discount (line total), requires_shipping. `payment`: paid | pending | authorized |
        captured (authorized then captured) | voided | partially_paid.
        """
        domain = self._default_shop(shop)
        shop_rec = self.shops[domain]
        cust = (self.customers.get(customer) if isinstance(customer, int) else customer)
        created = self._when(days_ago, created_at)
        rate_dec, tax = dec(rate), dec(tax_rate)
        items = []
        for spec in lines or [{"title": "Sample item", "price": "10.00", "quantity": 1}]:
            price, quantity = dec(spec["price"]), int(spec.get("quantity", 1))
            discount = dec(spec.get("discount", "0"))
            if discount_percent is not None and "discount" not in spec:
                discount = q2(price * quantity * dec(discount_percent) / 100)
            product_id, variant_id = self._variant_ids(spec.get("sku"), spec["title"])
            requires_shipping = spec.get("requires_shipping", True)
            line_rate = dec(spec.get("tax_rate", tax))
            items.append(LineItem(
                id=self.next_id("LineItem"), title=spec["title"], quantity=quantity,
                price=price, sku=spec.get("sku"), variant_title=spec.get("variant_title"),
                vendor=spec.get("vendor", shop_rec.name), product_id=product_id,
                variant_id=variant_id, discount=discount,
                tax=q2((price * quantity - discount) * line_rate), tax_rate=line_rate,
                tax_title=spec.get("tax_title", "Sales tax"), requires_shipping=requires_shipping,
                taxable=line_rate > 0))
        ship_lines = []
        if shipping is not None:
            spec = shipping if isinstance(shipping, dict) else {"price": shipping}
            price = dec(spec["price"])
            ship_rate = dec(spec.get("tax_rate", "0"))
            ship_lines.append(ShippingLine(
                id=self.next_id("ShippingLine"), title=spec.get("title", "Standard Shipping"),
                price=price, code=spec.get("code", "standard"),
                carrier=spec.get("carrier"), tax=q2(price * ship_rate), tax_rate=ship_rate))
        address = shipping_address
        if address is None and cust and cust.addresses:
            address = _address_dict(cust.addresses[0])
        order = Order(
            id=self.next_id("Order"), shop=domain, number=shop_rec.next_order_number,
            created_at=created, updated_at=created, currency=shop_rec.currency,
            presentment_currency=presentment_currency or shop_rec.currency, rate=rate_dec,
            fulfillment_order_id=self.next_id("FulfillmentOrder"),
            customer_id=cust.id if cust else None,
            email=email if email is not None else (cust.email if cust else None),
            phone=phone if phone is not None else (cust.phone if cust else None),
            note=note, tags=list(tags or []), shipping_address=self.make_address(address),
            billing_address=self.make_address(address), lines=items, shipping_lines=ship_lines,
            discount_codes=[discount_code] if discount_code else [], source_name=source_name,
            test=test)
        order.confirmation_number = hashlib.sha256(str(order.id).encode()).hexdigest()[:9].upper()
        if hold:
            order.hold_reason, order.hold_notes = hold, hold_notes
            order.hold_id = self.next_id("FulfillmentHold")
        shop_rec.next_order_number += 1
        self._add_payment(order, payment, gateway, created, paid_amount)
        with self.lock:
            self.orders[order.id] = order
        return order

    def _add_payment(self, order: Order, payment: str, gateway: str, when: datetime,
                     paid_amount: str | Decimal | None) -> None:
        total = order.total_price
        account = "•••• 4242" if gateway == "shopify_payments" else None

        def txn(kind: str, amount: Decimal, parent: Transaction | None = None,
                status: str = "SUCCESS") -> Transaction:
            made = Transaction(id=self.next_id("OrderTransaction"), kind=kind, amount=amount,
                               gateway=gateway, created_at=when, status=status,
                               parent_id=parent.id if parent else None,
                               account_number=account, test=order.test)
            order.transactions.append(made)
            return made

        if payment == "paid":
            txn("SALE", total)
        elif payment == "partially_paid":
            txn("SALE", dec(paid_amount) if paid_amount is not None else q2(total / 2))
        elif payment in {"authorized", "captured", "voided"}:
            auth = txn("AUTHORIZATION", total)
            if payment == "captured":
                txn("CAPTURE", total, auth)
            elif payment == "voided":
                txn("VOID", total, auth)
        elif payment == "pending":
            if gateway != "manual":
                txn("SALE", total, status="PENDING")
        else:
            raise ValueError(f"unknown payment state {payment!r}")

    def fulfill(self, order: Order, quantities: dict[int, int] | None = None, *,
                company: str | None = "UPS", number: str | None = None,
                url: str | None = None, display_status: str = "IN_TRANSIT",
                days_ago: float | None = None, delivered_days_ago: float | None = None,
                location: str = "Main warehouse") -> Fulfillment:
        """Ship line items (all remaining units by default) with a tracking number."""
        when = self._when(days_ago) if days_ago is not None else self.now()
        wanted = quantities or {li.id: order.unfulfilled_qty(li) for li in order.lines
                                if li.requires_shipping}
        lines = [FulfillmentLine(id=self.next_id("FulfillmentLineItem"), line_item_id=lid,
                                 quantity=qty) for lid, qty in wanted.items() if qty > 0]
        for fl in lines:
            li = order.line(fl.line_item_id)
            if li is None or fl.quantity > order.unfulfilled_qty(li):
                raise ValueError("cannot fulfill more than the unfulfilled quantity")
        tracking = []
        if company or number:
            url = url or TRACKING_URLS.get(company or "", "").format(number=number) or None
            tracking.append(Tracking(company=company, number=number, url=url))
        index = len(order.fulfillments) + 1
        delivered = (self._when(delivered_days_ago) if delivered_days_ago is not None else None)
        if delivered is not None:
            display_status = "DELIVERED"
        fulfillment = Fulfillment(
            id=self.next_id("Fulfillment"), name=f"{order.name}-F{index}", created_at=when,
            updated_at=delivered or when, lines=lines, tracking=tracking,
            display_status=display_status,
            in_transit_at=when if display_status in {"IN_TRANSIT", "DELIVERED",
                                                     "OUT_FOR_DELIVERY"} else None,
            delivered_at=delivered,
            estimated_delivery_at=None if delivered else when + timedelta(days=4),
            location=location)
        with self.lock:
            order.fulfillments.append(fulfillment)
            order.updated_at = max(order.updated_at, fulfillment.updated_at)
        return fulfillment

    def add_return(self, order: Order, status: str = "OPEN",
                   quantities: dict[int, int] | None = None) -> Return:
        """Open (or request) a return on fulfilled units."""
        index = len(order.returns) + 1
        lines = quantities or {li.id: 1 for li in order.lines if order.fulfilled_qty(li)}
        made = Return(id=self.next_id("Return"), name=f"{order.name}-R{index}", status=status,
                      created_at=self.now(), lines=dict(lines))
        with self.lock:
            order.returns.append(made)
        return made

    # -- tokens --------------------------------------------------------------------------
    def issue_tokens(self, shop: str, *, scope: str | None = None, expiring: bool = True,
                     online_user_id: int | None = None) -> dict[str, Any]:
        """Issue an access token (and a refresh token when expiring); the token endpoint's body."""
        scope = scope if scope is not None else self.scopes
        now = self.time()
        prefix = "shpua_" if online_user_id else "shpat_"
        access = Token(value=prefix + secrets.token_hex(16), shop=shop, scope=scope,
                       expires_at=now + ACCESS_TOKEN_TTL if expiring or online_user_id else None,
                       online_user_id=online_user_id)
        body: dict[str, Any] = {"access_token": access.value, "scope": scope}
        with self.lock:
            self.tokens[access.value] = access
            self.stats_for(shop).tokens_issued += 1
            if online_user_id:
                body["expires_in"] = ACCESS_TOKEN_TTL
            elif expiring:
                refresh = RefreshToken(value="shprt_" + secrets.token_hex(16), shop=shop,
                                       scope=scope, expires_at=now + REFRESH_TOKEN_TTL)
                self.refresh_tokens[refresh.value] = refresh
                body.update(expires_in=ACCESS_TOKEN_TTL, refresh_token=refresh.value,
                            refresh_token_expires_in=REFRESH_TOKEN_TTL)
        return body

    def token_valid(self, shop: str, value: str | None) -> bool:
        """Whether `value` is an unexpired access token issued for `shop`."""
        token = self.tokens.get(value or "")
        if token is None or token.shop != shop:
            return False
        return token.expires_at is None or token.expires_at > self.time()

    def revoke_shop_tokens(self, shop: str) -> None:
        """Forget every token of a shop (as if the app were uninstalled)."""
        with self.lock:
            for key in [k for k, t in self.tokens.items() if t.shop == shop]:
                del self.tokens[key]
            for key in [k for k, t in self.refresh_tokens.items() if t.shop == shop]:
                del self.refresh_tokens[key]

    # -- faults, bucket, stats -----------------------------------------------------------
    def inject(self, shop: str | None = None, kind: str = "throttle", times: int | None = 1,
               seconds: float | None = None, target: str = "graphql") -> Fault:
        """Make the next `times` calls (of `shop`, or any) fail or slow down.

        `times=None` keeps the fault until `reset()`. `seconds`: the latency or timeout sleep,
        or the Retry-After of http_429/http_503. `target`: "graphql" or "oauth".

        :raises ValueError: unknown kind or target.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if target not in {"graphql", "oauth"}:
            raise ValueError("target must be 'graphql' or 'oauth'")
        if kind == "latency" and seconds is None:
            seconds = 0.1
        fault = Fault(kind=kind, shop=shop.lower() if shop else None, times=times,
                      seconds=seconds, target=target)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_faults(self, shop: str, target: str = "graphql") -> tuple[float, Fault | None]:
        """(seconds of latency to add, the failure to answer with) for one request."""
        delay, failure = 0.0, None
        with self.lock:
            for fault in list(self.faults):
                if fault.shop not in (None, shop) or fault.target != target:
                    continue
                if fault.kind == "latency":
                    delay += fault.seconds or 0.0
                elif failure is None:
                    failure = fault
                else:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
            if failure is not None:
                self.stats_for(shop).faults[failure.kind] += 1
        return delay, failure

    def bucket(self, shop: str) -> Bucket:
        """The shop's bucket, restored up to now."""
        bucket = self.buckets.setdefault(shop, Bucket(updated=self.time()))
        now = self.time()
        bucket.available = min(BUCKET_SIZE,
                               bucket.available + (now - bucket.updated) * RESTORE_RATE)
        bucket.updated = now
        return bucket

    def stats_for(self, shop: str) -> ShopStats:
        """Mutable counters of a shop."""
        return self._stats.setdefault(shop, ShopStats())

    def stats(self, shop: str | None = None) -> dict[str, Any]:
        """Counters of one shop, or of every shop keyed by domain."""
        with self.lock:
            if shop:
                return self.stats_for(shop.lower()).to_dict()
            return {name: s.to_dict() for name, s in self._stats.items()}

    def reset(self, *, reseed: bool = False) -> None:
        """Clear faults and counters, refill buckets; `reseed` also reloads seed.json data."""
        with self.lock:
            self.faults.clear()
            self._stats.clear()
            for bucket in self.buckets.values():
                bucket.available, bucket.updated = BUCKET_SIZE, self.time()
            if reseed:
                from plugin.sandbox.seed import load_seed

                self.customers.clear()
                self.orders.clear()
                self.jobs.clear()
                self.idempotency.clear()
                self.shops.clear()
                self._ids = dict(ID_BASES)
                self._variants.clear()
                load_seed(self)

    # -- App Bridge stand-ins ------------------------------------------------------------
    def bind_app(self, api_key: str, api_secret: str) -> None:
        """Remember the app credentials (client id and secret) the store answers to."""
        self.api_key, self.api_secret = api_key, api_secret

    def _credentials(self, api_key: str | None, api_secret: str | None) -> tuple[str, str]:
        key, secret = api_key or self.api_key, api_secret or self.api_secret
        if not key or not secret:
            raise ValueError("no app credentials: pass api_key/api_secret or create the "
                             "sandbox app with this store first")
        return key, secret

    def id_token(self, shop: str, *, user_id: int = 1, ttl: int = 60,
                 api_key: str | None = None, api_secret: str | None = None,
                 **claims: Any) -> str:
        """An App Bridge id token (HS256 with the api secret), as the admin would mint it."""
        from plugin.sandbox.oauth import mint_id_token

        key, secret = self._credentials(api_key, api_secret)
        return mint_id_token(shop, api_key=key, api_secret=secret, user_id=user_id, ttl=ttl,
                             **claims)

    def app_load_params(self, shop: str, *, user_id: int = 1, api_key: str | None = None,
                        api_secret: str | None = None) -> dict[str, str]:
        """Signed query parameters of an embedded app load (with a fresh id_token)."""
        from plugin.sandbox.oauth import app_load_params

        key, secret = self._credentials(api_key, api_secret)
        return app_load_params(shop, api_key=key, api_secret=secret, user_id=user_id)

    def summary(self) -> dict[str, Any]:
        """Counts per shop, for the demo page and the CLI."""
        with self.lock:
            return {domain: {"name": s.name, "currency": s.currency,
                             "customers": len(self.shop_customers(domain)),
                             "orders": len(self.shop_orders(domain))}
                    for domain, s in self.shops.items()}


def _getter(data: dict[str, Any]):
    """Read snake_case or camelCase keys of an address dict."""
    def get(key: str) -> Any:
        if key in data:
            return data[key]
        parts = key.split("_")
        camel = parts[0] + "".join(p.title() for p in parts[1:])
        return data.get(camel)
    return get


def _address_dict(address: Address) -> dict[str, Any]:
    """Copy an address's fields (new id on copy)."""
    return {k: v for k, v in address.__dict__.items() if k != "id"}


__all__ = ["SandboxStore", "DEMO_SHOP", "API_VERSION", "Fault", "ZERO"]
