"""Install flows and the embedded app home (token exchange, authorization code, patch page)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `oauth` blueprint (`/`, `/oauth/callback`, `/auth/patch-id-token`)."""
    from plugin.oauth.views import bp

    app.register_blueprint(bp)
