"""The sandbox store: a local stand-in for the Shopify Admin API (demo mode and tests).

`create_sandbox_app(api_key=..., api_secret=..., store=None)` is a WSGI app answering Shopify's
OAuth and Admin GraphQL paths; `SandboxStore` holds its state. In demo mode `init_app` builds one
seeded store, exposes the app as `app.extensions["sandbox_wsgi"]` (the Shopify transport sends
requests to it in-process) and mounts it at `/_sandbox` for HTTP access. Under TESTING each app
gets a fresh seeded store (or `app.config["SANDBOX_STORE"]` when a test provides one).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from plugin.sandbox.app import SandboxApp, create_sandbox_app
from plugin.sandbox.server import serve_sandbox
from plugin.sandbox.store import DEMO_SHOP, SandboxStore

__all__ = ["DEMO_SHOP", "SandboxApp", "SandboxStore", "create_sandbox_app", "demo_store",
           "init_app", "serve_sandbox"]

MOUNT_PATH = "/_sandbox"
log = logging.getLogger("sidecard.sandbox")

_store_lock = threading.Lock()
_process_store: SandboxStore | None = None


def demo_store(scopes: str | None = None) -> SandboxStore:
    """The process-wide seeded store of demo mode (built once, under a lock)."""
    global _process_store
    with _store_lock:
        if _process_store is None:
            _process_store = SandboxStore.seeded(**({"scopes": scopes} if scopes else {}))
        return _process_store


def init_app(app: Flask) -> None:
    """Register the sandbox CLI; in demo mode also build, expose and mount the sandbox.

    The demo page (plugin.demo) is registered from here too: it exists only with the sandbox.
    """
    from plugin.demo import init_app as init_demo
    from plugin.sandbox.cli import sandbox_cli

    app.cli.add_command(sandbox_cli)
    if not app.config.get("DEMO_MODE"):
        return
    init_demo(app)
    # Tests get a fresh store per app so they cannot see each other's refunds.
    store = app.config.get("SANDBOX_STORE") or (
        SandboxStore.seeded(scopes=app.config.get("SCOPES"))
        if app.config.get("TESTING") else demo_store(app.config.get("SCOPES")))
    sandbox = create_sandbox_app(api_key=app.config["SHOPIFY_API_KEY"],
                                 api_secret=app.config["SHOPIFY_API_SECRET"], store=store)
    app.extensions["sandbox_store"] = store
    app.extensions["sandbox_wsgi"] = sandbox
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {MOUNT_PATH: sandbox})  # type: ignore[method-assign]
    if not app.config.get("TESTING"):
        from plugin.sandbox.demo import register_auto_install

        register_auto_install(app)
