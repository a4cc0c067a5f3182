"""The card in a real browser (Debian chromium through Playwright) at 320 pixels wide.

Robust under `pytest -n 2`: one chromium per module (launching one per test doubled the
load on two shared cores), a fresh context per test, 15-second timeouts, the full set of
flags this machine needs, and a database file instead of in-memory SQLite (whose single
shared connection the server's threads and the test thread would otherwise use at once).
"""

from __future__ import annotations

import pytest
from browser_kit import chromium, new_context, sqlite_file_url, watch_errors  # noqa: F401
from factories import launch_token

from plugin.sandbox import serve_sandbox

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(tmp_path):
    """A database file when the suite runs on SQLite (the server answers from threads)."""
    url = sqlite_file_url(tmp_path / "card.db")
    return {"DATABASE_URL": url} if url else {}


@pytest.fixture
def browser_page(app, chromium):  # noqa: F811  (fixture)
    """A 320px-wide page in a fresh context and the app served on a free loopback port."""
    base, stop = serve_sandbox(app)
    context = new_context(chromium, width=320, height=800)
    page = context.new_page()
    errors = watch_errors(page, [])
    try:
        yield base, page, errors
    finally:
        context.close()
        stop()


def test_card_fits_320_pixels_and_works_from_the_keyboard(browser_page, world, connection):
    """No horizontal scroll at 320px; Tab/Enter open an order; search and pick a customer."""
    base, page, errors = browser_page
    token = launch_token(connection, customer={"email": "bo.wang@example.com",
                                               "phone": "+14155550199"})
    page.goto(f"{base}/cards/zendesk?launch_token={token}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("text=has 2 Shopify accounts").is_visible()

    # Keyboard: focus the shipped order's summary, open it with Enter, its detail loads.
    summary = page.locator(f"#sc-order-{world.shipped.id} summary")
    summary.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#sc-order-{world.shipped.id} [data-order-detail]")
    assert page.locator(f"#sc-order-{world.shipped.id}").get_by_text(
        "1Z999AA10123456784").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    # Search by name: a chooser, focus moves to its heading, then pick Ann Lee.
    page.fill("#sc-q", "Ann")
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-result="chooser"]')
    assert page.evaluate("document.activeElement.textContent").strip() == "2 customers match"
    page.click(f'[data-open-customer="{world.ann_lee.id}"]')
    page.wait_for_selector('[data-result="card"]')
    assert page.locator(".sc-customer__name").first.text_content() == "Ann Lee"

    # An empty search is refused in the page, with a message.
    page.fill("#sc-q", "")
    page.keyboard.press("Enter")
    assert page.locator("[data-search-error]").is_visible()
    assert errors == []


def test_load_more_appends_the_next_page(app, browser_page, world, connection):
    """"Load more orders" appends the next page and moves focus to it."""
    app.config["CARD_ORDERS_PAGE_SIZE"] = 2
    base, page, errors = browser_page
    token = launch_token(connection, customer={"email": "bo.wang@example.com"})
    page.goto(f"{base}/cards/zendesk?launch_token={token}")
    assert page.locator(".sc-order").count() == 2
    page.click("[data-load-more]")
    # (wait_for_selector, not wait_for_function: the card's CSP forbids eval, as it should)
    page.wait_for_selector(f"#sc-order-{world.refunded.id}")
    assert page.locator(".sc-order").count() == 4
    assert page.locator("[data-load-more]").count() == 0
    assert page.evaluate("document.activeElement.closest('.sc-order').id") == (
        f"sc-order-{world.cancelled.id}")
    assert errors == []
