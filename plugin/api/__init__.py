"""The JSON API under /api/v1, authenticated with `Authorization: Bearer` (never cookies)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from plugin.exceptions import UnsupportedMediaTypeError

API_PREFIX = "/api/"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def require_json_body() -> None:
    """Every body the API reads is JSON: refuse any other content type with 415.

    Form and text/plain bodies are what a cross-site page can POST without a CORS
    preflight; refusing them keeps the API to callers that chose to send JSON. An empty
    body (e.g. `approve` without a comment) needs no content type.

    :raise 413: the body is larger than MAX_CONTENT_LENGTH.
    :raise 415: a non-empty body that is not `application/json` (or `+json`).
    """
    if request.method not in BODY_METHODS or request.is_json:
        return
    if request.get_data(cache=True).strip():  # cached: the view reads the same bytes
        raise UnsupportedMediaTypeError("send the body as JSON with Content-Type: "
                                        "application/json")


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
