"""The order card: `GET/POST /cards/<kind>` renders the whole card in one response.

The page carries a session token for its script (never a cookie); the script then uses the
JSON API (`/api/v1/customers`, `/api/v1/orders/{id}`) with `Authorization: Bearer`, asking
for `text/html` to get the same server-rendered partials back.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("cards", __name__)


def init_app(app: Flask) -> None:
    """Register the card page and the card's template filters."""
    from plugin.cards import formatting, views  # noqa: F401  (views add routes to bp)

    formatting.init_app(app)
    app.register_blueprint(bp)
