"""Small validators for action bodies: strict types, no truthy coercion, clear 400s.

Every function raises `ValidationError` whose message names the field (and carries it as
`field` in the error body). Money is a decimal string on the wire and a `Decimal` inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.exceptions import ValidationError

MAX_MONEY = Decimal("1000000000")  # far above any order; stops absurd inputs early
_MONEY_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# ISO 3166-1 alpha-2 codes Shopify's `CountryCode` enum accepts (2026-10, without ZZ
# "unknown region"); AC and TA are Shopify's own (Ascension, Tristan da Cunha).
COUNTRY_CODES = frozenset("""
AC AD AE AF AG AI AL AM AN AO AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GW GY HK HM HN HR
HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
LR LS LT LU LV LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG
NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PS PT PY QA RE RO RS RU RW SA SB SC SD SE SG
SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ VA VC VE VG VN VU WF WS XK YE YT ZA ZM ZW
""".split())

# Countries whose addresses need a province (state, territory) in Shopify's checkout. The
# three largest markets are checked against their full code lists; for the others any
# short code is accepted and Shopify has the last word.
PROVINCES: dict[str, frozenset[str] | None] = {
    "US": frozenset("""
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM
NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR UM VI AA AE AP FM MH PW
""".split()),
    "CA": frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split()),
    "AU": frozenset("ACT NSW NT QLD SA TAS VIC WA".split()),
    "AR": None, "BR": None, "CN": None, "CO": None, "EG": None, "ES": None, "ID": None,
    "IE": None, "IN": None, "IT": None, "JP": None, "MX": None, "MY": None, "NG": None,
    "PE": None, "PH": None, "TH": None,
}
_PROVINCE_RE = re.compile(r"^[A-Z0-9]{1,3}(-[A-Z0-9]{1,3})?$")

# Countries whose addresses need a postal code, with a format check for a few.
ZIP_FORMATS: dict[str, re.Pattern[str] | None] = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$", re.IGNORECASE),
    "AU": re.compile(r"^\d{4}$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", re.IGNORECASE),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Z]{2}$", re.IGNORECASE),
    "AT": None, "BE": None, "BR": None, "CH": None, "CN": None, "DK": None, "ES": None,
    "FI": None, "IN": None, "IT": None, "JP": None, "MX": None, "NO": None, "NZ": None,
    "PL": None, "PT": None, "SE": None,
}
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().\-]{2,30}$")


def fail(field: str, message: str) -> ValidationError:
    """A ValidationError about `field` (raise it)."""
    return ValidationError(message, field=field)


def require_object(value: Any, *, field: str = "body", allowed: Iterable[str],
                   required: Iterable[str] = ()) -> dict[str, Any]:
    """A JSON object with only `allowed` keys and every `required` one.

    :raises ValidationError: not an object, an unknown key or a missing one.
    """
    if not isinstance(value, Mapping):
        raise fail(field, f"{field} must be a JSON object.")
    allowed = set(allowed)
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise fail(f"{field}.{unknown[0]}" if field != "body" else unknown[0],
                   f"Unknown field {unknown[0]!r} in {field}; expected "
                   f"{', '.join(sorted(allowed))}.")
    for key in required:
        if key not in value or value[key] is None:
            raise fail(_join(field, key), f"{_join(field, key)} is required.")
    return dict(value)


def _join(parent: str, key: str) -> str:
    return key if parent == "body" else f"{parent}.{key}"


def boolean(value: Any, field: str) -> bool:
    """A JSON true/false (no "yes", 1 or "true").

    :raises ValidationError: anything else.
    """
    if not isinstance(value, bool):
        raise fail(field, f"{field} must be true or false.")
    return value


def optional_boolean(body: Mapping[str, Any], key: str, default: bool | None,
                     parent: str = "body") -> bool | None:
    """`body[key]` as a bool, or `default` when absent or null."""
    value = body.get(key)
    return default if value is None else boolean(value, _join(parent, key))


def integer(value: Any, field: str, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """A JSON integer within bounds (booleans and "2" are refused).

    :raises ValidationError: not an integer, or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(field, f"{field} must be a whole number.")
    if minimum is not None and value < minimum:
        raise fail(field, f"{field} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise fail(field, f"{field} must be at most {maximum}.")
    return value


def money(value: Any, field: str) -> Decimal:
    """A decimal string greater than zero with at most two decimals (`"12.50"`).

    :raises ValidationError: a number, a negative, zero, more decimals or not numeric.
    """
    if not isinstance(value, str):
        raise fail(field, f'{field} must be a decimal string such as "12.50".')
    text = value.strip()
    if text.startswith("-"):
        raise fail(field, f"{field} must be greater than zero.")
    if not _MONEY_RE.match(text):
        raise fail(field, f'{field} must be a decimal string with at most two decimals, '
                          f'such as "12.50".')
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        raise fail(field, f"{field} is not a number.") from None
    if amount <= 0:
        raise fail(field, f"{field} must be greater than zero.")
    if amount > MAX_MONEY:
        raise fail(field, f"{field} is too large.")
    return amount.quantize(Decimal("0.01"))


def string(value: Any, field: str, *, max_length: int, allow_empty: bool = False,
           multiline: bool = False) -> str:
    """A string, stripped, within `max_length`, without control characters.

    :raises ValidationError: not a string, empty (unless allowed), too long.
    """
    if not isinstance(value, str):
        raise fail(field, f"{field} must be a string.")
    text = value.strip()
    if not text and not allow_empty:
        raise fail(field, f"{field} must not be empty.")
    if len(text) > max_length:
        raise fail(field, f"{field} is too long (at most {max_length} characters).")
    check = text.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else text
    if _CONTROL_RE.search(check) or (not multiline and re.search(r"[\r\n\t]", text)):
        raise fail(field, f"{field} contains control characters.")
    return text


def optional_string(body: Mapping[str, Any], key: str, *, max_length: int,
                    parent: str = "body", multiline: bool = False) -> str | None:
    """`body[key]` as a stripped string, or None when absent, null or blank."""
    value = body.get(key)
    if value is None:
        return None
    text = string(value, _join(parent, key), max_length=max_length, allow_empty=True,
                  multiline=multiline)
    return text or None


def string_list(value: Any, field: str, *, max_items: int) -> list[Any]:
    """A JSON array of at most `max_items` entries (entries checked by the caller).

    :raises ValidationError: not an array, or too long.
    """
    if not isinstance(value, list):
        raise fail(field, f"{field} must be an array.")
    if len(value) > max_items:
        raise fail(field, f"{field} may hold at most {max_items} entries.")
    return value


def numeric_id(value: Any, field: str, kind: str) -> str:
    """A Shopify id given as a number, a numeric string or `gid://shopify/<kind>/N`.

    :raises ValidationError: anything else.
    """
    if isinstance(value, bool):
        raise fail(field, f"{field} must be a {kind} id.")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        prefix = f"gid://shopify/{kind}/"
        if text.startswith(prefix):
            text = text[len(prefix):]
        if text.isdigit() and len(text) <= 20 and int(text) > 0:
            return str(int(text))
    raise fail(field, f"{field} must be a {kind} id (a number or gid://shopify/{kind}/N).")


def country_code(value: Any, field: str = "country_code") -> str:
    """An ISO 3166-1 alpha-2 code Shopify knows, upper-cased.

    :raises ValidationError: not a two-letter code on the list.
    """
    text = string(value, field, max_length=2).upper()
    if text not in COUNTRY_CODES:
        raise fail(field, f"{field} must be an ISO 3166-1 alpha-2 country code such as "
                          f'"US" ({value!r} is not one).')
    return text


def province_code(country: str, value: Any, field: str = "province_code") -> str | None:
    """The province code for `country`: required where Shopify needs one, checked against
    the list for US, CA and AU; None when absent for a country without provinces.

    :raises ValidationError: missing where needed, unknown, or malformed.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if country in PROVINCES:
            raise fail(field, f"{field} is required for addresses in {country}.")
        return None
    text = string(value, field, max_length=6).upper()
    known = PROVINCES.get(country)
    if known is not None and text not in known:
        raise fail(field, f"{text!r} is not a province or state code of {country}.")
    if not _PROVINCE_RE.match(text):
        raise fail(field, f"{field} must be a short code such as \"CA\" or \"QC\".")
    return text


def postal_code(country: str, value: Any, field: str = "zip") -> str | None:
    """The postal code: required (and format-checked for a few) where the country uses one.

    :raises ValidationError: missing where needed, or malformed for that country.
    """
    text = None if value is None else string(value, field, max_length=32, allow_empty=True)
    if not text:
        if country in ZIP_FORMATS:
            raise fail(field, f"{field} is required for addresses in {country}.")
        return None
    pattern = ZIP_FORMATS.get(country)
    if pattern is not None and not pattern.match(text):
        raise fail(field, f"{text!r} is not a valid postal code for {country}.")
    return text.upper() if country in {"CA", "GB", "NL"} else text


def phone(value: Any, field: str = "phone") -> str | None:
    """A phone number of digits, spaces, `+ ( ) . -`; None when absent or blank.

    :raises ValidationError: other characters, too short or too long.
    """
    if value is None:
        return None
    text = string(value, field, max_length=32, allow_empty=True)
    if not text:
        return None
    if not _PHONE_RE.match(text):
        raise fail(field, f"{field} must be a phone number such as \"+1 415-555-0100\".")
    return text
