"""The `edit_tags` action: tagsAdd/tagsRemove against the sandbox store (set semantics)."""

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
    """The registered tags action."""
    return get_action("edit_tags")


def tagged(store, tags=("gift", "vip")):
    """An order with tags."""
    return store.add_order(SHOP, tags=list(tags))


def test_add_and_remove_keep_the_other_tags(store, shopify, action):
    """Adding `rush` and removing `gift` leaves `vip` alone."""
    order = tagged(store)
    _, preview, result = run("edit_tags", shopify, order, {"add": ["rush"], "remove": ["gift"]})
    assert sorted(order.tags) == ["rush", "vip"]
    assert preview == {"before": ["gift", "vip"], "after": ["vip", "rush"], "added": ["rush"],
                       "removed": ["gift"]}
    assert sorted(result.details["tags"]) == ["rush", "vip"]
    assert len(result.details["request_ids"]) == 2


def test_a_tag_added_meanwhile_is_not_lost(store, shopify, action):
    """Another app tags the order between the card's read and the action: both survive."""
    order = tagged(store)
    presented = fresh_order(shopify, order)
    order.tags.append("fraud-check")
    action.perform(shopify, presented, action.validate({"add": ["rush"]}), idempotency_key="k")
    assert sorted(order.tags) == ["fraud-check", "gift", "rush", "vip"]


def test_repeating_the_edit_changes_nothing_more(store, shopify, action):
    """Set semantics: the same edit twice is the same result (a safe retry)."""
    order = tagged(store)
    body = {"add": ["Rush"], "remove": ["GIFT"]}
    run("edit_tags", shopify, order, body)
    run("edit_tags", shopify, order, body)
    assert sorted(order.tags) == ["Rush", "vip"]


def test_only_remove_or_only_add_calls_one_mutation(store, shopify, action):
    """No empty tagsAdd when only removing."""
    order = tagged(store)
    _, _, result = run("edit_tags", shopify, order, {"remove": ["vip"]})
    assert order.tags == ["gift"]
    assert len(result.details["request_ids"]) == 1
    assert "TagsAdd" not in store.stats(SHOP)["operations"]


def test_tags_change_on_cancelled_orders_too(store, shopify, action):
    """Available on a cancelled (and archived) order."""
    order = tagged(store)
    run("cancel", shopify, order, {"reason": "CUSTOMER"})
    presented = fresh_order(shopify, order)
    assert presented["status"]["order"] == "cancelled"
    assert action.availability(presented).available is True
    run("edit_tags", shopify, order, {"add": ["refund-checked"]})
    assert "refund-checked" in order.tags


def test_shopify_user_errors_are_422(store, shopify, action):
    """An order Shopify no longer has: its userError, 422."""
    order = tagged(store)
    presented = fresh_order(shopify, order)
    store.orders.pop(order.id)
    with pytest.raises(ShopifyUserError) as caught:
        action.perform(shopify, presented, action.validate({"add": ["x"]}),
                       idempotency_key="k")
    assert caught.value.http_status == 422
    assert caught.value.message == "Resource not found or does not support tags"


def test_summary_lists_added_and_removed(store, shopify, action):
    """One line with both lists."""
    order = tagged(store)
    body = {"add": ["rush", "vip2"], "remove": ["gift"]}
    presented, _, result = run("edit_tags", shopify, order, body)
    assert action.summary(presented, action.validate(body), result, AGENT) == (
        f"Dana (dana@x.com) edited the tags of order {order.name}: added rush, vip2; "
        "removed gift")


def test_too_many_tags_after_adding_is_400(store, shopify, action):
    """An order keeps at most 250 tags."""
    order = tagged(store, [f"t{i}" for i in range(200)])
    presented = fresh_order(shopify, order)
    with pytest.raises(ValidationError, match="250"):
        action.check(presented, action.validate({"add": [f"n{i}" for i in range(60)]}))


def test_tags_are_trimmed_and_deduplicated(action):
    """Whitespace trimmed; the same tag twice (any case) kept once."""
    assert action.validate({"add": [" rush ", "RUSH", "vip"]}) == {"add": ["rush", "vip"],
                                                                  "remove": []}


@pytest.mark.parametrize("body", [
    None,
    {},
    {"add": []},
    {"add": [], "remove": []},
    {"add": "rush"},
    {"add": [""]},
    {"add": ["   "]},
    {"add": [None]},
    {"add": [5]},
    {"add": ["a,b"]},
    {"add": ["x" * 256]},
    {"add": [f"t{i}" for i in range(251)]},
    {"add": ["rush"], "remove": ["Rush"]},
    {"add": ["rush"], "replace": ["vip"]},
    {"remove": {"vip": True}},
])
def test_malformed_tag_bodies_are_400(action, body):
    """Lists of non-empty strings without commas, ≤ 255 chars, ≤ 250; not in both lists."""
    with pytest.raises(ValidationError):
        action.validate(body)
