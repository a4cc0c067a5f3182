"""A refund from the order card, inside a helpdesk's iframe on another origin, in chromium.

The app (with the sandbox store in-process) is served over real HTTP on one loopback port; a
stand-in helpdesk page on another port frames the card. The agent opens the order, refunds one
line item (quantity 1, restocked), sees Shopify's preview, confirms, and sees the refreshed
order; the sandbox store holds exactly one refund however often Confirm is clicked.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes
from typing import Any

import pytest
from browser_kit import launch_chromium, new_context, watch_errors
from card_fixtures import SHOP, refund_in_admin, shop, store  # noqa: F401  (fixtures)
from factories import launch_token, make_connection

from plugin.permissions import store_permissions
from plugin.sandbox import serve_sandbox

pytestmark = pytest.mark.browser

LEAD = {"sub": "lead-1", "email": "lead@example.com", "name": "Lee Lead"}
PERMISSIONS = {
    "default": "Tier 1",
    "permission_sets": [
        {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
         "agents": ["lead@example.com"]},
        {"name": "Tier 1", "actions": ["*"], "refund_limit": "50.00",
         "request_approval_above_limit": True, "can_approve": False,
         "agents": ["*@example.com"]},
    ],
}


def helpdesk_app(ticket: dict[str, str]):
    """A WSGI helpdesk page whose ticket sidebar frames the card at `ticket["card_url"]`."""

    def app(environ, start_response):
        page = (f'<!doctype html><html><head><title>Helpdesk</title></head><body>'
                f'<h1>Ticket #77</h1><iframe id="sidecard" title="Sidecard" '
                f'src="{ticket["card_url"]}" style="width:320px;height:1400px;border:0">'
                f'</iframe></body></html>').encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(page)))])
        return [page]

    return app


class Mailbox:
    """An aiosmtpd handler keeping the sign-in codes mailed to each address."""

    def __init__(self) -> None:
        self.codes: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd hook)
        message = message_from_bytes(envelope.content)
        match = re.search(r"\b(\d{6})\b", message.get_payload(decode=True).decode())
        if match:
            self.codes.setdefault(message["To"], []).append(match.group(1))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def mailbox():
    """A real SMTP server on loopback (for "Verify it's you" by email code)."""
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    controller.stop()


@pytest.fixture
def app_config(mailbox):
    """Mail goes to the loopback SMTP server."""
    return {"SMTP_URL": mailbox.url, "MAIL_FROM": "Sidecard <sidecard@example.com>"}


@dataclass
class Helpdesk:
    """The app over HTTP, a helpdesk page on another origin framing it, and chromium."""

    base: str
    helpdesk_base: str
    ticket: dict[str, str]
    connection: Any
    browser: Any
    mailbox: Mailbox
    errors: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)  # API paths POSTed, in order

    def open_card(self, customer_email: str, **agent: str) -> tuple[Any, Any]:
        """A new browser tab on the ticket, the card launched for `agent`: (page, frame)."""
        token = launch_token(self.connection, customer={"email": customer_email}, **agent)
        self.ticket["card_url"] = f"{self.base}/cards/zendesk?launch_token={token}"
        page = new_context(self.browser, width=360, height=900).new_page()
        watch_errors(page, self.errors)

        def seen(request) -> None:
            if request.method != "POST":
                return
            self.posts.append(request.url.split("/api/v1/", 1)[-1])
            if request.url.endswith("/actions/refund"):
                self.keys.append(request.headers.get("idempotency-key"))

        page.on("request", seen)
        page.goto(f"{self.helpdesk_base}/")
        return page, page.frame_locator("#sidecard")


@pytest.fixture
def helpdesk(app, store, shop, mailbox):  # noqa: F811  (fixtures)
    """The app and a helpdesk on two origins, the agents' permission sets, a browser."""
    store_permissions(shop.id, PERMISSIONS)
    base, stop_app = serve_sandbox(app)
    ticket: dict[str, str] = {}
    helpdesk_base, stop_helpdesk = serve_sandbox(helpdesk_app(ticket))
    # The helpdesk's origin differs from the app's (another port): a cross-origin frame.
    connection = make_connection(shop, kind="zendesk", frame_origins=[helpdesk_base])
    with launch_chromium() as browser:
        yield Helpdesk(base, helpdesk_base, ticket, connection, browser, mailbox)
    stop_helpdesk()
    stop_app()


@pytest.fixture
def framed(helpdesk, store):  # noqa: F811  (fixtures)
    """(card frame locator, page, the order, console errors, Idempotency-Keys sent, store)
    for the default agent (Tier 1, $50.00 limit) on Rae Park's ticket."""
    customer = store.add_customer(SHOP, first_name="Rae", last_name="Park",
                                  email="rae.park@example.com")
    order = store.add_order(SHOP, customer=customer, days_ago=2, shipping="5.00",
                            lines=[{"title": "Mug", "price": "12.50", "quantity": 2},
                                   {"title": "Tee", "price": "40.00"}])
    store.reset()
    page, frame = helpdesk.open_card("rae.park@example.com")
    return frame, page, order, helpdesk.errors, helpdesk.keys, store


def _open_refund_panel(frame, order) -> Any:
    """Wait for the order's detail, open its refund panel and return the panel."""
    row = frame.locator(f"#sc-order-{order.id}")
    row.locator("[data-order-detail]").wait_for()
    row.locator('[data-action-open="refund"]').click()
    return row.locator('[data-action-panel="refund"]')


def _review_one_mug(frame, order) -> None:
    """Open the order's refund panel, choose one Mug (restocked) and ask for the preview."""
    panel = _open_refund_panel(frame, order)
    mug = panel.locator(f'[data-refund-line="{order.lines[0].id}"]')
    mug.locator('[data-step="1"]').click()
    assert mug.locator("[data-quantity]").input_value() == "1"
    assert mug.locator("[data-restock]").is_checked()
    panel.get_by_role("button", name="Review").click()
    panel.locator('[data-preview="refund"]').wait_for()


def test_agent_refunds_one_line_item_from_the_framed_card(framed):
    """Preview with amounts, one confirmation (double-clicked), success, order refreshed."""
    frame, page, order, errors, keys, sandbox = framed
    _review_one_mug(frame, order)
    row = frame.locator(f"#sc-order-{order.id}")
    preview = row.locator('[data-preview="refund"]')
    assert "1 × Mug" in preview.text_content()
    assert preview.locator("[data-preview-total] dd").text_content() == "$12.50"
    assert "Back to" in preview.text_content()
    assert row.locator("[data-needs-approval]").count() == 0
    # The open panel and its preview fit the 320px sidebar: no sideways scrolling.
    assert frame.locator("html").evaluate("e => e.scrollWidth") <= 320

    row.locator("[data-confirm]").dblclick()
    done = row.locator("[data-action-succeeded]")
    done.wait_for()
    assert "refunded $12.50" in done.text_content()
    summary = row.locator("summary")
    assert "Partially refunded" in summary.text_content()
    assert "Refunded" in row.locator("[data-order-detail]").text_content()

    refunds = sandbox.order(SHOP, order.id).refunds
    assert len(refunds) == 1
    assert [(rl.line_item_id, rl.quantity, rl.restocked) for rl in refunds[0].lines] == [
        (order.lines[0].id, 1, True)]
    assert sum(rl.subtotal for rl in refunds[0].lines) == Decimal("12.50")
    assert len(keys) == 1 and keys[0]
    assert errors == []


def test_a_failed_confirmation_is_retried_with_its_key_and_refunds_once(framed):
    """Shopify failing mid-confirmation: "nothing is lost — retry" reuses the same key."""
    frame, page, order, errors, keys, sandbox = framed
    _review_one_mug(frame, order)
    row = frame.locator(f"#sc-order-{order.id}")
    sandbox.inject(SHOP, kind="http_500", times=1)
    row.locator("[data-confirm]").click()
    retry = row.locator("[data-retry-action]")
    retry.wait_for()
    assert "Shopify didn't answer" in row.locator("[data-action-result]").text_content()
    assert "nothing is lost" in row.locator("[data-action-result]").text_content().lower()
    assert sandbox.order(SHOP, order.id).refunds == []

    retry.click()
    row.locator("[data-action-succeeded]").wait_for()
    assert len(sandbox.order(SHOP, order.id).refunds) == 1
    assert len(keys) == 2 and keys[0] == keys[1]
    # The console logs the 502 as a failed resource load; nothing else went wrong.
    assert [e for e in errors if "502" not in e] == []


def test_a_refund_above_the_limit_is_sent_for_approval(framed):
    """Above the agent's $50.00 limit the preview says so and Confirm sends it to a lead."""
    frame, page, order, errors, keys, sandbox = framed
    panel = _open_refund_panel(frame, order)
    panel.locator("[data-refund-full]").check()
    panel.get_by_role("button", name="Review").click()
    note = panel.locator("[data-needs-approval]")
    note.wait_for()
    assert "above your limit of $50.00" in note.text_content()
    panel.get_by_role("button", name="Send for approval").click()
    sent = panel.locator("[data-approval-sent]")
    sent.wait_for()
    assert "Sent for approval" in sent.text_content()
    assert sandbox.order(SHOP, order.id).refunds == []
    # The agent's own request shows in the card's approvals section.
    frame.locator("[data-approvals] [data-approval-status=pending]").wait_for(state="attached")
    assert errors == []


def test_a_lead_verifies_and_approves_the_request_from_the_card(helpdesk, framed):
    """The lead's card lists the pending request (requester, order, amount, reason) and says
    approving needs a verified identity; after "Verify it's you" Approve runs it once."""
    frame, page, order, errors, keys, sandbox = framed
    panel = _open_refund_panel(frame, order)
    panel.locator("[data-refund-full]").check()
    panel.locator('input[name="reason"]').fill("Arrived broken")
    panel.get_by_role("button", name="Review").click()
    panel.get_by_role("button", name="Send for approval").click()
    approval_id = panel.locator("[data-approval-sent]").get_attribute("data-approval-sent")
    assert approval_id

    lead_page, lead = helpdesk.open_card("rae.park@example.com", **LEAD)
    queue = lead.locator("[data-approvals]")
    item = queue.locator(f'[data-approval-id="{approval_id}"]')
    item.wait_for()
    assert queue.locator("summary").text_content().strip() == "Approvals · 1 waiting"
    text = item.text_content()
    assert "Agent One (agent@example.com)" in text and "$70.00" in text
    assert f"order {order.name}" in text and "Reason: Arrived broken" in text
    assert "verified identity" in text.lower()
    assert item.locator("[data-approve]").count() == 0

    lead.locator("[data-identity-start]").click()
    lead.locator("[data-identity-email-send]").click()
    lead.locator("[data-identity-code-form]").wait_for()
    lead.locator("#sci-code").fill(mailbox_code(helpdesk, "lead@example.com"))
    lead.locator("#sci-code").press("Enter")
    approve = item.locator("[data-approve]")
    approve.wait_for()
    item.locator("[data-approval-comment]").fill("OK, broken in transit")
    approve.dblclick()
    notice = lead.locator("[data-approvals-notice]")
    notice.wait_for()
    assert "Approved and done:" in notice.text_content()
    assert "approved by Lee Lead" in notice.text_content()
    refunds = sandbox.order(SHOP, order.id).refunds
    assert len(refunds) == 1 and refunds[0].note == "Arrived broken"
    assert helpdesk.posts.count(f"approvals/{approval_id}/approve") == 1
    lead.locator(f"#sc-order-{order.id} summary", has_text="Refunded").wait_for()
    lead.locator("[data-approvals] summary", has_text="none waiting").wait_for()
    assert errors == []


def mailbox_code(helpdesk: Helpdesk, address: str) -> str:
    """The newest sign-in code mailed to `address` (waits briefly for the SMTP hand-off)."""
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        codes = helpdesk.mailbox.codes.get(address)
        if codes:
            return codes[-1]
        time.sleep(0.05)
    raise AssertionError(f"no code was mailed to {address}")


def _act(row, name: str, fill) -> str:
    """Open an action's panel, fill it, review, confirm; the "Done" banner's text."""
    row.locator(f'[data-action-open="{name}"]').click()
    panel = row.locator(f'[data-action-panel="{name}"]')
    fill(panel)
    panel.get_by_role("button", name="Review").click()
    panel.locator(f'[data-preview="{name}"]').wait_for()
    panel.locator("[data-confirm]").click()
    done = row.locator(f'[data-action-succeeded="{name}"]')
    done.wait_for()
    return done.text_content()


def test_tags_note_address_and_cancel_from_the_card(framed):
    """Each form sends a body the API takes, and the store changes as the agent asked."""
    frame, page, order, errors, keys, sandbox = framed
    row = frame.locator(f"#sc-order-{order.id}")
    row.locator("[data-order-detail]").wait_for()

    def add_tags(panel):
        panel.locator("[data-tag-input]").fill("vip, rush")
        panel.locator("[data-tag-input]").press("Enter")

    def swap_tags(panel):
        panel.locator('[data-tag="rush"] [data-tag-remove]').click()
        panel.locator("[data-tag-input]").fill("late")

    assert "added vip, rush" in _act(row, "edit_tags", add_tags)
    assert "added late; removed rush" in _act(row, "edit_tags", swap_tags)
    assert sandbox.order(SHOP, order.id).tags == ["vip", "late"]

    _act(row, "edit_note", lambda p: p.locator('textarea[name="note"]').fill("Called them"))
    _act(row, "edit_note", lambda p: p.locator('textarea[name="note"]').fill("Second call"))
    assert sandbox.order(SHOP, order.id).note == "Called them\nSecond call"

    def move(panel):
        for name, value in {"address1": "5 Elm St", "city": "Toronto", "province_code": "on",
                            "zip": "M5V 2T6", "country_code": "ca"}.items():
            panel.locator(f'input[name="{name}"]').fill(value)

    assert "5 Elm St, Toronto ON M5V 2T6" in _act(row, "update_shipping_address", move)
    address = sandbox.order(SHOP, order.id).shipping_address
    assert (address.city, address.province_code, address.country_code) == ("Toronto", "ON",
                                                                           "CA")

    def cancel(panel):
        panel.locator('select[name="reason"]').select_option("INVENTORY")
        panel.locator('input[name="refund"]').uncheck()  # a refund would need approval here

    _act(row, "cancel", cancel)
    assert sandbox.order(SHOP, order.id).cancel_reason == "INVENTORY"
    assert "Cancelled" in row.locator("summary").text_content()
    assert errors == []


def test_shopify_refusing_shows_its_own_messages(framed):
    """A 422 shows the answer's message and each of Shopify's `errors[].message`."""
    frame, page, order, errors, keys, sandbox = framed
    refused = {"error": "shopify_refused", "message": "Shopify refused the refund.",
               "errors": [{"field": ["transactions", "0", "amount"],
                           "message": "Amount exceeds the refundable amount"}]}
    page.context.route("**/actions/refund", lambda route: route.fulfill(
        status=422, json=refused))
    _review_one_mug(frame, order)
    row = frame.locator(f"#sc-order-{order.id}")
    row.locator("[data-confirm]").click()
    result = row.locator("[data-action-result] [role=alert]")
    result.wait_for()
    assert "Shopify refused the refund." in result.text_content()
    assert result.locator(".sc-errors li").all_text_contents() == [
        "Amount exceeds the refundable amount"]
    assert row.locator("[data-confirm]").count() == 0  # change it (Back) to try again
    assert row.get_by_role("button", name="Back").is_enabled()
    assert sandbox.order(SHOP, order.id).refunds == []


def test_an_order_that_changed_since_the_preview_is_refused_with_the_reason(framed):
    """Both mugs refunded in Shopify's admin after the preview: Confirm says so, and refunds
    nothing more."""
    frame, page, order, errors, keys, sandbox = framed
    _review_one_mug(frame, order)
    refund_in_admin(sandbox, order, order.lines[0], quantity=2, amount="25.00",
                    key="admin-refund")
    row = frame.locator(f"#sc-order-{order.id}")
    row.locator("[data-confirm]").click()
    result = row.locator("[data-action-result] [role=alert]")
    result.wait_for()
    assert "Only 0 of Mug can still be refunded" in result.text_content()
    assert len(sandbox.order(SHOP, order.id).refunds) == 1  # the admin's, no other


def test_the_refund_panel_works_from_the_keyboard(framed):
    """Enter opens the panel (focus on its title), the stepper answers Enter, Escape closes it
    and gives focus back to its button."""
    frame, page, order, errors, keys, sandbox = framed
    row = frame.locator(f"#sc-order-{order.id}")
    row.locator("[data-order-detail]").wait_for()
    opener = row.locator('[data-action-open="refund"]')
    opener.focus()
    page.keyboard.press("Enter")
    panel = row.locator('[data-action-panel="refund"]')
    panel.wait_for()
    assert opener.get_attribute("aria-expanded") == "true"
    focused = "e => e.ownerDocument.activeElement === e"
    assert panel.locator(".sc-panel__title").evaluate(focused)
    plus = panel.locator(f'[data-refund-line="{order.lines[0].id}"] [data-step="1"]')
    plus.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # capped at the refundable quantity
    assert panel.locator(f'[data-quantity][data-line-item-id="{order.lines[0].id}"]'
                         ).input_value() == "2"
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert opener.get_attribute("aria-expanded") == "false"
    assert opener.evaluate(focused)
    assert errors == []
