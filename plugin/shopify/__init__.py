"""Everything that talks to Shopify: request verification, OAuth, the Admin GraphQL client."""

from __future__ import annotations

from flask import Flask, current_app
from shopify_app import ShopifyApp


def init_app(app: Flask) -> None:
    """Build the one `ShopifyApp` (request verification, token exchange) for this app."""
    app.extensions["shopify_app"] = ShopifyApp(
        client_id=app.config["SHOPIFY_API_KEY"],
        client_secret=app.config["SHOPIFY_API_SECRET"],
        old_client_secret=app.config.get("SHOPIFY_OLD_API_SECRET") or None,
    )


def shopify_app() -> ShopifyApp:
    """The configured `ShopifyApp` of the current Flask app."""
    return current_app.extensions["shopify_app"]
