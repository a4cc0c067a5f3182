"""What the browser tests share: Debian's chromium through Playwright, with the flags and
timeouts this machine needs, and a database the served app's threads can share.

The app itself is served with `plugin.sandbox.serve_sandbox` (a threaded werkzeug server on a
free loopback port).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dbtools import base_test_database_url, is_postgres

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox as root; no background calls to Google's hosts (refused here, slow to fail).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Generous: two pytest workers and a browser share two cores.
TIMEOUT_MS = 15_000


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless Debian chromium, closed on exit; fails the test when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium at /usr/bin/chromium "
                    "(apt-get install chromium; scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Debian chromium for the module (one per test would double the load)."""
    with launch_chromium() as browser:
        yield browser


def new_context(browser: Any, *, width: int, height: int) -> Any:
    """A fresh browser context (no cookies or storage) with the suite's timeouts."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(2 * TIMEOUT_MS)
    return context


def watch_errors(page: Any, errors: list[str]) -> list[str]:
    """Collect the page's uncaught exceptions and console errors into `errors` (returned)."""
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def sqlite_file_url(path: Path) -> str | None:
    """A SQLite database file at `path`, or None when the suite runs on PostgreSQL.

    The served app answers from threads: in-memory SQLite's one shared connection would be
    used by them and the test thread at once.
    """
    if is_postgres(base_test_database_url()):
        return None
    return f"sqlite:///{path}"
