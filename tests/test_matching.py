"""Finding the customer: emails, phones to E.164, the search box, and search-syntax escaping."""

from __future__ import annotations

import pytest

from plugin.card_data.matching import (
    SearchPlan,
    email_query,
    name_query,
    normalize_email,
    normalize_phone,
    order_name_query,
    phone_query,
    plan_search,
    search_literal,
)
from plugin.exceptions import ValidationError


@pytest.mark.parametrize(("raw", "expected"), [
    ("Bo.Wang@Example.COM", "bo.wang@example.com"),
    ("  bo@example.com\n", "bo@example.com"),
    ("", None),
    (None, None),
])
def test_emails_are_trimmed_and_lower_cased(raw, expected):
    """Emails match case-insensitively: trimmed and lower-cased."""
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["not an email", "a@b@c", "x" * 250 + "@example.com", "a@"])
def test_malformed_emails_are_refused(raw):
    """Something that is not an email address is a 400, not a search."""
    with pytest.raises(ValidationError):
        normalize_email(raw)


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+1 (415) 555-0100", None, "+14155550100"),
    ("+1.415.555.0100", None, "+14155550100"),
    ("001 415 555 0100", None, "+14155550100"),
    ("(415) 555-0100", "US", "+14155550100"),
    ("415-555-0100", "us", "+14155550100"),
    ("07700 900123", "GB", "+447700900123"),
    ("+44 7700 900123", "US", "+447700900123"),
    ("0044 7700 900123", None, "+447700900123"),
    ("030 1234567", "DE", "+49301234567"),
])
def test_phones_become_e164(raw, region, expected):
    """Formatting is stripped, 00 becomes +, national numbers use the shop's country."""
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(("raw", "region"), [
    ("(415) 555-0100", None),  # national number, country unknown
    ("12", "US"),
    ("call me maybe", "US"),
    ("+1 415 555 0100 ext 12; DROP", None),
    ("", "US"),
    (None, "US"),
    ("1" * 41, None),
])
def test_unreadable_phones_are_none(raw, region):
    """A number that can't be read with confidence is not searched at all."""
    assert normalize_phone(raw, region) is None


@pytest.mark.parametrize(("q", "plan"), [
    ("#1001", SearchPlan(text="#1001", order_number="1001")),
    ("# 1001", SearchPlan(text="# 1001", order_number="1001")),
    ("1001", SearchPlan(text="1001", order_number="1001")),
    ("  1001 ", SearchPlan(text="1001", order_number="1001")),
    ("Bo@Example.com", SearchPlan(text="Bo@Example.com", email="bo@example.com")),
    ("+1 415 555 0100", SearchPlan(text="+1 415 555 0100", phone="+14155550100")),
    ("Bo Wang", SearchPlan(text="Bo Wang", name="Bo Wang")),
    ("O'Brien", SearchPlan(text="O'Brien", name="O'Brien")),
])
def test_search_box_reads_order_numbers_emails_phones_and_names(q, plan):
    """`#1001`/`1001` → order, `@` → email, digits and + → phone, anything else → name."""
    assert plan_search(q, "US") == plan


def test_long_bare_number_searches_phone_and_order_number():
    """A 10-digit number could be a phone or a big shop's order number: both are searched."""
    plan = plan_search("4155550100", "US")
    assert plan.phone == "+14155550100"
    assert plan.order_number == "4155550100"
    assert plan.kinds == ("phone", "order_number")


def test_text_with_at_sign_that_is_no_email_is_a_name_search():
    """`a@b@c` is not an address: it is searched as words, not refused."""
    assert plan_search("a@b@c").name == "a@b@c"


@pytest.mark.parametrize("q", ["", "   ", None, "x" * 201])
def test_empty_and_huge_searches_are_refused(q):
    """Empty and over-200-character searches are 400s."""
    with pytest.raises(ValidationError):
        plan_search(q)


def test_exactly_200_characters_is_allowed():
    """The limit is inclusive."""
    assert plan_search("a" * 200).name == "a" * 200


@pytest.mark.parametrize(("text", "literal"), [
    ("bo", '"bo"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("OR", '"OR"'),
    ("-tag:vip", '"-tag:vip"'),
    ("(a OR b)*", '"(a OR b)*"'),
    ("line\nbreak", '"line break"'),
])
def test_search_literals_quote_and_escape_everything(text, literal):
    """Quotes and backslashes are escaped and the whole text quoted, so operators are text."""
    assert search_literal(text) == literal


def test_queries_are_field_scoped_and_quoted():
    """Email and phone searches are exact (quoted); names quote each word."""
    assert email_query("bo@example.com") == 'email:"bo@example.com"'
    assert phone_query("+14155550100") == 'phone:"+14155550100"'
    assert name_query('Bo  OR "x" *') == '"Bo" "OR" "\\"x\\"" "*"'
    assert order_name_query("1001") == "name:1001"


def test_order_query_refuses_anything_but_digits():
    """Order numbers reach the query only as digits."""
    with pytest.raises(ValueError):
        order_name_query("1001 OR *")
