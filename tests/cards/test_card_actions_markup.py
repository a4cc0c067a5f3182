"""The markup the card's action UI runs on: a button and an inline form per possible action,
filled from the order (refundable quantities, address, tags, note), and the card page's
identity and approvals sections."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from card_fixtures import SHOP, refund_in_admin
from factories import bearer

from plugin.permissions import store_permissions

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    """An element of the parsed page: tag, attributes, children, text."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []
        self.parts: list[str | Node] = []

    @property
    def text(self) -> str:
        """The element's text, whitespace collapsed."""
        out = [p if isinstance(p, str) else p.text for p in self.parts]
        return " ".join(" ".join(out).split())

    def find_all(self, selector: str | None = None, **attrs: str | bool) -> list[Node]:
        """Descendants with this tag (None: any) whose attributes match (True: present)."""
        found = []
        for child in self.children:
            if (selector in (None, child.tag)) and all(
                    (name.replace("_", "-") in child.attrs) if want is True
                    else child.attrs.get(name.replace("_", "-")) == want
                    for name, want in attrs.items()):
                found.append(child)
            found.extend(child.find_all(selector, **attrs))
        return found

    def find(self, selector: str | None = None, **attrs: str | bool) -> Node:
        """The first matching descendant (fails the test when there is none)."""
        found = self.find_all(selector, **attrs)
        assert found, f"no <{selector or '*'} {attrs}>"
        return found[0]


class Tree(HTMLParser):
    """A forgiving HTML → Node tree parser (enough for our own templates)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.current.parts.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.current.parts.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.parts.append(data)


def parse(html: str) -> Node:
    """The parsed document."""
    tree = Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def order_html(client, session_token: str, order_id) -> Node:
    """`GET /api/v1/orders/{id}` as the card's script asks for it (the HTML partial)."""
    response = client.get(f"/api/v1/orders/{order_id}",
                          headers={**bearer(session_token), "Accept": "text/html"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse(response.get_data(as_text=True))


def test_each_possible_action_has_a_button_controlling_a_hidden_inline_panel(
        client, world, session_token):
    """A real button per available action (aria-controls → its hidden panel with a form);
    unavailable ones are listed with the reason and no button."""
    doc = order_html(client, session_token, world.shipped.id)
    section = doc.find("section", data_actions=True)
    buttons = section.find_all("button", data_action_open=True)
    names = {b.attrs["data-action-open"] for b in buttons}
    assert names == {"refund", "edit_tags", "edit_note"}  # it has shipped: no cancel, address
    for b in buttons:
        assert b.attrs["aria-expanded"] == "false"
        panel = section.find(id=b.attrs["aria-controls"])
        assert "hidden" in panel.attrs and panel.attrs["data-action-panel"] == \
            b.attrs["data-action-open"]
        assert panel.attrs["data-order-id"] == str(world.shipped.id)
        form = panel.find("form", data_action_form=b.attrs["data-action-open"])
        assert form.find("button", data_review=True).attrs["type"] == "submit"
        assert panel.find(data_action_review=True)
    blocked = section.find("li", data_action="cancel")
    assert blocked.attrs["data-available"] == "false"
    assert "Not possible:" in blocked.text and not blocked.find_all("button")


def test_refund_form_offers_steppers_up_to_the_refundable_quantity(client, world,
                                                                    session_token):
    """Per line item: id, max = refundable quantity, restock ticked; full, shipping, amount,
    reason and notify fields."""
    doc = order_html(client, session_token, world.shipped.id)
    form = doc.find("form", data_action_form="refund")
    mug, tee = world.shipped.lines
    quantities = {n.attrs["data-line-item-id"]: n
                  for n in form.find_all("input", data_quantity=True)}
    assert set(quantities) == {str(mug.id), str(tee.id)}
    assert quantities[str(mug.id)].attrs["max"] == "2"
    assert quantities[str(tee.id)].attrs["max"] == "1"
    assert all(q.attrs["value"] == "0" and q.attrs["min"] == "0" for q in quantities.values())
    for line in (mug, tee):
        steppers = form.find("li", data_refund_line=str(line.id)).find_all("button", data_step=True)
        assert sorted(b.attrs["data-step"] for b in steppers) == ["-1", "1"]
        restock = form.find("input", data_restock=True, data_line_item_id=str(line.id))
        assert "checked" in restock.attrs
    assert form.find("input", name="full").attrs["type"] == "checkbox"
    modes = [o.attrs["value"] for o in form.find("select", name="shipping_mode").find_all("option")]
    assert modes == ["", "full", "amount"]
    assert form.find("input", name="shipping_amount")
    assert form.find("input", name="amount").attrs["inputmode"] == "decimal"
    assert form.find("input", name="reason").attrs["maxlength"] == "255"
    assert form.find("input", name="notify").attrs["type"] == "checkbox"


def test_refund_form_says_the_agents_limit(client, store, shop, world, session_token):
    """The agent's refund limit (and that above it needs approval) is in the refund form."""
    store_permissions(shop.id, {"default": "T1", "permission_sets": [
        {"name": "T1", "actions": ["*"], "refund_limit": "50.00",
         "request_approval_above_limit": True, "agents": ["*@example.com"]}]})
    form = order_html(client, session_token, world.shipped.id).find("form",
                                                                     data_action_form="refund")
    assert "Refunds above 50.00 USD need approval." in form.find(data_limit_note=True).text


def test_a_refunded_line_has_no_stepper(client, store, shop, session_token):
    """A line with nothing left to refund says so instead of offering a quantity."""
    customer = store.add_customer(SHOP, first_name="Di", email="di@example.com")
    order = store.add_order(SHOP, customer=customer, lines=[
        {"title": "Cap", "price": "10.00"}, {"title": "Bag", "price": "30.00"}])
    cap = order.lines[0]
    refund_in_admin(store, order, cap, quantity=1, amount="10.00", key="markup-cap")
    form = order_html(client, session_token, order.id).find("form", data_action_form="refund")
    line = form.find("li", data_refund_line=str(cap.id))
    assert "Nothing left to refund." in line.text and not line.find_all("input")
    assert form.find("input", data_quantity=True).attrs["data-line-item-id"] == \
        str(order.lines[1].id)


@pytest.mark.parametrize(("payment", "refund_box"), [("paid", True), ("pending", False)])
def test_cancel_form_has_shopifys_reasons_and_refunds_paid_orders(client, store, session_token,
                                                                   payment, refund_box):
    """Reason select with Shopify's enum and human labels; refund ticked when paid, absent
    (with an explanation) when nothing was paid; restock ticked; notify; staff note."""
    customer = store.add_customer(SHOP, first_name="Ed", email="ed@example.com")
    order = store.add_order(SHOP, customer=customer, payment=payment,
                            lines=[{"title": "Lamp", "price": "40.00"}])
    form = order_html(client, session_token, order.id).find("form", data_action_form="cancel")
    options = {o.attrs["value"]: o.text for o in form.find("select", name="reason").find_all(
        "option")}
    assert list(options) == ["CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER"]
    assert options["INVENTORY"] == "Items unavailable"
    refund = form.find_all("input", name="refund")
    if refund_box:
        assert "checked" in refund[0].attrs
    else:
        assert refund == [] and "nothing is refunded" in form.text
    assert "checked" in form.find("input", name="restock").attrs
    assert "checked" not in form.find("input", name="notify").attrs
    assert form.find("textarea", name="staff_note").attrs["maxlength"] == "255"


def test_address_form_is_prefilled_with_the_order_address(client, world, session_token):
    """The ten contract fields, filled from the order; address1, city, country required."""
    form = order_html(client, session_token, world.newest.id).find(
        "form", data_action_form="update_shipping_address")
    values = {i.attrs["name"]: i.attrs.get("value") for i in form.find_all("input")}
    assert list(values) == ["first_name", "last_name", "company", "address1", "address2",
                            "city", "province_code", "zip", "country_code", "phone"]
    assert values["address1"] == "1 Market St" and values["city"] == "San Francisco"
    assert values["province_code"] == "CA" and values["country_code"] == "US"
    assert values["zip"] == "94105"
    required = {i.attrs["name"] for i in form.find_all("input") if "required" in i.attrs}
    assert required == {"address1", "city", "country_code"}


def test_tags_are_removable_chips_with_an_add_input(client, store, session_token):
    """Current tags as chips with a labelled remove button each; an input to add more; tag
    text is escaped."""
    customer = store.add_customer(SHOP, first_name="Flo", email="flo@example.com")
    order = store.add_order(SHOP, customer=customer, tags=["gift", '<b>"odd"</b>'],
                            lines=[{"title": "Pen", "price": "3.00"}])
    response = client.get(f"/api/v1/orders/{order.id}",
                          headers={**bearer(session_token), "Accept": "text/html"})
    raw = response.get_data(as_text=True)
    assert '<b>"odd"</b>' not in raw
    form = parse(raw).find("form", data_action_form="edit_tags")
    chips = form.find_all("li", data_tag=True)
    assert sorted(c.attrs["data-tag"] for c in chips) == ['<b>"odd"</b>', "gift"]
    gift = form.find("li", data_tag="gift")
    assert gift.find("button", data_tag_remove=True).attrs["aria-label"] == "Remove tag gift"
    assert form.find("input", data_tag_input=True)
    assert form.find("button", data_tag_add=True).attrs["type"] == "button"


@pytest.mark.parametrize(("note", "checked_mode"), [("Leave at the door", "append"),
                                                    (None, "replace")])
def test_note_form_appends_to_an_existing_note_or_replaces(client, store, session_token, note,
                                                            checked_mode):
    """Replace/append radios (append by default when there is a note); the textarea carries
    the current note for "replace"."""
    customer = store.add_customer(SHOP, first_name="Gus", email="gus@example.com")
    order = store.add_order(SHOP, customer=customer, note=note,
                            lines=[{"title": "Cup", "price": "4.00"}])
    form = order_html(client, session_token, order.id).find("form", data_action_form="edit_note")
    radios = {r.attrs["value"]: "checked" in r.attrs for r in form.find_all("input", name="mode")}
    assert radios == {"append": checked_mode == "append", "replace": checked_mode == "replace"}
    assert form.find("textarea", name="note").attrs["data-current-note"] == (note or "")


def test_order_detail_carries_its_status_badges_for_the_row(client, world, session_token):
    """A refreshed order can update its row's badges: they are in an inert <template>."""
    doc = order_html(client, session_token, world.refunded.id)
    template = doc.find("template", data_order_badges=True)
    assert any(b.attrs.get("data-badge") == "payment:refunded" for b in template.find_all("span"))


def test_card_page_has_identity_approvals_and_the_agents_own_actions(client, world, shop,
                                                                      launch):
    """The card page includes the identity partial, a hidden approvals section for the script,
    and the expanded order's actions follow the agent's permission set."""
    store_permissions(shop.id, {
        "enabled_actions": ["refund", "cancel", "update_shipping_address", "edit_tags"],
        "default": "T1", "permission_sets": [
            {"name": "T1", "actions": ["*"], "refund_limit": "50.00",
             "request_approval_above_limit": True, "agents": ["*@example.com"]}]})
    response = client.get("/cards/zendesk", query_string={
        "launch_token": launch({"email": "bo.wang@example.com"})})
    doc = parse(response.get_data(as_text=True))
    main = doc.find("main", id="sidecard")
    assert main.find("section", id="sc-identity")
    approvals = main.find("details", data_approvals=True)
    assert "hidden" in approvals.attrs and approvals.find(data_approvals_list=True)
    scripts = [s.attrs.get("src") for s in doc.find_all("script") if s.attrs.get("src")]
    assert scripts == ["/static/identity.js", "/static/card.js"]  # identity reads the boot first
    newest = doc.find("li", id=f"sc-order-{world.newest.id}")
    note = newest.find("li", data_action="edit_note")
    assert note.attrs["data-available"] == "false" and not note.find_all("button")
    assert newest.find("button", data_action_open="refund")
    assert "Refunds above 50.00 USD need approval." in newest.find(data_limit_note=True).text
