"""Shop-domain validation, query-string HMAC and webhook HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from werkzeug.datastructures import MultiDict

from plugin.exceptions import InvalidHmacError, InvalidShopError
from plugin.shopify.hmac import (
    canonical_query,
    normalize_shop,
    sign_query,
    verify_query_hmac,
    verify_webhook_hmac,
    webhook_hmac,
)

# Known answers from shopify.md §2.5 (Shopify's own documentation example, secret "hush").
VECTOR_WITH_STATE = {
    "code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
    "state": "0.6784241404160823", "timestamp": "1337178173",
    "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
}
VECTOR_WITHOUT_STATE = {
    "code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
    "timestamp": "1337178173",
    "hmac": "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20",
}
VECTOR_TIME = 1337178173


@pytest.mark.parametrize("value, expected", [
    ("some-shop.myshopify.com", "some-shop.myshopify.com"),
    ("Some-Shop.myshopify.com", "some-shop.myshopify.com"),
    ("SOME-SHOP.myshopify.com", "some-shop.myshopify.com"),
    ("a.myshopify.com", "a.myshopify.com"),
    ("9shop-1.myshopify.com", "9shop-1.myshopify.com"),
])
def test_valid_shop_domains_are_lower_cased(value, expected):
    """Anchored *.myshopify.com domains pass and come back lower-case."""
    assert normalize_shop(value) == expected


@pytest.mark.parametrize("value", [
    "evil.com/x.myshopify.com", "x.myshopify.com.evil.com", "https://x.myshopify.com",
    "x.myshopify.com/", "x.myshopify.com:443", "-x.myshopify.com", ".myshopify.com",
    "x.y.myshopify.com", "x_y.myshopify.com", "x.myshopify.com\n", " x.myshopify.com",
    "x.myshopify.co", "myshopify.com", "", None, 42, "x@evil.com#.myshopify.com",
    "a" * 250 + ".myshopify.com",
    "some-shop.MYSHOPIFY.COM",  # the interface's regex is exact about the suffix
])
def test_invalid_shop_domains_are_refused(value):
    """Anything but an anchored *.myshopify.com domain raises InvalidShopError."""
    with pytest.raises(InvalidShopError):
        normalize_shop(value)


@pytest.mark.parametrize("vector", [VECTOR_WITH_STATE, VECTOR_WITHOUT_STATE])
def test_documented_vectors_sign_and_verify(vector):
    """Shopify's documented examples produce the documented hex HMAC."""
    assert sign_query(vector, "hush") == vector["hmac"]
    verify_query_hmac(vector, "hush")


def test_signature_parameter_is_excluded_like_hmac():
    """`signature` (as JS drops it) never enters the signed message."""
    params = {**VECTOR_WITHOUT_STATE, "signature": "whatever"}
    verify_query_hmac(params, "hush")


@pytest.mark.parametrize("tamper", [
    {"shop": "other-shop.myshopify.com"},
    {"timestamp": "1337178174"},
    {"code": "0907a61c0c8d55e99db179b68161bc01"},
    {"extra": "1"},
    {"hmac": "0" * 64},
    {"hmac": ""},
])
def test_tampered_queries_are_refused(tamper):
    """Changing, adding or blanking any parameter breaks the signature."""
    with pytest.raises(InvalidHmacError):
        verify_query_hmac({**VECTOR_WITH_STATE, **tamper}, "hush")


def test_missing_hmac_is_refused():
    """A query without `hmac` is not signed."""
    params = {k: v for k, v in VECTOR_WITH_STATE.items() if k != "hmac"}
    with pytest.raises(InvalidHmacError, match="missing"):
        verify_query_hmac(params, "hush")


def test_wrong_secret_is_refused_and_old_secret_is_accepted_during_rotation():
    """Only the app's secrets verify; the previous secret still does while rotating."""
    with pytest.raises(InvalidHmacError):
        verify_query_hmac(VECTOR_WITH_STATE, "not-hush")
    verify_query_hmac(VECTOR_WITH_STATE, ["new-secret", "hush"])


def test_upper_case_hex_is_accepted():
    """Hex case does not matter."""
    verify_query_hmac({**VECTOR_WITH_STATE, "hmac": VECTOR_WITH_STATE["hmac"].upper()}, "hush")


@pytest.mark.parametrize("params", [
    VECTOR_WITH_STATE,
    list(VECTOR_WITH_STATE.items()),
    MultiDict(list(VECTOR_WITH_STATE.items())),
    {k: [v] for k, v in VECTOR_WITH_STATE.items()},  # parse_qs output
])
def test_params_may_be_mapping_pairs_multidict_or_parse_qs(params):
    """Every shape a view may pass verifies the same."""
    verify_query_hmac(params, "hush")


@pytest.mark.parametrize("offset, ok", [
    (0, True), (3599, True), (3601, False), (60, True), (-60, True), (-91, False),
])
def test_timestamp_freshness(offset, ok):
    """With max_age_seconds, stale or far-future timestamps are refused (90 s future skew)."""
    now = VECTOR_TIME + offset
    if ok:
        verify_query_hmac(VECTOR_WITH_STATE, "hush", max_age_seconds=3600, now=now)
    else:
        with pytest.raises(InvalidHmacError):
            verify_query_hmac(VECTOR_WITH_STATE, "hush", max_age_seconds=3600, now=now)


def test_freshness_needs_a_numeric_timestamp():
    """A signed query without a usable timestamp fails the freshness check."""
    params = {"shop": "a.myshopify.com", "timestamp": "soon"}
    params["hmac"] = sign_query(params, "k")
    verify_query_hmac(params, "k")  # signature alone is fine
    with pytest.raises(InvalidHmacError, match="timestamp"):
        verify_query_hmac(params, "k", max_age_seconds=60, now=0)


def test_values_are_form_encoded_like_shopify_app_js():
    """Values with reserved characters are encoded as URLSearchParams does (space as %20)."""
    message = canonical_query({"host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYQ==", "q": "a b&c=d~*",
                               "shop": "a.myshopify.com"})
    assert message == ("host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYQ%3D%3D&q=a%20b%26c%3Dd%7E*"
                       "&shop=a.myshopify.com")


def test_bulk_action_ids_are_signed_as_shopify_does():
    """`ids[]=1&ids[]=2` is signed as `ids=["1", "2"]` (Shopify's admin-link form)."""
    pairs = [("ids[]", "2074861961283"), ("ids[]", "2074861830211"), ("locale", "en"),
             ("shop", "some-shop.myshopify.com"), ("timestamp", "1552479578")]
    assert canonical_query(pairs) == ('ids=["2074861961283", "2074861830211"]&locale=en'
                                      "&shop=some-shop.myshopify.com&timestamp=1552479578")
    message = canonical_query(pairs).encode()
    signed = pairs + [("hmac", hmac.new(b"hush", message, hashlib.sha256).hexdigest())]
    verify_query_hmac(signed, "hush")
    with pytest.raises(InvalidHmacError):  # order of ids is part of what was signed
        verify_query_hmac([signed[1], signed[0], *signed[2:]], "hush")


def test_ampersand_inside_a_list_cannot_fake_a_parameter():
    """`&` inside list values is escaped, so it never reads as a pair separator."""
    assert canonical_query([("ids[]", "1&shop=x")]) == 'ids=["1%26shop=x"]'


@pytest.mark.parametrize("pairs", [
    [("shop", "a.myshopify.com"), ("shop", "b.myshopify.com")],
    [("ids", "1"), ("ids[]", "2")],
    [("hmac", "a"), ("hmac", "b"), ("shop", "a.myshopify.com")],
])
def test_repeated_plain_keys_are_refused(pairs):
    """A key repeated without [] (never sent by Shopify) is refused rather than guessed."""
    with pytest.raises(InvalidHmacError):
        verify_query_hmac(pairs, "hush")


def test_webhook_hmac_is_base64_of_the_raw_body():
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(secret, raw body))."""
    body = b'{"id":1,"email":"a@example.com"}'
    expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert webhook_hmac(body, "s3cret") == expected
    verify_webhook_hmac(body, expected, ["s3cret"])
    verify_webhook_hmac(body, expected, "s3cret")


@pytest.mark.parametrize("body, header, secrets", [
    (b'{"id":2}', None, ["s3cret"]),
    (b'{"id":2}', "", ["s3cret"]),
    (b'{"id":2} ', webhook_hmac(b'{"id":2}', "s3cret"), ["s3cret"]),
    (b'{"id":2}', webhook_hmac(b'{"id":2}', "other"), ["s3cret"]),
    (b'{"id":2}', webhook_hmac(b'{"id":2}', "s3cret"), []),
])
def test_bad_webhook_signatures_are_refused(body, header, secrets):
    """Missing header, changed body, wrong secret or no secret: InvalidHmacError."""
    with pytest.raises(InvalidHmacError):
        verify_webhook_hmac(body, header, secrets)


def test_webhook_signed_with_old_secret_verifies_during_rotation():
    """Deliveries signed with the previous secret still verify while it is configured."""
    body = b"{}"
    verify_webhook_hmac(body, webhook_hmac(body, "old"), ["new", "old"])
