"""Shopify's real Admin GraphQL schema (2026-10), loaded once per process, and document checks."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, build_client_schema, validate
from graphql.language import DocumentNode, FieldNode
from graphql.validation import (
    FieldsOnCorrectTypeRule,
    KnownArgumentNamesRule,
    KnownDirectivesRule,
    KnownTypeNamesRule,
    NoDeprecatedCustomRule,
    NoUndefinedVariablesRule,
    NoUnusedVariablesRule,
    ProvidedRequiredArgumentsRule,
    ScalarLeafsRule,
    VariablesInAllowedPositionRule,
    specified_rules,
)

# <repo>/../shared/shopify/: the same file ../shared/tools/validate_graphql.py checks against.
SCHEMA_PATH = (Path(__file__).resolve().parents[2].parent / "shared" / "shopify"
               / "admin_2026-10.json.gz")

_lock = threading.Lock()
_schema: GraphQLSchema | None = None


class SchemaMissingError(RuntimeError):
    """The Admin schema file is not where the sandbox expects it."""


class NoDeprecated(NoDeprecatedCustomRule):
    """The stock rule, made safe for schemas built from introspection (no AST on fields).

    Same approach as ../shared/tools/validate_graphql.py: deprecated fields, arguments and
    enum values are errors, so Sidecard never ships a query that leans on them.
    """

    def enter_argument(self, node, key=None, parent=None, path=None, ancestors=None):
        """Report a deprecated argument (of a field or a directive)."""
        arg_def = self.context.get_argument()
        if arg_def is None or arg_def.deprecation_reason is None:
            return
        directive = self.context.get_directive()
        if directive is not None:
            where = f"@{directive.name}"
        else:
            field = next((a.name.value for a in reversed(ancestors or [])
                          if isinstance(a, FieldNode)), "?")
            where = f"{self.context.get_parent_type()}.{field}"
        self.report_error(GraphQLError(
            f"The argument '{where}({node.name.value}:)' is deprecated. "
            f"{arg_def.deprecation_reason}", node))


RULES = [*specified_rules, NoDeprecated]

# graphql-ruby's error codes (what Shopify answers) for the rules whose failures are common.
RULE_CODES = {
    FieldsOnCorrectTypeRule: "undefinedField",
    KnownArgumentNamesRule: "argumentNotAccepted",
    ProvidedRequiredArgumentsRule: "missingRequiredArguments",
    KnownTypeNamesRule: "undefinedType",
    ScalarLeafsRule: "selectionMismatch",
    VariablesInAllowedPositionRule: "variableMismatch",
    NoUndefinedVariablesRule: "variableNotDefined",
    NoUnusedVariablesRule: "variableNotUsed",
    KnownDirectivesRule: "undefinedDirective",
    NoDeprecated: "deprecated",
}


def load_schema(path: Path | None = None) -> GraphQLSchema:
    """The 2026-10 Admin schema, built on first use and cached for the process.

    :raises SchemaMissingError: the schema file is absent.
    """
    global _schema
    if _schema is not None and path is None:
        return _schema
    with _lock:
        if _schema is not None and path is None:
            return _schema
        source = path or SCHEMA_PATH
        if not source.is_file():
            raise SchemaMissingError(
                f"Shopify Admin schema not found at {source}; the sandbox store validates and "
                "executes every document against it (expected ../shared/shopify/ next to the repo)."
            )
        with gzip.open(source, "rb") as handle:
            data = json.load(handle)
        schema = build_client_schema(data.get("data", data), assume_valid=True)
        if path is None:
            _schema = schema
        return schema


def validation_errors(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """Every validation error of `document`, each tagged with a Shopify-style `extensions.code`."""
    errors = validate(schema, document, RULES)
    if not errors:
        return []
    # Re-run rule by rule only on failure, to learn which rule each message came from.
    codes: dict[str, str] = {}
    for rule, code in RULE_CODES.items():
        for error in validate(schema, document, [rule]):
            codes.setdefault(error.message, code)
    tagged = []
    for error in errors:
        code = codes.get(error.message, "validationFailed")
        tagged.append(GraphQLError(error.message, nodes=error.nodes,
                                   extensions={"code": code}))
    return tagged
