"""Shopify-style calculated query cost: a static estimate before running, the real one after.

Model (simple, but the same shape as Shopify's): scalars and enums 0, objects 1, connections
2 plus `first` (or `last`) times the cost of one node, plain lists `first` times their item,
mutation fields 10. The actual cost counts the objects resolvers really returned.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLResolveInfo,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql.language import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)

MUTATION_COST = 10
CONNECTION_COST = 2
MAX_QUERY_COST = 1000


def _kind(type_name: str) -> str:
    if type_name.endswith("Connection"):
        return "connection"
    if type_name.endswith("Edge") or type_name == "PageInfo":
        return "free"
    return "object"


def _int_arg(field: FieldNode, name: str, variables: dict[str, Any]) -> int | None:
    for arg in field.arguments or ():
        if arg.name.value != name:
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            return int(value) if isinstance(value, int) else None
    return None


def _included(node: Any, variables: dict[str, Any]) -> bool:
    """Honour @include(if:) and @skip(if:), as execution will."""
    for directive in node.directives or ():
        name = directive.name.value
        if name not in {"include", "skip"}:
            continue
        value: Any = None
        for arg in directive.arguments or ():
            if arg.name.value == "if":
                value = (variables.get(arg.value.name.value)
                         if isinstance(arg.value, VariableNode)
                         else getattr(arg.value, "value", None))
        if (name == "include" and value is False) or (name == "skip" and value is True):
            return False
    return True


def requested_cost(schema: GraphQLSchema, operation: OperationDefinitionNode,
                   fragments: dict[str, FragmentDefinitionNode],
                   variables: dict[str, Any]) -> int:
    """The cost Shopify would reserve before running `operation`."""
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        default = definition.default_value
        if name not in values and isinstance(default, IntValueNode):
            values[name] = int(default.value)
        elif name not in values and isinstance(default, BooleanValueNode):
            values[name] = default.value
    root = (schema.mutation_type if operation.operation is OperationType.MUTATION
            else schema.query_type)
    return _selection_cost(schema, root, operation.selection_set, fragments, values,
                           page=None, mutation_root=operation.operation is OperationType.MUTATION)


def _selection_cost(schema: GraphQLSchema, parent: Any, selection_set: SelectionSetNode | None,
                    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any], *,
                    page: int | None, mutation_root: bool = False) -> int:
    if selection_set is None or parent is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if not _included(selection, variables):
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                target = schema.get_type(fragment.type_condition.name.value)
                total += _selection_cost(schema, target, fragment.selection_set, fragments,
                                         variables, page=page, mutation_root=mutation_root)
            continue
        if isinstance(selection, InlineFragmentNode):
            target = (schema.get_type(selection.type_condition.name.value)
                      if selection.type_condition else parent)
            total += _selection_cost(schema, target, selection.selection_set, fragments,
                                     variables, page=page, mutation_root=mutation_root)
            continue
        total += _field_cost(schema, parent, selection, fragments, variables, page=page,
                             mutation_root=mutation_root)
    return total


def _field_cost(schema: GraphQLSchema, parent: Any, field: FieldNode,
                fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any], *,
                page: int | None, mutation_root: bool) -> int:
    name = field.name.value
    definition = getattr(parent, "fields", {}).get(name)
    if definition is None:
        return 0
    named = get_named_type(definition.type)
    if is_leaf_type(named):
        return 0
    size = _int_arg(field, "first", variables) or _int_arg(field, "last", variables)
    kind = _kind(named.name)
    child = _selection_cost(schema, named, field.selection_set, fragments, variables,
                            page=size if kind == "connection" else None)
    if mutation_root:
        return MUTATION_COST + child
    own = {"connection": CONNECTION_COST, "free": 0, "object": 1}[kind] + child
    if is_list_type(get_nullable_type(definition.type)):
        in_connection = name in {"edges", "nodes"} and getattr(parent, "name", "").endswith(
            "Connection")
        multiplier = (page if in_connection else size) or 1
        return own * multiplier
    return own


class CostMeter:
    """graphql-core middleware adding up the objects the resolvers actually returned."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.total = 0
        self._mutation = schema.mutation_type

    def resolve(self, next_: Any, root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        """Resolve the field, then count what it returned."""
        result = next_(root, info, **args)
        self._count(info, result)
        return result

    def _count(self, info: GraphQLResolveInfo, result: Any) -> None:
        named = get_named_type(info.return_type)
        if is_leaf_type(named) or result is None:
            return
        if info.parent_type is self._mutation:
            self.total += MUTATION_COST
            return
        kind = _kind(named.name)
        if kind == "connection":
            self.total += CONNECTION_COST
        elif kind == "object":
            self.total += (sum(1 for r in result if r is not None)
                           if isinstance(result, list) else 1)
