"""The GraphQL documents: valid against Shopify's 2026-10 schema, named like their files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, OperationType, parse
from query_cost import estimate_cost

from plugin.shopify import operations

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT.parent / "shared" / "tools" / "validate_graphql.py"
OPERATIONS = ROOT / "plugin" / "shopify" / "operations"
OPERATION_FILES = sorted(OPERATIONS.glob("*.graphql"))
FRAGMENT_FILES = sorted((OPERATIONS / "fragments").glob("*.graphql"))
# Shopify refuses a single query whose requested cost exceeds 1,000 points.
MAX_QUERY_COST = 1000


def test_operations_validate_against_the_2026_10_schema():
    """The shared validator (deprecated fields are errors) passes the whole folder."""
    assert VALIDATOR.is_file(), f"validator missing at {VALIDATOR}"
    done = subprocess.run([sys.executable, str(VALIDATOR), str(OPERATIONS)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(OPERATION_FILES)} operation(s) checked, 0 error(s)" in done.stdout


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda p: p.stem)
def test_each_file_holds_one_operation_named_like_the_file(path):
    """RefundCreate.graphql holds exactly `mutation RefundCreate`, and nothing else."""
    definitions = parse(path.read_text()).definitions
    assert len(definitions) == 1 and isinstance(definitions[0], OperationDefinitionNode)
    assert definitions[0].name.value == path.stem


@pytest.mark.parametrize("path", FRAGMENT_FILES, ids=lambda p: p.stem)
def test_each_fragment_file_holds_one_fragment_named_like_the_file(path):
    """fragments/MoneyBagFields.graphql holds exactly `fragment MoneyBagFields`."""
    definitions = parse(path.read_text()).definitions
    assert len(definitions) == 1 and isinstance(definitions[0], FragmentDefinitionNode)
    assert definitions[0].name.value == path.stem


def test_product_operations_exist():
    """Every operation the product relies on is present."""
    assert set(operations.names()) >= {
        "ShopInfo", "CustomerSearch", "CustomerCard", "OrderSearch", "OrderDetail",
        "SuggestedRefund", "RefundCreate", "OrderCancel", "JobPoll", "OrderUpdate", "TagsAdd",
        "TagsRemove"}


def test_load_appends_every_fragment_the_operation_uses_once():
    """CustomerCard gets OrderFields and the fragments OrderFields uses, each once."""
    text = operations.load("CustomerCard").text
    for name in ("CustomerHeaderFields", "OrderFields", "LineItemFields", "MoneyBagFields",
                 "MailingAddressFields"):
        assert text.count(f"fragment {name} on") == 1
    document = parse(text)  # a complete, self-contained document
    assert sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) == 1
    assert "fragment OrderFields" not in operations.load("ShopInfo").text


@pytest.mark.parametrize("name, kind, idempotent", [
    ("RefundCreate", OperationType.MUTATION, True),
    ("OrderCancel", OperationType.MUTATION, False),
    ("OrderUpdate", OperationType.MUTATION, False),
    ("TagsAdd", OperationType.MUTATION, False),
    ("CustomerCard", OperationType.QUERY, False),
])
def test_retry_safety_comes_from_the_document(name, kind, idempotent):
    """Only queries and @idempotent mutations count as safe to resend."""
    op = operations.load(name)
    assert (op.kind, op.idempotent) == (kind, idempotent)
    assert op.retry_safe == (kind is OperationType.QUERY or idempotent)


@pytest.mark.parametrize("name", [p.stem for p in OPERATION_FILES])
def test_requested_cost_stays_under_shopifys_limit(name):
    """Estimated with Shopify's cost rules and the documents' default sizes: < 1,000."""
    assert estimate_cost(operations.load(name).text) < MAX_QUERY_COST


def test_customer_card_cost_budget():
    """The card's default page (5 orders, 8 lines each) keeps headroom under 1,000."""
    assert estimate_cost(operations.load("CustomerCard").text) <= 900
