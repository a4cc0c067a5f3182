"""The `edit_note` action: replace or append through orderUpdate, against the sandbox."""

from __future__ import annotations

import action_fixtures
import pytest
from action_fixtures import AGENT, SHOP, fresh_order, run

from plugin.actions import get_action
from plugin.exceptions import ShopifyUserError, ValidationError

# Fixtures shared by the action tests (tests/actions/action_fixtures.py).
shop, shopify, store = action_fixtures.shop, action_fixtures.shopify, action_fixtures.store


@pytest.fixture
def action():
    """The registered note action."""
    return get_action("edit_note")


def test_replace_overwrites_the_note(store, shopify, action):
    """mode defaults to replace."""
    order = store.add_order(SHOP, note="Leave at the door")
    _, preview, result = run("edit_note", shopify, order, {"note": "Ring twice"})
    assert order.note == "Ring twice"
    assert preview == {"mode": "replace", "before": "Leave at the door", "after": "Ring twice"}
    assert result.details["note"] == "Ring twice"
    assert result.shopify_request_id


def test_append_adds_a_line(store, shopify, action):
    """append: the old note, a newline, the new text."""
    order = store.add_order(SHOP, note="Leave at the door")
    run("edit_note", shopify, order, {"note": "Customer called about delay", "mode": "append"})
    assert order.note == "Leave at the door\nCustomer called about delay"


def test_append_to_an_empty_note_is_just_the_text(store, shopify, action):
    """No leading newline when there was no note."""
    order = store.add_order(SHOP)
    run("edit_note", shopify, order, {"note": "First note", "mode": "append"})
    assert order.note == "First note"


def test_empty_replace_clears_the_note(store, shopify, action):
    """An empty note with replace clears it."""
    order = store.add_order(SHOP, note="old")
    presented, _, result = run("edit_note", shopify, order, {"note": ""})
    assert not order.note
    assert action.summary(presented, action.validate({"note": ""}), result, AGENT) == (
        f"Dana (dana@x.com) cleared the note of order {order.name}")


def test_note_changes_on_cancelled_orders(store, shopify, action):
    """Available after cancellation."""
    order = store.add_order(SHOP)
    run("cancel", shopify, order, {"reason": "OTHER"})
    assert action.availability(fresh_order(shopify, order)).available is True
    run("edit_note", shopify, order, {"note": "Cancelled by phone"})
    assert order.note == "Cancelled by phone"


def test_append_beyond_5000_characters_is_400(store, shopify, action):
    """The resulting note must fit: `check` refuses before Shopify."""
    order = store.add_order(SHOP, note="x" * 4990)
    presented = fresh_order(shopify, order)
    with pytest.raises(ValidationError, match="5000"):
        action.check(presented, action.validate({"note": "y" * 20, "mode": "append"}))


def test_shopify_user_errors_are_422(store, shopify, action):
    """An order Shopify no longer has: its userError, 422."""
    order = store.add_order(SHOP)
    presented = fresh_order(shopify, order)
    store.orders.pop(order.id)
    with pytest.raises(ShopifyUserError) as caught:
        action.perform(shopify, presented, action.validate({"note": "x"}), idempotency_key="k")
    assert caught.value.http_status == 422
    assert caught.value.message == "Order does not exist"


def test_summary_quotes_the_note(store, shopify, action):
    """One line; long notes are cut, line breaks flattened."""
    order = store.add_order(SHOP, note="a")
    body = {"note": "Called\ncustomer " + "z" * 200, "mode": "append"}
    presented, _, result = run("edit_note", shopify, order, body)
    text = action.summary(presented, action.validate(body), result, AGENT)
    assert text.startswith(f"Dana (dana@x.com) added to the note of order {order.name}: "
                           "\"Called customer zzz")
    assert "\n" not in text and text.endswith("…\"")


@pytest.mark.parametrize("body", [
    None,
    {},
    {"note": None},
    {"note": 5},
    {"note": ["a"]},
    {"note": "x" * 5001},
    {"note": "a", "mode": "prepend"},
    {"note": "a", "mode": None, "extra": 1},
    {"note": "a", "mode": True},
    {"note": "", "mode": "append"},
    {"note": "bad\x00byte"},
])
def test_malformed_note_bodies_are_400(action, body):
    """A string note up to 5,000 characters; mode replace or append."""
    with pytest.raises(ValidationError):
        action.validate(body)
