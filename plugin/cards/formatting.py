"""Jinja filters for the card: money and dates the way Shopify's admin writes them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
from flask import Flask

from plugin.card_data.present import ZERO_DECIMAL_CURRENCIES, is_positive

# Symbols for common currencies; others are written "12.50 CHF" (never ambiguous).
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩",
                    "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "MXN": "MX$", "BRL": "R$",
                    "HKD": "HK$", "SGD": "SG$"}


def format_money(money: Mapping[str, str] | None) -> str:
    """`{"amount": "1234.5", "currency": "USD"}` → `$1,234.50`; missing → an en dash."""
    if not money:
        return "–"
    amount = Decimal(money["amount"])
    currency = money.get("currency") or ""
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    text = f"{abs(amount):,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}".strip()


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from Shopify as an aware datetime (None when unreadable)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_date(value: str | None) -> str:
    """`2026-03-03T10:00:00Z` → `Mar 3, 2026` (UTC; the card shows dates, not times)."""
    parsed = parse_time(value)
    if parsed is None:
        return ""
    return f"{parsed:%b} {parsed.day}, {parsed.year}"


def format_datetime(value: str | None) -> str:
    """`2026-03-03T10:05:00Z` → `Mar 3, 2026, 10:05 UTC`."""
    parsed = parse_time(value)
    if parsed is None:
        return ""
    parsed = parsed.astimezone(UTC)
    return f"{format_date(value)}, {parsed:%H:%M} UTC"


def format_phone(value: str | None) -> str:
    """`+14155550100` → `+1 415-555-0100` (as given when it can't be read)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def init_app(app: Flask) -> None:
    """Register the filters (`money`, `date`, `datetime`, `phone`) and the test `positive`."""
    app.add_template_filter(format_money, "money")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_phone, "phone")
    app.add_template_test(is_positive, "positive")
