"""One place that turns exceptions into the contract's JSON error body or an error page."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from plugin.exceptions import SidecardError

log = logging.getLogger("sidecard.errors")

# Werkzeug status → the contract's error code.
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "unprocessable", 429: "rate_limited",
    500: "internal_error", 502: "bad_gateway", 504: "gateway_timeout",
}


def wants_json() -> bool:
    """JSON for the API, webhooks and script requests; HTML for pages."""
    if request.path.startswith(("/api/", "/webhooks/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def error_response(status: int, code: str, message: str, **extra):
    """Render one error as JSON or as templates/errors/<status>.html."""
    if wants_json():
        response = jsonify({"error": code, "message": message, **extra})
        response.status_code = status
        return response
    try:
        html = render_template(f"errors/{status}.html", code=code, message=message,
                               status=status)
    except Exception:  # noqa: BLE001  (a missing template must not hide the error)
        html = render_template("errors/generic.html", code=code, message=message,
                               status=status)
    return html, status


def register_error_handlers(app: Flask) -> None:
    """Map SidecardError subclasses, HTTP errors and crashes to responses."""

    @app.errorhandler(SidecardError)
    def handle_sidecard_error(exc: SidecardError):
        if exc.http_status >= 500:
            _rollback()
            log.warning("error %s on %s %s", exc.code, request.method, request.path)
        response = error_response(exc.http_status, exc.code, exc.message,
                                  **{k: v for k, v in exc.to_dict().items()
                                     if k not in ("error", "message")})
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        return error_response(status, HTTP_CODES.get(status, "error"),
                              exc.description or exc.name)

    @app.errorhandler(Exception)
    def handle_crash(exc: Exception):
        _rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error",
                              "Something went wrong on our side; nothing was changed.")


def _rollback() -> None:
    from plugin.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110  (best effort while already failing)
        pass
