"""The demo page (demo mode only): what the sandbox holds and what to try.

`GET /demo` shows it; the oauth package's `/` calls `render_demo_index()` in demo mode when the
request carries no Shopify parameters. `GET /demo/open` opens Sidecard the way the Shopify admin
would: it redirects to `/` with freshly signed app-load parameters (including an id token).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("demo", __name__)

from plugin.demo import helpdesks  # noqa: E402, F401  (the demo helpdesk pages)
from plugin.demo.views import render_demo_index  # noqa: E402  (routes register on bp)

__all__ = ["bp", "init_app", "render_demo_index"]


def init_app(app: Flask) -> None:
    """Register the demo routes, in demo mode only."""
    if app.config.get("DEMO_MODE"):
        app.register_blueprint(bp)
