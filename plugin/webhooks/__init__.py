"""Shopify webhooks: the views verify, deduplicate and enqueue; handlers run in the worker."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the webhook routes and the worker's topic handlers."""
    from plugin.webhooks import compliance, handlers  # noqa: F401  (register handlers)
    from plugin.webhooks.views import bp

    app.register_blueprint(bp)
