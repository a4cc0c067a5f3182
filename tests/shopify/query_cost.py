"""An estimate of Shopify's requested query cost, to keep operations under the 1,000 limit.

Rules (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and enums
cost 0, objects 1, a connection 2 plus `first` times the cost of one node, a mutation 10. Lists
sized by `first` are counted like connections; unsized lists of objects as one object. Union
and interface selections are summed and pageInfo counts as an object (over-estimates, on
purpose); @include/@skip follow the variables.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
    build_client_schema,
    get_named_type,
    is_leaf_type,
    parse,
    value_from_ast_untyped,
)

SCHEMA_PATH = (Path(__file__).resolve().parents[3] / "shared" / "shopify"
               / "admin_2026-10.json.gz")


@cache
def schema():
    """The 2026-10 Admin schema."""
    raw = json.loads(gzip.open(SCHEMA_PATH).read())
    return build_client_schema(raw.get("data", raw), assume_valid=True)


def _unwrap(gql_type):
    """(named type, is_list) of a field's output type."""
    is_list = False
    while isinstance(gql_type, (GraphQLNonNull, GraphQLList)):
        if isinstance(gql_type, GraphQLList):
            is_list = True
        gql_type = gql_type.of_type
    return gql_type, is_list


def estimate_cost(document: str, variables: dict | None = None) -> int:
    """Estimated requestedQueryCost of the (single) operation in `document`."""
    doc = parse(document)
    fragments = {d.name.value: d for d in doc.definitions if hasattr(d, "type_condition")
                 and not isinstance(d, InlineFragmentNode)}
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    values = {v.variable.name.value: (value_from_ast_untyped(v.default_value)
                                      if v.default_value else None)
              for v in op.variable_definitions or ()}
    values.update(variables or {})
    if op.operation.value == "mutation":
        return 10
    root = schema().query_type

    def size(field: FieldNode) -> int | None:
        for arg in field.arguments or ():
            if arg.name.value in ("first", "last"):
                if isinstance(arg.value, VariableNode):
                    return int(values[arg.value.name.value])
                if isinstance(arg.value, IntValueNode):
                    return int(arg.value.value)
        return None

    def included(sel) -> bool:
        for directive in sel.directives or ():
            arg = directive.arguments[0].value
            value = values.get(arg.name.value) if isinstance(arg, VariableNode) else arg.value
            if directive.name.value == "include" and not value:
                return False
            if directive.name.value == "skip" and value:
                return False
        return True

    def selection_cost(parent: GraphQLObjectType, selection_set) -> int:
        total = 0
        for sel in selection_set.selections:
            if not included(sel):
                continue
            if isinstance(sel, FragmentSpreadNode):
                frag = fragments[sel.name.value]
                total += selection_cost(schema().get_type(frag.type_condition.name.value),
                                        frag.selection_set)
            elif isinstance(sel, InlineFragmentNode):
                total += selection_cost(schema().get_type(sel.type_condition.name.value),
                                        sel.selection_set)
            else:
                total += field_cost(parent, sel)
        return total

    def field_cost(parent, field: FieldNode) -> int:
        name = field.name.value
        if name == "__typename":
            return 0
        definition = parent.fields[name]
        named, is_list = _unwrap(definition.type)
        if is_leaf_type(named):
            return 0
        children = selection_cost(named, field.selection_set) if field.selection_set else 0
        count = size(field)
        if named.name.endswith("Connection"):
            node_cost = 0
            for sel in field.selection_set.selections:
                if isinstance(sel, FieldNode) and sel.name.value in ("nodes", "edges"):
                    node_cost += field_cost(named, sel) if sel.name.value == "edges" else (
                        1 + selection_cost(get_named_type(named.fields["nodes"].type),
                                           sel.selection_set))
                elif isinstance(sel, FieldNode) and sel.name.value == "pageInfo":
                    node_cost += 0  # counted once below
            return 2 + (count or 1) * node_cost + 1
        if is_list and count is not None:
            return 2 + count * (1 + children)
        return 1 + children

    return selection_cost(root, op.selection_set)
