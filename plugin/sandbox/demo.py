"""Demo mode: install the demo shop the real way (App Bridge id token → token exchange).

The sandbox store lives in memory, so a restarted demo server no longer knows the tokens saved
in the database; `register_auto_install` re-installs the demo shop on the first request of each
process when that happens, exactly as Shopify's managed install would on the next admin load.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from typing import Any

from flask import Flask, current_app, has_app_context

from plugin.sandbox.store import DEMO_SHOP, SandboxStore

log = logging.getLogger("sidecard.sandbox")

RETRY_SECONDS = 30.0


def install_demo_shop(app: Flask, shop_domain: str = DEMO_SHOP) -> Any:
    """Mint an id token for the shop, token-exchange it and save the install; returns the Shop.

    :raises RuntimeError: not in demo mode (no sandbox store).
    :raises SidecardError: the exchange failed (see plugin.shopify.auth).
    """
    store: SandboxStore | None = app.extensions.get("sandbox_store")
    if not app.config.get("DEMO_MODE") or store is None:
        raise RuntimeError("install_demo_shop needs demo mode (the in-process sandbox store)")
    # Imported here: plugin.shopify.auth needs the app and its models fully set up.
    from plugin.shopify.auth import exchange_id_token, save_install

    # Reuse the caller's app context (its session owns the returned Shop) or push one.
    active = has_app_context() and current_app._get_current_object() is app  # type: ignore[attr-defined]
    with nullcontext() if active else app.app_context():
        id_token = store.id_token(shop_domain, user_id=1)
        tokens = exchange_id_token(shop_domain, id_token)
        shop = save_install(shop_domain, tokens)
        log.info("demo shop %s installed through token exchange", shop_domain)
        return shop


def demo_install_current(app: Flask, shop_domain: str = DEMO_SHOP) -> bool:
    """Whether the saved install of the demo shop holds a token this sandbox store issued."""
    from plugin.extensions import db
    from plugin.models import Shop

    store: SandboxStore = app.extensions["sandbox_store"]
    shop = db.session.execute(db.select(Shop).filter_by(domain=shop_domain)).scalar_one_or_none()
    if shop is None or not shop.is_installed:
        return False
    if store.token_valid(shop_domain, shop.access_token):
        return True
    refresh = store.refresh_tokens.get(shop.refresh_token or "")
    return refresh is not None and not refresh.revoked and refresh.expires_at > store.time()


def register_auto_install(app: Flask) -> None:
    """Before the first request of a process, (re)install the demo shop if the store needs it."""
    state = {"done": False, "last_try": 0.0}
    lock = threading.Lock()

    @app.before_request
    def _ensure_demo_install() -> None:
        if state["done"] or time.monotonic() - state["last_try"] < RETRY_SECONDS:
            return
        with lock:
            if state["done"]:
                return
            state["last_try"] = time.monotonic()
            try:
                if not demo_install_current(app):
                    install_demo_shop(app)
                state["done"] = True
            except Exception:  # the demo keeps serving; the next request retries
                from plugin.extensions import db

                db.session.rollback()
                log.warning("demo shop install failed; will retry (is the database migrated?)",
                            exc_info=True)
