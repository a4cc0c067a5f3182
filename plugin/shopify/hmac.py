"""Shopify signatures: shop-domain validation, query-string HMAC (hex), webhook HMAC (base64).

Query-string canonical form (what `sign_query` signs and `verify_query_hmac` checks):

1. Drop `hmac` and `signature`.
2. Scalar parameters become `key=value` with key and value form-encoded as shopify-app-js does
   (`URLSearchParams`, then `+` → `%20`; Ruby's `URI.encode_www_form` agrees except for spaces).
   Plain Shopify values (hex, digits, `*.myshopify.com`) are unchanged by the encoding.
3. Array parameters (`ids[]=1&ids[]=2`, sent by bulk-action admin links) become
   `ids=["1", "2"]`: the key without `[]`, the values as a JSON-style list. This is how Shopify
   signs them (reported against real admin links by ShopifySharp #344, laravel-shopify #336/#490
   and fixed the same way in Shopify's own shopify_python_api #262); shopify-app-js would sign
   `ids[]=1&ids[]=2` and fails on those links. Inside the list, `%` and `&` are escaped
   (`%25`, `%26`) so that `&` only ever separates pairs.
4. Pairs sorted by (decoded) key, joined with `&`; hex HMAC-SHA256 with the app secret.

A key repeated without `[]` is refused: Shopify never sends one, and guessing how it was signed
would only widen what a forged link could smuggle in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac as _hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from plugin.exceptions import InvalidHmacError, InvalidShopError

SHOP_DOMAIN_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com")
# Signed links may be a little ahead of our clock (shopify-app-js allows 90 s either way).
MAX_FUTURE_SKEW_SECONDS = 90
_EXCLUDED = frozenset({"hmac", "signature"})

Params = Mapping[str, Any] | Iterable[tuple[str, Any]]


def normalize_shop(value: Any) -> str:
    """Return the lower-cased `*.myshopify.com` domain.

    :raises InvalidShopError: anything else (no schemes, paths, ports or look-alike hosts).
    """
    # fullmatch, not `$`: `$` would also accept a trailing newline.
    if not isinstance(value, str) or len(value) > 255 or not SHOP_DOMAIN_RE.fullmatch(value):
        raise InvalidShopError("shop must be a *.myshopify.com domain")
    return value.lower()


def _pairs(params: Params) -> list[tuple[str, str]]:
    """Flatten a Mapping (incl. werkzeug MultiDict, parse_qs output) or pair list to pairs."""
    if hasattr(params, "items") and hasattr(params, "getlist"):  # werkzeug MultiDict
        raw = list(params.items(multi=True))  # type: ignore[call-arg]
    elif isinstance(params, Mapping):
        raw = []
        for key, value in params.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            raw.extend((key, v) for v in values)
    else:
        raw = list(params)
    return [(str(k), "" if v is None else str(v)) for k, v in raw]


def _form_encode(text: str) -> str:
    """application/x-www-form-urlencoded like URLSearchParams, with spaces as %20."""
    return quote(text, safe="*").replace("~", "%7E")


def canonical_query(params: Params) -> str:
    """The message Shopify signs for these query parameters (see module docstring).

    :raises InvalidHmacError: a plain key is repeated.
    """
    scalars: dict[str, str] = {}
    arrays: dict[str, list[str]] = {}
    for key, value in _pairs(params):
        if key in _EXCLUDED:
            continue
        if key.endswith("[]"):
            arrays.setdefault(key[:-2], []).append(value)
        elif key in scalars:
            raise InvalidHmacError(f"parameter {key!r} is repeated in the signed query")
        else:
            scalars[key] = value
    if scalars.keys() & arrays.keys():
        raise InvalidHmacError("a signed parameter is both a value and a list")
    entries: list[tuple[str, str]] = []
    for key, value in scalars.items():
        entries.append((key, f"{_form_encode(key)}={_form_encode(value)}"))
    for key, values in arrays.items():
        listed = json.dumps(values, ensure_ascii=False).replace("%", "%25").replace("&", "%26")
        entries.append((key, f"{_form_encode(key)}={listed}"))
    entries.sort()
    return "&".join(text for _, text in entries)


def _secrets(secret: str | Iterable[str]) -> list[str]:
    """One secret or several (during rotation), empty ones dropped."""
    items = [secret] if isinstance(secret, str) else list(secret)
    return [s for s in items if s]


def sign_query(params: Params, secret: str) -> str:
    """The hex HMAC-SHA256 Shopify would put in `hmac` for these parameters."""
    message = canonical_query(params).encode()
    return _hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_query_hmac(params: Params, secret: str | Iterable[str], *,
                      max_age_seconds: float | None = None, now: float | None = None,
                      max_future_seconds: float = MAX_FUTURE_SKEW_SECONDS) -> None:
    """Check a signed Shopify query string (install, callback, app load, admin link).

    `secret` may list the old secret too during rotation. With `max_age_seconds`, `timestamp`
    must be present and no older than that, nor more than `max_future_seconds` ahead.

    :raises InvalidHmacError: missing/wrong `hmac`, repeated keys, stale or future timestamp.
    """
    pairs = _pairs(params)
    given = [v for k, v in pairs if k == "hmac"]
    if len(given) != 1 or not given[0]:
        raise InvalidHmacError("the request is not signed by Shopify (hmac missing)")
    message = canonical_query(pairs).encode()
    provided = given[0].strip().lower().encode()
    valid = False
    for key in _secrets(secret):
        expected = _hmac.new(key.encode(), message, hashlib.sha256).hexdigest().encode()
        # Evaluate every candidate: constant time per comparison, no early exit leak.
        valid = _hmac.compare_digest(expected, provided) or valid
    if not valid:
        raise InvalidHmacError("the request's Shopify signature (hmac) is invalid")
    if max_age_seconds is not None:
        _check_timestamp(pairs, max_age_seconds, max_future_seconds, now)


def _check_timestamp(pairs: list[tuple[str, str]], max_age: float, max_future: float,
                     now: float | None) -> None:
    """Refuse a signed link that is too old or too far in the future."""
    stamps = [v for k, v in pairs if k == "timestamp"]
    try:
        stamp = int(stamps[0]) if len(stamps) == 1 else None
    except ValueError:
        stamp = None
    if stamp is None:
        raise InvalidHmacError("the signed request has no valid timestamp")
    current = time.time() if now is None else now
    if current - stamp > max_age:
        raise InvalidHmacError("the signed request has expired; open it again from Shopify")
    if stamp - current > min(max_future, max_age):
        raise InvalidHmacError("the signed request's timestamp is in the future")


def webhook_hmac(raw_body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of a raw webhook body, as in `X-Shopify-Hmac-Sha256`."""
    digest = _hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_webhook_hmac(raw_body: bytes, header: str | None,
                        secrets: str | Iterable[str]) -> None:
    """Check `X-Shopify-Hmac-Sha256` against the raw body with the current (or old) secret.

    :raises InvalidHmacError: header missing or matching no secret.
    """
    if not header:
        raise InvalidHmacError("webhook is not signed (X-Shopify-Hmac-Sha256 missing)")
    provided = header.strip().encode()
    valid = False
    for key in _secrets(secrets):
        valid = _hmac.compare_digest(webhook_hmac(raw_body, key).encode(), provided) or valid
    if not valid:
        raise InvalidHmacError("webhook signature (X-Shopify-Hmac-Sha256) is invalid")
