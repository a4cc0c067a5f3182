"""`flask --app app sandbox ...`: serve the sandbox standalone, seed/install the demo shop."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import click
from flask import current_app
from flask.cli import AppGroup

from plugin.sandbox.store import DEMO_SHOP, SandboxStore

sandbox_cli = AppGroup("sandbox",
                       help="The sandbox store: a local stand-in for the Shopify Admin API.")


@sandbox_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--api-key", default=None, help="Client id it accepts (default: app config).")
@click.option("--api-secret", default=None, help="Client secret (default: app config).")
def serve_command(host: str, port: int, api_key: str | None, api_secret: str | None) -> None:
    """Serve a freshly seeded sandbox on HOST:PORT (SHOPIFY_ADMIN_URL=http://HOST:PORT/{shop})."""
    from werkzeug.serving import run_simple

    from plugin.sandbox.app import create_sandbox_app

    config = current_app.config
    wsgi = create_sandbox_app(api_key=api_key or config["SHOPIFY_API_KEY"],
                              api_secret=api_secret or config["SHOPIFY_API_SECRET"],
                              store=SandboxStore.seeded(scopes=config.get("SCOPES")))
    click.echo(f"Sandbox store on http://{host}:{port} -- point the app at it with "
               f"SHOPIFY_ADMIN_URL=http://{host}:{port}/{{shop}}")
    run_simple(host, port, wsgi, threaded=True, use_reloader=False)


@sandbox_cli.command("seed")
def seed_command() -> None:
    """Demo mode: install the seeded demo shop through token exchange; print what is there."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store: SandboxStore | None = app.extensions.get("sandbox_store")
    if store is None:
        raise click.ClickException("the sandbox store runs only in demo mode (unset "
                                   "SHOPIFY_API_KEY and SHOPIFY_API_SECRET)")
    from plugin.sandbox.demo import install_demo_shop

    shop = install_demo_shop(app)
    click.echo(json.dumps({"installed": shop.domain, "scopes": shop.scopes,
                           "shops": store.summary()}, indent=2))


@sandbox_cli.command("open-url")
@click.option("--shop", default=DEMO_SHOP, show_default=True)
def open_url_command(shop: str) -> None:
    """Demo mode: print a signed app-load URL (with a fresh id token, valid one minute)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store: SandboxStore | None = app.extensions.get("sandbox_store")
    if store is None:
        raise click.ClickException("the sandbox store runs only in demo mode")
    params = store.app_load_params(shop)
    click.echo(f"{app.config['APP_URL']}/?{urlencode(params)}")
