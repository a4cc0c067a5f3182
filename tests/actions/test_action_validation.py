"""The shared validators and the five actions' registry entries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugin.actions import all_actions, get_action
from plugin.actions import validation as v
from plugin.actions.base import agent_label, money_text
from plugin.exceptions import NotFoundError, ValidationError


def test_registry_holds_the_five_actions_in_card_order():
    """Names, labels, order and scopes as the card and the service read them."""
    actions = all_actions()
    assert [a.name for a in actions] == ["refund", "cancel", "update_shipping_address",
                                         "edit_tags", "edit_note"]
    assert all(a.label for a in actions)
    assert all(a.scopes == {"read_orders", "write_orders"} for a in actions)
    assert [a.name for a in actions if a.monetary] == ["refund", "cancel"]
    with pytest.raises(NotFoundError):
        get_action("delete_everything")


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", Decimal("12.50")),
    ("12.5", Decimal("12.50")),
    ("7", Decimal("7.00")),
    (" 0.01 ", Decimal("0.01")),
])
def test_money_accepts_positive_decimal_strings(value, expected):
    """Two places at most, greater than zero, returned as Decimal."""
    assert v.money(value, "amount") == expected


@pytest.mark.parametrize("value", [12.5, 12, True, None, "", "-1", "0", "0.00", "1.999",
                                   "1,50", "1e2", "Infinity", "NaN", "$5", "99999999999999"])
def test_money_refuses_everything_else(value):
    """Numbers, negatives, zero, three places, exponents, symbols: 400."""
    with pytest.raises(ValidationError) as caught:
        v.money(value, "amount")
    assert caught.value.to_dict()["field"] == "amount"


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None])
def test_integer_refuses_non_integers(value):
    """Booleans are not integers here, nor are strings or floats."""
    with pytest.raises(ValidationError):
        v.integer(value, "quantity", minimum=1)


@pytest.mark.parametrize("value", [1, 0, "true", "false", None, "yes"])
def test_boolean_refuses_truthy_values(value):
    """Only JSON true/false."""
    with pytest.raises(ValidationError):
        v.boolean(value, "notify")


@pytest.mark.parametrize(("value", "expected"), [
    ("123", "123"), (123, "123"), ("gid://shopify/LineItem/123", "123"), ("0042", "42")])
def test_numeric_id_accepts_numbers_and_gids(value, expected):
    """Numbers, numeric strings and GIDs of the kind."""
    assert v.numeric_id(value, "id", "LineItem") == expected


@pytest.mark.parametrize("value", ["0", "-1", "abc", "gid://shopify/Order/1", True, 1.5, None,
                                   "1" * 21])
def test_numeric_id_refuses_other_values(value):
    """Zero, negatives, other kinds, booleans, floats, absurd lengths."""
    with pytest.raises(ValidationError):
        v.numeric_id(value, "id", "LineItem")


def test_require_object_names_unknown_and_missing_fields():
    """The field goes into the error body."""
    with pytest.raises(ValidationError) as caught:
        v.require_object({"a": 1, "zzz": 2}, allowed=("a",))
    assert caught.value.to_dict()["field"] == "zzz"
    with pytest.raises(ValidationError) as caught:
        v.require_object({}, field="address", allowed=("city",), required=("city",))
    assert caught.value.to_dict()["field"] == "address.city"


def test_string_limits_and_control_characters():
    """Trimmed, length-checked, no control characters (newlines only when multiline)."""
    assert v.string("  hi ", "f", max_length=5) == "hi"
    with pytest.raises(ValidationError):
        v.string("abcdef", "f", max_length=5)
    with pytest.raises(ValidationError):
        v.string("a\nb", "f", max_length=5)
    assert v.string("a\nb", "f", max_length=5, multiline=True) == "a\nb"
    with pytest.raises(ValidationError):
        v.string("a\x07b", "f", max_length=5, multiline=True)


def test_country_list_is_shopifys_without_unknown_region():
    """244 codes, ZZ excluded."""
    assert len(v.COUNTRY_CODES) == 244
    assert "ZZ" not in v.COUNTRY_CODES and {"US", "XK", "AC"} <= v.COUNTRY_CODES


def test_summary_helpers():
    """Agent and money as notes print them."""
    assert agent_label({"name": "Dana", "email": "dana@x.com"}) == "Dana (dana@x.com)"
    assert agent_label({"email": "dana@x.com"}) == "dana@x.com"
    assert money_text("25", "USD") == "$25.00 USD"
    assert money_text(Decimal("1234.5"), "CHF") == "1,234.50 CHF"
    assert money_text("500", "JPY") == "¥500 JPY"
