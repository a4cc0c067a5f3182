"""The root objects: `QueryRoot` lookups and the `Mutation` fields the sandbox implements.

Method and argument names are the schema's (camelCase, `id`, `input`) on purpose: graphql-core
calls them with the field's arguments as keyword arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_directive_values

from plugin.sandbox import operations
from plugin.sandbox.models import Customer, Order, parse_gid
from plugin.sandbox.search import match_customers, match_orders
from plugin.sandbox.views import (
    Context,
    CustomerView,
    FulfillmentOrderView,
    FulfillmentView,
    LineItemView,
    OrderView,
    RefundView,
    ReturnView,
    ShopView,
    TransactionView,
    connection,
)

IDEMPOTENT_MUTATIONS = {"refundCreate"}

ORDER_SORTS: dict[str, Callable[[Order], Any]] = {
    "ID": lambda o: o.id,
    "CREATED_AT": lambda o: (o.created_at, o.id),
    "PROCESSED_AT": lambda o: (o.created_at, o.id),
    "UPDATED_AT": lambda o: (o.updated_at, o.id),
    "ORDER_NUMBER": lambda o: o.number,
    "TOTAL_PRICE": lambda o: (o.total_price, o.id),
    "CURRENT_TOTAL_PRICE": lambda o: (o.current_total, o.id),
    "FINANCIAL_STATUS": lambda o: (o.financial_status, o.id),
    "FULFILLMENT_STATUS": lambda o: (o.fulfillment_status, o.id),
    "TOTAL_ITEMS_QUANTITY": lambda o: (sum(li.quantity for li in o.lines), o.id),
    "PO_NUMBER": lambda o: (o.po_number or "", o.id),
    "DESTINATION": lambda o: ((o.shipping_address.country_code or "")
                              if o.shipping_address else "", o.id),
    "RELEVANCE": lambda o: o.id,
}

CUSTOMER_SORTS: dict[str, Callable[[Customer], Any]] = {
    "ID": lambda c: c.id,
    "NAME": lambda c: (c.display_name.lower(), c.id),
    "CREATED_AT": lambda c: (c.created_at, c.id),
    "UPDATED_AT": lambda c: (c.updated_at, c.id),
    "LOCATION": lambda c: ((c.addresses[0].country_code or "", c.addresses[0].city or "")
                           if c.addresses else ("", ""), c.id),
    "RELEVANCE": lambda c: c.id,
}


def _pagination(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k in {"first", "after", "last", "before", "reverse"}}


def _searched_connection(ctx: Context, items: list[Any], *, match: Callable[..., Any],
                         sorts: dict[str, Callable[[Any], Any]], view: Callable[..., Any],
                         query: str | None, sortKey: str | None,
                         args: dict[str, Any]) -> dict[str, Any]:
    """`items` filtered by Shopify search syntax (warnings kept), sorted and paginated."""
    matched, warnings = match(ctx.store, items, query)
    ctx.search_warnings.extend(warnings)
    sort = sorts.get(sortKey or "ID", sorts["ID"])
    return connection(sorted(matched, key=sort), sort_value=sort,
                      wrap=lambda item: view(ctx, item), **_pagination(args))


def order_connection(ctx: Context, orders: list[Order], *, query: str | None = None,
                     sortKey: str | None = None, **args: Any) -> dict[str, Any]:
    """Orders filtered by Shopify search syntax, sorted and paginated."""
    return _searched_connection(ctx, orders, match=match_orders, sorts=ORDER_SORTS,
                                view=OrderView, query=query, sortKey=sortKey, args=args)


def customer_connection(ctx: Context, customers: list[Customer], *, query: str | None = None,
                        sortKey: str | None = None, **args: Any) -> dict[str, Any]:
    """Customers filtered by Shopify search syntax, sorted and paginated."""
    return _searched_connection(ctx, customers, match=match_customers, sorts=CUSTOMER_SORTS,
                                view=CustomerView, query=query, sortKey=sortKey, args=args)


def find_node(ctx: Context, value: Any) -> Any:
    """The view for any supported GID of this shop, else None."""
    parsed = parse_gid(value)
    if not parsed:
        return None
    kind, number = parsed
    store, shop = ctx.store, ctx.shop.domain
    if kind == "Order":
        order = store.order(shop, number)
        return OrderView(ctx, order) if order else None
    if kind == "Customer":
        customer = store.customer(shop, number)
        return CustomerView(ctx, customer) if customer else None
    if kind == "Shop":
        return ShopView(ctx, ctx.shop) if number == ctx.shop.id else None
    for order in store.shop_orders(shop):
        found = _find_in_order(ctx, order, kind, number)
        if found is not None:
            return found
    return None


def _find_in_order(ctx: Context, order: Order, kind: str, number: int) -> Any:
    if kind == "LineItem":
        li = order.line(number)
        return LineItemView(ctx, order, li) if li else None
    if kind == "OrderTransaction":
        txn = order.transaction(number)
        return TransactionView(ctx, order, txn) if txn else None
    if kind == "FulfillmentOrder" and order.fulfillment_order_id == number:
        return FulfillmentOrderView(ctx, order)
    records = {"Fulfillment": (order.fulfillments, FulfillmentView),
               "Refund": (order.refunds, RefundView), "Return": (order.returns, ReturnView)}
    if kind in records:
        items, view = records[kind]
        match = next((r for r in items if r.id == number), None)
        return view(ctx, order, match) if match else None
    return None


class JobView:
    """`Job`: polling it runs it."""

    def __init__(self, ctx: Context, job: Any) -> None:
        self.id = job.id
        self.done = job.done
        self.query = QueryRoot(ctx)


class QueryRoot:
    """`QueryRoot` fields the sandbox answers; others fall back to zero values."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def shop(self) -> ShopView:
        """The shop of the request."""
        return ShopView(self._ctx, self._ctx.shop)

    def customers(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        """`customers(first, after, query, sortKey, reverse)`."""
        ctx = self._ctx
        return customer_connection(ctx, ctx.store.shop_customers(ctx.shop.domain), **args)

    def customer(self, info: GraphQLResolveInfo, id: str) -> CustomerView | None:
        """`customer(id)`."""
        parsed = parse_gid(id)
        found = (self._ctx.store.customer(self._ctx.shop.domain, parsed[1])
                 if parsed and parsed[0] == "Customer" else None)
        return CustomerView(self._ctx, found) if found else None

    def customerByIdentifier(self, info: GraphQLResolveInfo,
                             identifier: dict[str, Any]) -> CustomerView | None:
        """`customerByIdentifier(identifier: {emailAddress | phoneNumber | id})`: exact matches."""
        ctx = self._ctx
        customers = sorted(ctx.store.shop_customers(ctx.shop.domain), key=lambda c: c.id)
        if identifier.get("id"):
            return self.customer(info, identifier["id"])
        found = None
        if identifier.get("emailAddress"):
            wanted = identifier["emailAddress"].strip().lower()
            found = next((c for c in customers if (c.email or "").lower() == wanted), None)
        elif identifier.get("phoneNumber"):
            wanted = identifier["phoneNumber"].strip()
            found = next((c for c in customers if c.phone == wanted), None)
        return CustomerView(ctx, found) if found else None

    def orders(self, info: GraphQLResolveInfo, savedSearchId: str | None = None,
               **args: Any) -> dict[str, Any]:
        """`orders(first, after, query, sortKey, reverse)`."""
        ctx = self._ctx
        return order_connection(ctx, ctx.store.shop_orders(ctx.shop.domain), **args)

    def order(self, info: GraphQLResolveInfo, id: str) -> OrderView | None:
        """`order(id)`."""
        found = operations.order_from_gid(self._ctx.store, self._ctx.shop.domain, id)
        return OrderView(self._ctx, found) if found else None

    def job(self, info: GraphQLResolveInfo, id: str) -> JobView | None:
        """`job(id)`: a queued job completes when polled."""
        job = self._ctx.store.jobs.get(id)
        if job is None or job.shop != self._ctx.shop.domain:
            return None
        operations.run_job(self._ctx.store, job)
        return JobView(self._ctx, job)

    def node(self, info: GraphQLResolveInfo, id: str) -> Any:
        """`node(id)`."""
        return find_node(self._ctx, id)

    def nodes(self, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
        """`nodes(ids)`."""
        return [find_node(self._ctx, value) for value in ids]


def _idempotency_key(info: GraphQLResolveInfo) -> str | None:
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return None if values is None else values.get("key")


def _fingerprint(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class MutationRoot:
    """`Mutation` fields the sandbox implements; any other mutation is refused."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def refundCreate(self, info: GraphQLResolveInfo,
                     input: dict[str, Any]) -> dict[str, Any]:
        """`refundCreate(input) @idempotent(key:)`: the key is required (2026-04+)."""
        ctx = self._ctx
        key = _idempotency_key(info)
        if key is None:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation. Provide an "
                "idempotency key with @idempotent(key: \"...\").",
                extensions={"code": "BAD_REQUEST"})
        if not key.strip():
            raise GraphQLError("The idempotency key cannot be an empty string or whitespace only.",
                               extensions={"code": "BAD_REQUEST"})
        fingerprint = _fingerprint(input)
        record = ctx.store.idempotency.get((ctx.shop.domain, key))
        if record is not None:
            if record["fingerprint"] != fingerprint:
                raise GraphQLError(
                    "The same idempotency key cannot be used with different operation "
                    "parameters.", extensions={"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"})
            return self._refund_payload(record["order_id"], record["refund_id"],
                                        record["user_errors"])
        refund, order, errors = operations.create_refund(ctx.store, ctx.shop.domain, input)
        ctx.store.idempotency[(ctx.shop.domain, key)] = {
            "fingerprint": fingerprint, "order_id": order.id if order else None,
            "refund_id": refund.id if refund else None, "user_errors": errors}
        return self._refund_payload(order.id if order else None,
                                    refund.id if refund else None, errors)

    def _refund_payload(self, order_id: int | None, refund_id: int | None,
                        errors: list[dict]) -> dict[str, Any]:
        # A replay is rebuilt from the current state, as Shopify documents.
        ctx = self._ctx
        order = ctx.store.orders.get(order_id) if order_id else None
        refund = next((r for r in order.refunds if r.id == refund_id), None) if order else None
        return {"order": OrderView(ctx, order) if order else None,
                "refund": RefundView(ctx, order, refund) if order and refund else None,
                "userErrors": errors}

    def orderCancel(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        """`orderCancel(...)`: a job that cancels when polled, or `orderCancelUserErrors`."""
        job, errors = operations.start_cancel(self._ctx.store, self._ctx.shop.domain, args)
        return {"job": JobView(self._ctx, job) if job else None, "jobResult": None,
                "orderCancelUserErrors": errors}

    def orderUpdate(self, info: GraphQLResolveInfo,
                    input: dict[str, Any]) -> dict[str, Any]:
        """`orderUpdate(input)`: overwrite note, tags, email, phone, shipping address."""
        order, errors = operations.update_order(self._ctx.store, self._ctx.shop.domain, input)
        return {"order": OrderView(self._ctx, order) if order else None, "userErrors": errors}

    def tagsAdd(self, info: GraphQLResolveInfo, id: str,
                tags: list[str]) -> dict[str, Any]:
        """`tagsAdd(id, tags)`."""
        return self._tags(id, tags, add=True)

    def tagsRemove(self, info: GraphQLResolveInfo, id: str,
                   tags: list[str]) -> dict[str, Any]:
        """`tagsRemove(id, tags)`."""
        return self._tags(id, tags, add=False)

    def _tags(self, node_id: str, tags: list[str], *, add: bool) -> dict[str, Any]:
        target, errors = operations.change_tags(self._ctx.store, self._ctx.shop.domain, node_id,
                                                tags, add=add)
        if target is None:
            return {"node": None, "userErrors": errors}
        view = (OrderView(self._ctx, target) if isinstance(target, Order)
                else CustomerView(self._ctx, target))
        return {"node": view, "userErrors": errors}
