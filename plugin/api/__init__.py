"""The JSON API under /api/v1, authenticated with `Authorization: Bearer` (never cookies)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

API_PREFIX = "/api/"

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def api_response_headers(response: Response) -> Response:
    """No cookie ever leaves the API, and no answer is cached: tokens travel in bodies."""
    if request.path.startswith(API_PREFIX):  # errors and unknown /api/ paths included
        response.headers.pop("Set-Cookie", None)
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Import the route modules (they add routes to `bp`) and register the blueprint."""
    # Route modules are imported here, before the first registration, so that `bp` is
    # complete when an app registers it. Add new resource modules to this import.
    from plugin.api import (  # noqa: F401
        actions,
        approvals,
        audit,
        customers,
        gorgias,
        launch,
        orders,
        sessions,
        verify,
    )

    app.register_blueprint(bp)
    app.after_request(api_response_headers)
