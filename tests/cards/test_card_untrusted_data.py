"""Data from Shopify and the helpdesk reaches the card as text, never as markup or links."""

from __future__ import annotations

import json
import re

import pytest
from card_fixtures import SHOP

EVIL = "</script><script>alert(1)</script>"


def _boot_json(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="sidecard-boot">(.*?)</script>',
                      html, re.S)
    assert match, "no boot JSON in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>",
                                 "vbscript:msgbox(1)", "//evil.example/x"])
def test_tracking_url_that_is_not_http_never_becomes_a_link(client, store, shop, launch, url):
    """A carrier URL from outside that is not http(s) shows as text, never as an href."""
    customer = store.add_customer(SHOP, first_name="Rae", email="rae@example.com")
    order = store.add_order(SHOP, customer=customer, lines=[{"title": "Mug", "price": "5.00"}])
    store.fulfill(order, company="UPS", number="1Z999", url=url)
    html = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "rae@example.com"})}).get_data(as_text=True)
    assert "1Z999" in html
    assert 'href="javascript' not in html.lower() and 'href=" javascript' not in html.lower()
    assert "href=\"data:text" not in html and "href=\"vbscript" not in html
    assert "href=\"//evil" not in html


def test_requester_claims_with_script_end_tags_stay_inside_the_boot_json(client, store, shop,
                                                                         launch):
    """`</script>` in the helpdesk's requester fields neither ends the boot JSON nor runs."""
    response = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "x@example.com", "phone": EVIL, "name": EVIL})})
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert _boot_json(html)["requester"]["phone"] == EVIL  # intact, as inert data


def test_address_and_note_markup_is_escaped(client, store, shop, launch):
    """A shipping address and order note with markup are shown escaped."""
    customer = store.add_customer(SHOP, first_name="Rae", email="rae@example.com")
    store.add_order(SHOP, customer=customer, lines=[{"title": "Mug", "price": "5.00"}],
                    note=EVIL, shipping_address={
                        "first_name": '"><img src=x onerror=alert(2)>', "last_name": "Park",
                        "address1": EVIL, "city": "<b>Town</b>", "country_code": "US",
                        "zip": "10001"})
    html = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "rae@example.com"})}).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "<b>Town</b>" not in html and "&lt;b&gt;Town&lt;/b&gt;" in html
