"""refundCreate's @idempotent(key:): required, replays the first result, refuses other input."""

from __future__ import annotations

import pytest
from sandbox_kit import REFUND, gid, refund_input

WITHOUT_DIRECTIVE = """
mutation RefundCreate($input: RefundInput!) {
  refundCreate(input: $input) { refund { id } userErrors { field message } }
}"""


def test_same_key_and_input_replays_without_refunding_twice(sandbox, paid_order):
    """A resent refund (same key, same input) returns the first refund; money moves once."""
    variables = {"key": "retry-me", "input": refund_input(paid_order, amount="20.00")}
    first = sandbox.gql(REFUND, variables)["refundCreate"]
    second = sandbox.gql(REFUND, variables)["refundCreate"]
    assert second["refund"]["id"] == first["refund"]["id"]
    assert len(paid_order.refunds) == 1
    assert second["order"]["totalRefundedSet"]["shopMoney"]["amount"] == "20.0"


def test_same_key_with_other_input_is_refused(sandbox, paid_order):
    """Reusing a key for a different refund is an IDEMPOTENCY_KEY_PARAMETER_MISMATCH error."""
    sandbox.gql(REFUND, {"key": "k", "input": refund_input(paid_order, amount="20.00")})
    errors = sandbox.errors(REFUND, {"key": "k", "input": refund_input(paid_order,
                                                                       amount="21.00")})
    assert errors[0]["extensions"]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert errors[0]["path"] == ["refundCreate"]
    assert len(paid_order.refunds) == 1


def test_replay_of_a_refused_refund_repeats_its_user_errors(sandbox, paid_order):
    """The first answer is what a replay gives, user errors included."""
    variables = {"key": "too-much", "input": refund_input(paid_order, amount="999.00")}
    first = sandbox.gql(REFUND, variables)["refundCreate"]
    assert sandbox.gql(REFUND, variables)["refundCreate"]["userErrors"] == first["userErrors"]


def test_keys_are_per_shop(sandbox, store, paid_order):
    """The same key in another shop is a different request."""
    store.add_shop("other-shop.myshopify.com")
    other = store.add_order("other-shop.myshopify.com",
                            lines=[{"title": "Cap", "price": "10.00"}])
    token = store.issue_tokens("other-shop.myshopify.com")["access_token"]
    sandbox.gql(REFUND, {"key": "shared", "input": refund_input(paid_order, amount="5.00")})
    response = sandbox.post(REFUND, {"key": "shared", "input": refund_input(other,
                                                                            amount="5.00")},
                            token=token,
                            path="/other-shop.myshopify.com/admin/api/2026-10/graphql.json")
    assert response.json()["data"]["refundCreate"]["userErrors"] == []


def test_the_directive_is_required(sandbox, paid_order):
    """Without @idempotent (required since 2026-04) nothing is refunded."""
    errors = sandbox.errors(WITHOUT_DIRECTIVE, {"input": refund_input(paid_order,
                                                                      amount="5.00")})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert "@idempotent" in errors[0]["message"]
    assert paid_order.refunds == []


@pytest.mark.parametrize("key", ["", "   "])
def test_blank_keys_are_refused(sandbox, paid_order, key):
    """An empty or whitespace key is an error, not a key."""
    errors = sandbox.errors(REFUND, {"key": key, "input": refund_input(paid_order,
                                                                      amount="5.00")})
    assert "empty" in errors[0]["message"]


def test_the_directive_is_refused_on_other_mutations(sandbox, paid_order):
    """@idempotent only belongs on the mutations that support it (not tagsAdd)."""
    errors = sandbox.errors("""mutation($id: ID!) { tagsAdd(id: $id, tags: ["x"])
      @idempotent(key: "k") { userErrors { message } } }""", {"id": gid("Order", paid_order.id)})
    assert "not supported" in errors[0]["message"]
