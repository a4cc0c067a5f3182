"""The card's services against the sandbox store: matching, the card, one order, the cache."""

from __future__ import annotations

import pytest
from card_fixtures import OTHER_SHOP, SHOP, calls, install

from plugin.card_data import (
    customer_card,
    find_customers,
    invalidate_customer,
    invalidate_order,
    launch_card,
    order_detail,
)
from plugin.exceptions import NotFoundError, ValidationError
from plugin.extensions import db
from plugin.webhooks.handlers import WebhookEvent, orders_updated


def ids(found):
    """The customer ids of a search result, as ints."""
    return [int(c["id"]) for c in found["customers"]]


# --- finding the customer ------------------------------------------------------------------

def test_requester_is_found_by_email_whatever_its_case(world, shop):
    """`BO.WANG@Example.com` finds bo.wang@example.com, matched by email."""
    found = find_customers(shop, email="BO.WANG@Example.com")
    assert ids(found) == [world.bo.id]
    assert found["customers"][0]["matched_by"] == ["email"]
    assert found["merged"] is False


@pytest.mark.parametrize("phone", ["+1 (415) 555-0100", "+1.415.555.0100", "0014155550100",
                                   "+14155550100", "(415) 555-0100"])
def test_requester_is_found_by_phone_in_any_format(app, world, shop, phone):
    """Formatted, 00-prefixed and national numbers are all read as +14155550100."""
    app.config["DEFAULT_PHONE_REGION"] = "US"  # the shop's country, for national numbers
    found = find_customers(shop, phone=phone)
    assert ids(found) == [world.bo.id]
    assert found["customers"][0]["matched_by"] == ["phone"]


def test_email_and_phone_on_one_account_find_it_once(world, shop):
    """An account matched by both is listed once, matched by email and phone."""
    found = find_customers(shop, email="bo.wang@example.com", phone="+14155550100")
    assert ids(found) == [world.bo.id]
    assert found["customers"][0]["matched_by"] == ["email", "phone"]


def test_email_and_phone_of_two_accounts_are_merged(world, shop):
    """The requester's email and phone on two accounts: one person, one merged card."""
    found = find_customers(shop, email="bo.wang@example.com", phone="+1 415 555 0199")
    assert found["merged"] is True
    assert ids(found) == [world.bo.id, world.bo_phone_account.id]
    assert [c["matched_by"] for c in found["customers"]] == [["email"], ["phone"]]


def test_unknown_requester_finds_nobody(world, shop):
    """No account uses the address: an empty list, not an error."""
    found = find_customers(shop, email="nobody@example.com")
    assert found["customers"] == [] and found["merged"] is False


def test_requester_without_usable_contact_is_refused(shop):
    """A national number with no known country, and no email, can't be searched."""
    with pytest.raises(ValidationError):
        find_customers(shop, phone="(415) 555-0100")


@pytest.mark.parametrize("q", ["#1003", "1003", "# 1003"])
def test_search_by_order_number_finds_its_customer(world, shop, q):
    """`#1003` and `1003` find the order's customer and say which order matched."""
    found = find_customers(shop, q=q)
    assert ids(found) == [world.bo.id]
    assert found["matched_order_id"] == str(world.shipped.id)
    assert found["customers"][0]["matched_by"] == ["order"]


@pytest.mark.parametrize(("q", "who"), [
    ("ann.lee@example.com", "ann_lee"),
    ("ANN.LEE@EXAMPLE.COM", "ann_lee"),
    ("+44 20 7946 0958", "ann_lee"),
    ("Smith", "ann_smith"),
    ("bo wang", "bo"),
])
def test_search_by_email_phone_or_name(world, shop, q, who):
    """The search box finds people by email, phone and name words."""
    found = find_customers(shop, q=q)
    assert getattr(world, who).id in ids(found)


def test_search_with_several_matches_lists_them_all(world, shop):
    """`Ann` matches two customers: both are returned for the agent to pick."""
    found = find_customers(shop, q="Ann")
    assert sorted(ids(found)) == sorted([world.ann_lee.id, world.ann_smith.id])
    assert all(c["recent_orders"] == [] for c in found["customers"])


@pytest.mark.parametrize("q", ["email:* OR tag:vip", "Ann OR *", "-tag:nothing",
                               '(first_name:Ann) OR "Bo', "tag:vip", "\\*"])
def test_search_syntax_in_the_box_is_taken_literally(world, shop, q):
    """Operators, fields, quotes and wildcards typed by the agent match nothing special."""
    assert find_customers(shop, q=q)["customers"] == []


@pytest.mark.parametrize("q", ["", "   ", "x" * 201])
def test_empty_and_huge_searches_are_refused_before_shopify(store, shop, q):
    """Empty and over-long searches are 400s and cost no Shopify call."""
    with pytest.raises(ValidationError):
        find_customers(shop, q=q)
    assert calls(store) == 0


def test_repeat_lookup_costs_no_shopify_call(world, store, shop):
    """The email → customer mapping is cached: the second launch asks Shopify nothing."""
    find_customers(shop, email="bo.wang@example.com", phone="+14155550199")
    find_customers(shop, email="Bo.Wang@example.com", phone="+1 415-555-0199")
    assert calls(store) == 1


# --- the card ------------------------------------------------------------------------------

def test_card_has_header_orders_newest_first_and_newest_in_full(world, shop):
    """Header, every order newest first, the newest one expanded (one Shopify request)."""
    card = customer_card(shop, world.bo.id)
    customer = card["customers"][0]
    assert customer["name"] == "Bo Wang"
    assert customer["email"] == "bo.wang@example.com"
    assert customer["phone"] == "+14155550100"
    assert customer["orders_count"] == 4
    assert customer["tags"] == ["vip", "wholesale"]
    assert customer["amount_spent"]["currency"] == "USD"
    names = [o["name"] for o in card["orders"]]
    assert names == [world.newest.name, world.shipped.name, world.cancelled.name,
                     world.refunded.name]
    assert card["latest_order"]["id"] == str(world.newest.id)
    assert card["latest_order"]["line_items"][0]["sku"] == "PST-1"
    assert card["page_info"] == {"has_next_page": False, "end_cursor": None}


def test_card_statuses_are_words(world, shop):
    """Each order says open/archived/cancelled, its payment and its fulfillment status."""
    card = customer_card(shop, world.bo.id)
    by_name = {o["name"]: o for o in card["orders"]}
    assert by_name[world.shipped.name]["status"] == {
        "order": "open", "payment": "paid", "fulfillment": "partially_fulfilled",
        "return": "no_return"}
    assert [b["label"] for b in by_name[world.shipped.name]["badges"]] == [
        "Open", "Paid", "Partially fulfilled"]
    cancelled = by_name[world.cancelled.name]
    assert cancelled["status"]["order"] == "cancelled"
    assert cancelled["badges"][0]["label"] == "Cancelled"
    assert by_name[world.refunded.name]["status"]["payment"] == "refunded"


def test_cold_card_is_one_shopify_call_and_warm_is_none(world, store, shop):
    """Customer, orders, line items and tracking in one request; the repeat view is free."""
    customer_card(shop, world.bo.id)
    assert calls(store) == 1
    customer_card(shop, world.bo.id)
    customer_card(shop, str(world.bo.id))
    assert calls(store) == 1


def test_card_query_cost_stays_well_under_shopify_limit(world, store, shop):
    """Even a merged card asks for far less than the 1,000-point single-query limit."""
    customer_card(shop, world.bo.id, also=world.bo_phone_account.id)
    assert store.stats(SHOP)["requested_cost"] < 800


def test_merged_card_lists_both_accounts_orders_newest_first(world, shop):
    """Two accounts of one person: both headers, all orders interleaved by date."""
    card = customer_card(shop, world.bo.id, also=world.bo_phone_account.id)
    assert card["merged"] is True
    assert [c["id"] for c in card["customers"]] == [str(world.bo.id),
                                                    str(world.bo_phone_account.id)]
    assert [o["name"] for o in card["orders"]] == [
        world.newest.name, world.phone_account_order.name, world.shipped.name,
        world.cancelled.name, world.refunded.name]
    assert card["orders"][1]["customer_id"] == str(world.bo_phone_account.id)


@pytest.mark.parametrize("merged", [False, True])
def test_paging_shows_every_order_once_newest_first(app, world, shop, merged):
    """`after` pages through all orders (across both accounts) without gaps or repeats."""
    app.config["CARD_ORDERS_PAGE_SIZE"] = 2
    also = world.bo_phone_account.id if merged else None
    seen, after, pages = [], None, 0
    while True:
        card = customer_card(shop, world.bo.id, after, also=also)
        seen += [(o["created_at"], o["name"]) for o in card["orders"]]
        pages += 1
        assert (card["latest_order"] is not None) == (after is None)
        after = card["page_info"]["end_cursor"]
        if not card["page_info"]["has_next_page"]:
            break
    expected = 5 if merged else 4
    assert len(seen) == expected == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert pages == 3 if merged else 2


def test_tampered_cursor_is_refused(world, shop):
    """A cursor that this card did not make is a 400."""
    with pytest.raises(ValidationError):
        customer_card(shop, world.bo.id, "not-a-cursor")


def test_unknown_customer_is_not_found(store, shop):
    """A customer id this shop does not have is a 404."""
    with pytest.raises(NotFoundError):
        customer_card(shop, 999)


def test_malformed_customer_id_is_refused(shop):
    """Ids are numbers or GIDs of the right kind."""
    with pytest.raises(ValidationError):
        customer_card(shop, "gid://shopify/Order/1")


# --- one order -----------------------------------------------------------------------------

def test_order_detail_has_items_tracking_address_and_notes(world, shop):
    """Line items with SKU, price and per-item tracking; shipments; address; note; tags."""
    order = order_detail(shop, world.shipped.id)
    assert order["name"] == world.shipped.name
    mug, tee = order["line_items"]
    assert (mug["title"], mug["variant_title"], mug["sku"], mug["quantity"]) == (
        "Mug", "Blue", "MUG-1", 2)
    assert mug["unit_price"] == {"amount": "12.50", "currency": "USD"}
    assert mug["fulfillment"]["label"] == "Fulfilled"
    assert mug["tracking"][0]["number"] == "1Z999AA10123456784"
    assert mug["tracking"][0]["url"].startswith("https://www.ups.com/")
    assert tee["fulfillment"]["label"] == "Unfulfilled" and tee["tracking"] == []
    assert order["fulfillments"][0]["display"]["label"] == "In transit"
    assert order["shipping_address"]["lines"][-1] == "United States"
    assert order["note"] == "Leave at the door" and order["tags"] == ["gift"]
    assert order["admin_url"] == f"https://admin.shopify.com/store/acme/orders/{world.shipped.id}"
    assert order["customer"]["id"] == str(world.bo.id)


def test_order_detail_shows_refunds_so_far(world, shop):
    """A refunded order lists its refund and the refunded total."""
    order = order_detail(shop, f"gid://shopify/Order/{world.refunded.id}")
    assert order["status"]["payment"] == "refunded"
    assert order["total_refunded"] == {"amount": "30.00", "currency": "USD"}
    assert [r["amount"]["amount"] for r in order["refunds"]] == ["30.00"]


def test_order_of_another_shop_is_not_found(world, store, shop):
    """Only the given shop is queried: another shop's order id is a 404."""
    other = store.add_customer(OTHER_SHOP, first_name="Eve", email="eve@example.com")
    foreign = store.add_order(OTHER_SHOP, customer=other)
    install(store, OTHER_SHOP)
    with pytest.raises(NotFoundError):
        order_detail(shop, foreign.id)


def test_newest_order_of_a_card_is_already_cached(world, store, shop):
    """Opening the card's expanded order costs nothing more."""
    customer_card(shop, world.bo.id)
    order_detail(shop, world.newest.id)
    assert calls(store) == 1


# --- invalidation --------------------------------------------------------------------------

def test_invalidate_customer_makes_the_next_view_ask_shopify(world, store, shop):
    """After our own action, the card is fetched fresh."""
    customer_card(shop, world.bo.id)
    world.newest.note = "changed in Shopify"
    invalidate_customer(shop, world.bo.id)
    card = customer_card(shop, world.bo.id)
    assert calls(store) == 2
    assert card["latest_order"]["note"] == "changed in Shopify"


def test_invalidate_order_drops_the_order_and_its_customers_cards(world, store, shop):
    """invalidate_order(shop, order_id) finds the customer from the cached order."""
    customer_card(shop, world.bo.id)
    order_detail(shop, world.shipped.id)
    before = calls(store)
    invalidate_order(shop, world.shipped.id)
    order_detail(shop, world.shipped.id)
    customer_card(shop, world.bo.id)
    assert calls(store) == before + 2


def test_invalidating_one_account_refreshes_the_merged_card(world, store, shop):
    """A change on either account of a merged card makes it stale."""
    customer_card(shop, world.bo.id, also=world.bo_phone_account.id)
    invalidate_customer(shop, world.bo_phone_account.id)
    customer_card(shop, world.bo.id, also=world.bo_phone_account.id)
    assert calls(store) == 2


def test_orders_updated_webhook_makes_the_next_view_ask_shopify(world, store, shop):
    """The webhook handler's invalidation (by customer and order key) reaches the card."""
    customer_card(shop, world.bo.id)
    find_customers(shop, email="bo.wang@example.com")
    order_detail(shop, world.shipped.id)
    assert calls(store) == 3
    orders_updated(WebhookEvent(topic="orders/updated", shop_domain=SHOP,
                                body={"id": world.shipped.id, "customer": {"id": world.bo.id}},
                                webhook_id="w-1", triggered_at=None, job_id=None))
    db.session.commit()
    customer_card(shop, world.bo.id)
    order_detail(shop, world.shipped.id)
    assert calls(store) == 5


def test_email_and_phone_of_different_people_are_not_merged(world, shop):
    """Ann's email and Bo's phone (a shared or mistyped number): a choice, not a merge."""
    found = find_customers(shop, email="ann.lee@example.com", phone="+14155550100")
    assert found["merged"] is False
    assert sorted(ids(found)) == sorted([world.ann_lee.id, world.bo.id])


# --- launching the card --------------------------------------------------------------------

def test_launch_card_finds_and_builds_the_card_in_one_request(world, store, shop):
    """Lookup and the card's first page come in one CardLaunch request."""
    result = launch_card(shop, email="bo.wang@example.com")
    assert [c["id"] for c in result["found"]["customers"]] == [str(world.bo.id)]
    assert result["card"]["latest_order"]["id"] == str(world.newest.id)
    assert store.stats(SHOP)["operations"] == {"CardLaunch": 1}
    assert store.stats(SHOP)["requested_cost"] < 1000


def test_launch_card_merges_one_persons_accounts(world, store, shop):
    """Email and phone of the same person on two accounts: one merged card, one request."""
    result = launch_card(shop, email="bo.wang@example.com", phone="+14155550199")
    assert result["card"]["merged"] is True
    assert len(result["card"]["orders"]) == 5
    assert calls(store) == 1


def test_launch_card_offers_a_choice_between_different_people(world, store, shop):
    """Ann's email, Bo's phone: no card, a choice; both cards are ready for the pick."""
    result = launch_card(shop, email="ann.lee@example.com", phone="+14155550100")
    assert result["card"] is None and len(result["found"]["customers"]) == 2
    customer_card(shop, world.bo.id)
    customer_card(shop, world.ann_lee.id)
    assert calls(store) == 1


def test_launch_card_pages_on_from_its_first_page(app, world, store, shop):
    """The launch's first page continues with customer_card(after=...)."""
    app.config["CARD_ORDERS_PAGE_SIZE"] = 2
    first = launch_card(shop, email="bo.wang@example.com", phone="+14155550199")["card"]
    ids = [c["id"] for c in first["customers"]]
    second = customer_card(shop, ids[0], first["page_info"]["end_cursor"], also=ids[1])
    names = [o["name"] for o in first["orders"] + second["orders"]]
    assert names == [world.newest.name, world.phone_account_order.name, world.shipped.name,
                     world.cancelled.name]
