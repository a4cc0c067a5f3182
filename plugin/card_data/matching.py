"""Finding the customer: normalising emails and phones, reading the agent's search box,
and writing Shopify search queries in which the agent's text is always a literal."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

from plugin.exceptions import ValidationError

MAX_QUERY_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 40

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# `#1001` or a bare number short enough to be an order number rather than a phone number.
_ORDER_NUMBER = re.compile(r"^#\s*(\d{1,12})$")
_SHORT_NUMBER = re.compile(r"^(\d{1,7})$")
# Phone-looking input: digits with the usual separators, optionally a leading + or 00.
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_email(value: str | None) -> str | None:
    """Lower-case, trimmed email, or None when empty.

    :raises ValidationError: not an email address, or longer than 254 characters.
    """
    if value is None:
        return None
    email = unicodedata.normalize("NFC", str(value)).strip().lower()
    if not email:
        return None
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email) or _CONTROL.search(email):
        raise ValidationError("That does not look like an email address.")
    return email


def normalize_phone(value: str | None, default_region: str | None = None) -> str | None:
    """The number in E.164 (`+14155550100`), or None when it can't be read as a phone number.

    Formatting is stripped, an international `00` prefix becomes `+`, and national numbers
    are read in `default_region` (the shop's country) when it is known.
    """
    if value is None:
        return None
    raw = str(value).strip()
    if not raw or len(raw) > MAX_PHONE_LENGTH or not _PHONE_CHARS.match(raw):
        return None
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    region = (default_region or "").upper() or None
    if not compact.startswith("+") and region is None:
        return None  # a national number means nothing without a country
    try:
        number = phonenumbers.parse(compact, None if compact.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" (right length for the country) rather than "valid": shops and test data use
    # fictional ranges such as 555-01xx that the validity tables reject.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def search_literal(text: str) -> str:
    """Quote text for Shopify's search syntax so that every character is taken literally.

    Inside double quotes Shopify reads `OR`, `AND`, `NOT`, `:`, `*`, parentheses and a
    leading `-` as plain text; only backslash and the quote itself need escaping.
    """
    cleaned = _CONTROL.sub(" ", text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def email_query(email: str) -> str:
    """Customer search for exactly this address (the `email` field is tokenized otherwise)."""
    return f"email:{search_literal(email)}"


def phone_query(e164: str) -> str:
    """Customer search for this E.164 number."""
    return f"phone:{search_literal(e164)}"


def name_query(text: str) -> str:
    """Customer search for every word of the text, each a literal (implicit AND)."""
    words = [w for w in _CONTROL.sub(" ", text).split() if w]
    return " ".join(search_literal(w) for w in words)


def order_name_query(number: str) -> str:
    """Order search by order number (`name:1001` matches `#1001`)."""
    if not number.isdigit():
        raise ValueError("order numbers are digits")
    return f"name:{number}"


@dataclass(frozen=True)
class SearchPlan:
    """What a search box entry means: which Shopify searches to run, as literal queries."""

    text: str
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    order_number: str | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        """The searches this plan runs, e.g. ("order", "phone")."""
        return tuple(k for k in ("email", "phone", "name", "order_number")
                     if getattr(self, k))


def clean_query(q: str | None) -> str:
    """The agent's search text, trimmed.

    :raises ValidationError: empty, or longer than 200 characters.
    """
    text = unicodedata.normalize("NFC", str(q or "")).strip()
    if not text:
        raise ValidationError("Type an order number, email, phone or name to search.")
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationError(f"Searches are limited to {MAX_QUERY_LENGTH} characters.")
    return text


def plan_search(q: str | None, default_region: str | None = None) -> SearchPlan:
    """Read the search box: `#1001`/`1001` → order, `@` → email, digits → phone, else name.

    A longer bare number is ambiguous (a big shop's order number or a phone number), so
    both are searched, in the same Shopify request.

    :raises ValidationError: empty or over-long text.
    """
    text = clean_query(q)
    if m := _ORDER_NUMBER.match(text):
        return SearchPlan(text=text, order_number=m.group(1))
    if _SHORT_NUMBER.match(text):
        return SearchPlan(text=text, order_number=text)
    if "@" in text and " " not in text:
        try:
            return SearchPlan(text=text, email=normalize_email(text))
        except ValidationError:
            pass  # not an address after all: search it as words
    elif _PHONE_CHARS.match(text) and sum(c.isdigit() for c in text) >= 5:
        phone = normalize_phone(text, default_region)
        digits = _PHONE_SEPARATORS.sub("", text)
        order = digits if digits.isdigit() and len(digits) <= 12 else None
        if phone or order:
            return SearchPlan(text=text, phone=phone, order_number=order)
    return SearchPlan(text=text, name=text)
