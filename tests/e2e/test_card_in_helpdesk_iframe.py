"""The card in a real browser, framed cross-origin the way each helpdesk shows it.

The app runs in demo mode (the seeded sandbox store as Shopify) on a loopback port over real
HTTP. Its demo helpdesk pages are opened at `http://localhost:<port>` while the card is served
from `http://127.0.0.1:<port>` (APP_URL): two origins, so the framing is genuinely
cross-origin. A second server on another port plays a foreign site that tries to frame the
card. One chromium (Debian's, through Playwright) per module; a fresh context per test.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_kit import chromium, new_context, sqlite_file_url  # noqa: F401
from cryptography.fernet import Fernet
from dbtools import base_test_database_url, worker_database_url

from plugin import create_app
from plugin.extensions import db
from plugin.sandbox import serve_sandbox

pytestmark = pytest.mark.browser

# An app-load id token is an HS256 JWT signed with this; PyJWT wants ≥ 32 bytes.
API_SECRET = "shpss_" + "5e2d4c3b2a19f807" * 2
# The seeded demo shop: Amara Okafor's oldest order, shipped with UPS.
AMARA_TICKET = "4812"
OLD_ORDER_ID = "5812440000014"
OLD_ORDER_TRACKING = "1Z999AA10123456795"
TEST_DATABASE_URL = worker_database_url(base_test_database_url())


class _LateApp:
    """A WSGI app whose target is set once the port (and so APP_URL) is known."""

    target: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.target(environ, start_response)


@dataclass
class Live:
    """The app served over HTTP: its card origin, the helpdesk origin, the foreign one."""

    app: Any
    port: int
    foreign: str

    @property
    def card_origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def helpdesk_origin(self) -> str:
        return f"http://localhost:{self.port}"


def _foreign_page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A site no connection lists, framing whatever `?src=` names."""
    src = (parse_qs(environ.get("QUERY_STRING", "")).get("src") or ["about:blank"])[0]
    body = (f'<!doctype html><title>Not a helpdesk</title><h1>Foreign site</h1>'
            f'<iframe id="sidecard-frame" src="{html.escape(src)}" width="320" height="600">'
            f"</iframe>").encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    """The demo app on a free loopback port (its own database), and a foreign site."""
    database_url = (sqlite_file_url(tmp_path_factory.mktemp("e2e") / "sidecard.db")
                    or TEST_DATABASE_URL)
    late = _LateApp()
    base, stop = serve_sandbox(late)
    port = urlsplit(base).port
    app = create_app({
        "TESTING": True, "DOTENV_PATH": None, "DEMO_MODE": True, "DATABASE_URL": database_url,
        "APP_URL": f"http://127.0.0.1:{port}", "SHOPIFY_API_KEY": "e2e-key",
        "SHOPIFY_API_SECRET": API_SECRET, "SECRET_KEY": "e2e-secret-key-for-sidecard-only",
        "ENCRYPTION_KEY": Fernet.generate_key().decode()})
    foreign, stop_foreign = serve_sandbox(_foreign_page)
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            late.target = app
            yield Live(app=app, port=port, foreign=foreign)
    finally:
        stop_foreign()
        stop()
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@dataclass
class Tab:
    """A fresh browser context and page, with every response and console message seen."""

    context: Any
    page: Any
    responses: list[Any]
    console: list[Any]
    page_errors: list[str]

    def set_cookie_headers(self) -> list[str]:
        """`Set-Cookie` headers of every response received (documents, frames, fetches)."""
        found = []
        for response in self.responses:
            headers = response.all_headers()
            if "set-cookie" in headers:
                found.append(f"{response.url}: {headers['set-cookie']}")
        return found


@pytest.fixture
def tab(chromium) -> Iterator[Tab]:  # noqa: F811  (fixture)
    """A new context (no cookies from other tests) with a 15-second default timeout."""
    context = new_context(chromium, width=1280, height=900)
    responses: list[Any] = []
    console: list[Any] = []
    page_errors: list[str] = []
    context.on("response", lambda response: responses.append(response))
    context.on("console", lambda message: console.append(message))
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    yield Tab(context=context, page=page, responses=responses, console=console,
              page_errors=page_errors)
    context.close()


def _assert_no_cookies(tab: Tab) -> None:
    assert tab.context.cookies() == []
    assert tab.set_cookie_headers() == []


def _open_old_order_and_see_tracking(card: Any) -> None:
    """In a card (a page or a frame locator): Amara's card, then her oldest order's tracking."""
    card.locator(".sc-customer__name").first.wait_for()
    assert card.locator(".sc-customer__name").first.text_content().strip() == "Amara Okafor"
    order = card.locator(f"#sc-order-{OLD_ORDER_ID}")
    order.locator("summary").click()
    order.locator("[data-order-detail]").wait_for()
    link = order.locator(f'a[href*="{OLD_ORDER_TRACKING}"]').first
    link.wait_for()
    assert link.is_visible()
    assert link.get_attribute("href").startswith("https://www.ups.com/")


@pytest.mark.parametrize("kind", ["zendesk", "kustomer"])
def test_card_framed_by_the_helpdesk_finds_the_customer_and_shows_tracking(live, tab, kind):
    """In the helpdesk's sidebar iframe (another origin) the card finds the requester; an
    older order opens with its tracking link; no cookie is set or sent for either origin."""
    page = tab.page
    page.goto(f"{live.helpdesk_origin}/demo/helpdesk/{kind}?ticket={AMARA_TICKET}")
    assert page.locator("[data-requester]").text_content() == "Amara Okafor"
    frame_element = page.locator("#sidecard-frame")
    width = frame_element.evaluate("el => el.getBoundingClientRect().width")
    assert 320 <= width <= 360

    _open_old_order_and_see_tracking(page.frame_locator("#sidecard-frame"))

    frame = frame_element.element_handle().content_frame()
    assert frame.url.startswith(f"{live.card_origin}/cards/{kind}?launch_token=")
    assert page.url.startswith(live.helpdesk_origin)  # so the frame is cross-origin
    _assert_no_cookies(tab)
    assert tab.page_errors == []


def test_gorgias_widget_lists_orders_and_opens_the_card_in_a_new_tab(live, tab):
    """The Gorgias widget lists the requester's orders; its link opens the full card
    top-level, where the older order shows its tracking; no cookies anywhere."""
    page = tab.page
    page.goto(f"{live.helpdesk_origin}/demo/helpdesk/gorgias?ticket={AMARA_TICKET}")
    widget = page.locator("[data-gorgias-widget]")
    assert widget.locator(f'[data-widget-order="{OLD_ORDER_ID}"]').is_visible()
    assert page.locator("iframe").count() == 0  # Gorgias has no sidebar iframe

    with tab.context.expect_page() as opened:
        widget.locator("#sidecard-open").click()
    card = opened.value
    card.wait_for_load_state()
    assert card.url.startswith(f"{live.card_origin}/cards/gorgias?launch_token=")
    _open_old_order_and_see_tracking(card)
    _assert_no_cookies(tab)
    assert tab.page_errors == []


def test_card_framed_by_a_foreign_origin_is_refused(live, tab):
    """A site that is not the connection's helpdesk cannot frame the card: the browser
    refuses it (frame-ancestors) and the frame shows no card."""
    from plugin.demo.helpdesks import TICKETS, demo_shop, ensure_demo_connections, launch_url

    connection = ensure_demo_connections(demo_shop())["zendesk"]
    assert live.foreign not in connection.frame_origins
    card_url = launch_url(connection, TICKETS[0])

    page = tab.page
    with page.expect_console_message(
            lambda message: "frame-ancestors" in message.text) as refused:
        page.goto(f"{live.foreign}/?src={card_url}")
    # Chromium: "Framing '<card>' violates ... "frame-ancestors <helpdesk origin>". The
    # request has been blocked." (older builds: "Refused to frame ...").
    assert f"frame-ancestors {live.helpdesk_origin}" in refused.value.text
    assert refused.value.type == "error"

    frame = page.locator("#sidecard-frame").element_handle().content_frame()
    assert frame is not None
    # The blocked frame holds Chromium's error page, not the card.
    assert frame.url.startswith("chrome-error://")
    assert frame.locator("#sidecard").count() == 0
    _assert_no_cookies(tab)
