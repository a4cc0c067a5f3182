"""`GET/POST /cards/<kind>`: the whole card in one response, no cookie, framed by its helpdesk."""

from __future__ import annotations

import html as htmllib
import json
import re

import pytest
from card_fixtures import SHOP, calls
from factories import bearer, launch_token, make_connection, rsa_keypair, zendesk_signed_token

from plugin.extensions import db

BOO = {"email": "bo.wang@example.com"}


def boot(response) -> dict:
    """The JSON the page hands its script."""
    match = re.search(r'<script type="application/json" id="sidecard-boot">(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    assert match, "no boot JSON in the page"
    return json.loads(match.group(1))


def frame_ancestors(response) -> str:
    """The frame-ancestors directive of the response's CSP."""
    policy = response.headers["Content-Security-Policy"]
    return next(p.strip() for p in policy.split(";") if p.strip().startswith("frame-ancestors"))


def test_card_renders_customer_orders_statuses_and_tracking(client, world, launch):
    """The requester's header, every order with worded badges, the newest expanded."""
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Bo Wang" in html and "bo.wang@example.com" in html
    for order in (world.newest, world.shipped, world.cancelled, world.refunded):
        assert f'data-order-id="{order.id}"' in html
    assert 'data-badge="payment:paid"' in html and ">Paid</span>" in html
    assert ">Partially fulfilled</span>" in html
    assert ">Cancelled</span>" in html and ">Refunded</span>" in html
    assert re.search(rf'<details[^>]*data-order-url="/api/v1/orders/{world.newest.id}"[^>]*open',
                     html)
    assert "PST-1" in html  # the newest order's items are in the page
    assert 'data-action="cancel"' in html and "What can be done" in html
    assert "View customer in Shopify" in html


def test_card_shows_tracking_when_the_shipped_order_is_newest(client, store, shop, launch):
    """Per-item tracking links and the shipment badge are in the expanded order."""
    bo = store.add_customer(SHOP, first_name="Cy", email="cy@example.com")
    order = store.add_order(SHOP, customer=bo, lines=[{"title": "Lamp", "price": "40.00",
                                                       "sku": "LMP-1"}])
    store.fulfill(order, company="UPS", number="1Z999AA10123456784")
    html = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "cy@example.com"})}).get_data(as_text=True)
    assert "1Z999AA10123456784" in html
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert ">In transit</span>" in html and ">Fulfilled</span>" in html


def test_cold_launch_is_one_shopify_call_and_a_repeat_launch_none(client, world, store,
                                                                  launch):
    """First launch: lookup and card in one request; the next launch: no Shopify call."""
    client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert calls(store) == 1
    client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert calls(store) == 1


def test_merged_cold_launch_is_one_shopify_call(client, world, store, launch):
    """Even two accounts merged cost one request."""
    html = client.get("/cards/zendesk", query_string={"launch_token": launch(
        {"email": "bo.wang@example.com", "phone": "+14155550199"})}).get_data(as_text=True)
    assert "has 2 Shopify accounts" in html
    assert calls(store) == 1


def test_picking_from_the_chooser_costs_no_shopify_call(client, world, store, launch):
    """The launch request already holds each candidate's card."""
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(
        {"email": "ann.lee@example.com", "phone": "+14155550100"})})
    token = boot(response)["token"]
    html = client.get(f"/api/v1/customers/{world.bo.id}",
                      headers={**bearer(token), "Accept": "text/html"}).get_data(as_text=True)
    assert 'data-result="card"' in html and world.newest.name in html
    assert calls(store) == 1


def test_launch_after_the_card_expired_costs_one_call(app, client, world, store, launch):
    """The email → customer mapping outlives the card: only the card is fetched again."""
    client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    app.config["CARD_CACHE_TTL_SECONDS"] = 0
    client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert calls(store) == 2
    assert store.stats(SHOP)["operations"] == {"CardLaunch": 1, "CardCustomers": 1}


def test_card_sets_no_cookie_and_is_never_cached(client, world, launch):
    """No Set-Cookie, no caching, no referrer (the launch token is in the URL)."""
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_card_accepts_the_launch_token_as_a_form_post(client, world, launch):
    """Helpdesks POST the token as a form field (no CSRF token: the JWT protects it)."""
    response = client.post("/cards/zendesk", data={"launch_token": launch(BOO)})
    assert response.status_code == 200
    assert "Bo Wang" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(("kind", "origins", "expected"), [
    ("zendesk", None, "frame-ancestors https://acme.zendesk.com"),
    ("kustomer", ["https://*.kustomerapp.com"], "frame-ancestors https://*.kustomerapp.com"),
    ("gorgias", None, "frame-ancestors 'none'"),
    ("api", None, "frame-ancestors 'none'"),
])
def test_card_is_frameable_only_by_its_helpdesk(client, world, shop, kind, origins, expected):
    """frame-ancestors is exactly the connection's helpdesk origins (none for Gorgias/api)."""
    connection = make_connection(shop, kind=kind, account="acme", frame_origins=origins)
    response = client.get(f"/cards/{kind}", query_string={
        "launch_token": launch_token(connection, customer=BOO)})
    assert response.status_code == 200
    assert frame_ancestors(response) == expected
    assert "X-Frame-Options" not in response.headers


def test_page_hands_its_script_a_working_session_token(client, world, launch):
    """The session token is in inert JSON (not a cookie) and opens the API."""
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    data = boot(response)
    assert data["requester"] == BOO and data["shop"] == SHOP
    api = client.get(f"/api/v1/orders/{world.shipped.id}", headers=bearer(data["token"]))
    assert api.status_code == 200
    assert api.get_json()["name"] == world.shipped.name


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
def test_bad_launch_token_gets_a_401_page_that_says_what_to_do(client, connection, token):
    """A bad token is an HTML page (not JSON, not a stack trace) telling how to recover."""
    response = client.get("/cards/zendesk", query_string={"launch_token": token})
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Reopen the ticket" in html
    assert "Traceback" not in html
    assert "Set-Cookie" not in response.headers


def test_reused_launch_token_is_refused_with_a_page(client, world, launch):
    """Launch tokens are single use: the second load says so."""
    token = launch(BOO)
    assert client.get("/cards/zendesk", query_string={"launch_token": token}).status_code == 200
    again = client.get("/cards/zendesk", query_string={"launch_token": token})
    assert again.status_code == 401
    assert "already used" in again.get_data(as_text=True)
    # The helpdesk's frame may still show the message.
    assert frame_ancestors(again) == "frame-ancestors https://acme.zendesk.com"


def test_expired_launch_token_is_refused_with_a_page(client, connection):
    """An expired token: 401 page saying it has expired."""
    token = launch_token(connection, iat=1_000_000, exp=1_000_300)
    response = client.get("/cards/zendesk", query_string={"launch_token": token})
    assert response.status_code == 401
    assert "expired" in response.get_data(as_text=True)


def test_token_for_another_helpdesk_kind_is_refused(client, world, launch):
    """A Zendesk connection's token does not open /cards/kustomer."""
    response = client.get("/cards/kustomer", query_string={"launch_token": launch(BOO)})
    assert response.status_code == 400
    assert "another helpdesk" in response.get_data(as_text=True)


def test_unknown_kind_is_not_found(client):
    """Only the contract's helpdesk kinds have card pages."""
    assert client.get("/cards/freshdesk").status_code == 404


def test_uninstalled_shop_says_so(client, world, shop, launch):
    """A connection of a shop that uninstalled Sidecard gets a page saying so."""
    token = launch(BOO)
    shop.clear_tokens()
    db.session.commit()
    response = client.get("/cards/zendesk", query_string={"launch_token": token})
    assert response.status_code == 401
    assert "not installed" in response.get_data(as_text=True)


def test_shopify_down_shows_a_retry_not_a_stack_trace(client, world, store, launch):
    """Shopify failing: the card says so and offers to try again; the session still works."""
    store.inject(SHOP, "http_500", times=None)
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert response.status_code == 502
    html = htmllib.unescape(response.get_data(as_text=True))
    assert "Shopify isn't answering right now" in html
    assert "data-retry" in html and "Traceback" not in html
    assert boot(response)["token"]
    assert 'id="sc-q"' in html  # the search box is there too


def test_shopify_refusing_the_token_says_access_was_refused(client, world, store, launch):
    """A revoked token (uninstalled on Shopify's side) is explained, not crashed on."""
    store.revoke_shop_tokens(SHOP)
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert response.status_code == 502
    assert "refused Sidecard" in response.get_data(as_text=True)


def test_several_matches_show_a_chooser(client, world, launch):
    """Email and phone on two accounts of different people don't merge: the agent picks."""
    response = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "ann.lee@example.com", "phone": "+14155550100"})})
    html = response.get_data(as_text=True)
    assert 'data-result="chooser"' in html
    assert 'data-open-customer="%s"' % world.ann_lee.id in html
    assert 'data-open-customer="%s"' % world.bo.id in html


def test_email_and_phone_of_two_accounts_show_one_merged_card(client, world, launch):
    """The same requester's two accounts are shown together, each order marked."""
    response = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "bo.wang@example.com", "phone": "+14155550199"})})
    html = response.get_data(as_text=True)
    assert "has 2 Shopify accounts" in html
    assert "Account 2 of 2" in html
    assert f'data-order-id="{world.phone_account_order.id}"' in html
    assert "account 2" in html


def test_no_match_says_what_was_searched(client, world, launch):
    """Nobody found: the card says which email it looked for and offers the search box."""
    html = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "nobody@example.com"})}).get_data(as_text=True)
    assert "No Shopify customer found" in html and "nobody@example.com" in html
    assert 'id="sc-q"' in html


def test_launch_without_requester_offers_search(client, store, shop, launch):
    """No customer claim: a prompt to search, no Shopify call."""
    response = client.get("/cards/zendesk", query_string={"launch_token": launch()})
    assert response.status_code == 200
    assert "Who is this ticket from?" in response.get_data(as_text=True)
    assert calls(store) == 0


def test_search_box_is_labelled_and_limited(client, store, shop, launch):
    """The search input has a label, a 200-character limit and help text."""
    html = client.get("/cards/zendesk", query_string={"launch_token": launch()}).get_data(
        as_text=True)
    assert '<label class="sc-label" for="sc-q">' in html
    assert 'maxlength="200"' in html


def test_markup_from_shopify_is_escaped(client, store, shop, launch):
    """Names, notes and tags from Shopify can't inject markup or script."""
    evil = store.add_customer(SHOP, first_name="<script>alert(1)</script>",
                              email="evil@example.com", note="<img src=x onerror=alert(1)>")
    store.add_order(SHOP, customer=evil, note="</script><script>alert(2)</script>",
                    tags=["<b>x</b>"])
    html = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "evil@example.com"})}).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_zendesk_signed_url_post_opens_the_card(client, shop):
    """Zendesk's own signed-URL POST (form field `token`, RS256) is a launch too."""
    connection = make_connection(shop, kind="zendesk", account="acme",
                                 zendesk_public_key=rsa_keypair()[1],
                                 zendesk_installation_id="42")
    response = client.post("/cards/zendesk", data={"token": zendesk_signed_token("acme", "42")})
    assert response.status_code == 200
    assert boot(response)["token"]
    assert frame_ancestors(response) == "frame-ancestors https://acme.zendesk.com"
    assert connection.kind == "zendesk"


def test_shopify_timeout_is_a_504_page(client, world, launch, monkeypatch):
    """Shopify not answering in time: 504 and the same helpful, retryable page."""
    from plugin.card_data import service
    from plugin.exceptions import ShopifyTimeoutError

    def too_slow(*args, **kwargs):
        raise ShopifyTimeoutError("Shopify did not answer in time")

    monkeypatch.setattr(service, "_execute", too_slow)
    response = client.get("/cards/zendesk", query_string={"launch_token": launch(BOO)})
    assert response.status_code == 504
    assert "data-retry" in response.get_data(as_text=True)
