"""Run one Admin GraphQL request: parse, validate, price, throttle, execute, answer like Shopify."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    execute,
    get_nullable_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    is_scalar_type,
    parse,
)
from graphql.error import GraphQLSyntaxError
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode, OperationType

from plugin.sandbox.cost import MAX_QUERY_COST, CostMeter, requested_cost
from plugin.sandbox.roots import IDEMPOTENT_MUTATIONS, MutationRoot, QueryRoot
from plugin.sandbox.schema import load_schema, validation_errors
from plugin.sandbox.store import BUCKET_SIZE, RESTORE_RATE, SandboxStore
from plugin.sandbox.views import Context, iso
from plugin.sandbox.wire import QUERY_KEY

log = logging.getLogger("sidecard.sandbox")

THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"
_MISSING = object()
SCALAR_ZEROS: dict[str, Any] = {"Boolean": False, "Int": 0, "Float": 0.0, "String": "",
                                "ID": "", "Money": "0.0", "Decimal": "0.0",
                                "UnsignedInt64": "0", "JSON": {}, "HTML": "",
                                "FormattedString": "", "UtcOffset": "+00:00"}


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """graphql-core's default resolver, plus zero values for fields the sandbox doesn't model."""
    name = info.field_name
    if info.parent_type is info.schema.mutation_type and name not in IDEMPOTENT_MUTATIONS and any(
            d.name.value == "idempotent" for d in info.field_nodes[0].directives or ()):
        raise GraphQLError(f"The @idempotent directive is not supported on {name}.",
                           extensions={"code": "BAD_REQUEST"})
    if isinstance(source, Mapping):
        value = source.get(name, _MISSING)
    else:
        value = getattr(source, name, _MISSING)
    if value is _MISSING:
        if info.parent_type is info.schema.mutation_type:
            raise GraphQLError(f"The sandbox store does not implement the mutation '{name}'.",
                               extensions={"code": "SANDBOX_UNSUPPORTED"})
        return zero_value(info)
    if callable(value):
        return value(info, **args)
    return value


def zero_value(info: GraphQLResolveInfo) -> Any:
    """A harmless value of the field's type, so valid queries never fail on unmodelled fields."""
    ctx: Context = info.context
    ctx.store.unmodelled_fields.add(f"{info.parent_type.name}.{info.field_name}")
    if not is_non_null_type(info.return_type):
        return None
    inner = get_nullable_type(info.return_type)
    if is_list_type(inner):
        return []
    if is_scalar_type(inner):
        if inner.name == "DateTime":
            return iso(ctx.store.now())
        if inner.name == "URL":
            return f"https://{ctx.shop.domain}/"
        return SCALAR_ZEROS.get(inner.name, "")
    if is_enum_type(inner):
        if inner.name == "CurrencyCode":
            return ctx.shop.currency
        if inner.name == "CountryCode":
            return ctx.shop.country_code
        return next(iter(inner.values))
    if is_object_type(inner):
        return {}
    # Interface or union: the first concrete type stands in.
    return {"__typename": info.schema.get_possible_types(inner)[0].name}


def type_resolver(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    """Views carry `typename`; dicts carry `__typename`."""
    if isinstance(value, Mapping):
        return value.get("__typename")
    return getattr(value, "typename", None)


def _error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def _format(error: GraphQLError) -> dict[str, Any]:
    formatted = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    if "code" not in extensions:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            log.error("sandbox resolver failed: %r", original, exc_info=original)
            extensions["code"] = "INTERNAL_SERVER_ERROR"
        else:
            extensions["code"] = "INVALID_VARIABLE" if error.path is None else "BAD_REQUEST"
    formatted["extensions"] = extensions
    return formatted


def _cost(requested: int, actual: int | None, available: float) -> dict[str, Any]:
    return {"requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": BUCKET_SIZE,
                               "currentlyAvailable": int(available),
                               "restoreRate": RESTORE_RATE}}


@lru_cache(maxsize=512)
def checked_document(query: str) -> tuple[DocumentNode | None, tuple[dict[str, Any], ...]]:
    """Parse and validate a document once per distinct text (ASTs are never mutated)."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        error = dict(exc.formatted)
        error["extensions"] = {"code": "parseError"}
        return None, (error,)
    errors = validation_errors(load_schema(), document)
    return document, tuple(_format(e) for e in errors)


def run_graphql(store: SandboxStore, shop: str, payload: Mapping[str, Any], *,
                force_throttle: bool = False) -> dict[str, Any]:
    """The JSON body Shopify would answer (HTTP 200) to one GraphQL request."""
    schema = load_schema()
    variables = payload.get("variables") or {}
    operation_name = payload.get("operationName") or None
    document, errors = checked_document(str(payload.get(QUERY_KEY)))
    if document is None or errors:
        return {"errors": [dict(e) for e in errors]}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operation = (next((o for o in operations if o.name and o.name.value == operation_name), None)
                 if operation_name else (operations[0] if len(operations) == 1 else None))
    if operation is None:
        return {"errors": [_error("An operation name is required when the document has several "
                                  "operations (or operationName matched none)",
                                  "OPERATION_NOT_FOUND")]}
    requested = requested_cost(schema, operation, fragments, variables)
    with store.lock:
        bucket = store.bucket(shop)
        stats = store.stats_for(shop)
        stats.operations[operation.name.value if operation.name else "(anonymous)"] += 1
        if requested > MAX_QUERY_COST:
            return {"errors": [_error(
                f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({MAX_QUERY_COST}).", "MAX_COST_EXCEEDED", cost=requested,
                maxCost=MAX_QUERY_COST)]}
        if force_throttle or bucket.available < requested:
            stats.throttled += 1
            # An injected throttle reports a nearly-full bucket so clients wait only briefly.
            available = (max(0.0, requested - RESTORE_RATE * 0.1) if force_throttle
                         else bucket.available)
            return {"errors": [_error("Throttled", "THROTTLED", documentation=THROTTLE_DOCS)],
                    "extensions": {"cost": _cost(requested, None, available)}}
        bucket.available -= requested
        ctx = Context(store=store, shop=store.shops[shop])
        meter = CostMeter(schema)
        is_mutation = operation.operation is OperationType.MUTATION
        root = MutationRoot(ctx) if is_mutation else QueryRoot(ctx)
        result = execute(schema, document, root_value=root, context_value=ctx,
                         variable_values=variables, operation_name=operation_name,
                         field_resolver=field_resolver, type_resolver=type_resolver,
                         middleware=[meter])
        actual = min(meter.total, requested) if result.data is not None else 0
        bucket.available = min(BUCKET_SIZE, bucket.available + requested - actual)
        stats.graphql_calls += 1
        stats.requested_cost += requested
        stats.actual_cost += actual
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_format(e) for e in result.errors]
        if result.data is not None or not result.errors:
            body["data"] = result.data
        extensions: dict[str, Any] = {"cost": _cost(requested, actual, bucket.available)}
        if ctx.search_warnings:
            extensions["search"] = [{"path": [], QUERY_KEY: "", "warnings": [
                {"field": name, "message": "Invalid search field for this query."}
                for name in sorted(set(ctx.search_warnings))]}]
        body["extensions"] = extensions
        return body
