"""Response headers that keep pages unframeable unless a view allows its helpdesk."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, g


def allow_framing(origins: Iterable[str]) -> None:
    """Let this response be framed by exactly these origins (never `*`)."""
    cleaned = [o for o in origins if o and o != "*"]
    g.frame_ancestors = cleaned


def init_app(app: Flask) -> None:
    """Install the default security headers on every response."""

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        origins = g.get("frame_ancestors")
        policy = "frame-ancestors " + (" ".join(origins) if origins else "'none'")
        existing = response.headers.get("Content-Security-Policy")
        if not existing:
            response.headers["Content-Security-Policy"] = policy
        elif "frame-ancestors" not in existing:
            response.headers["Content-Security-Policy"] = f"{existing}; {policy}"
        response.headers.pop("X-Frame-Options", None)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response
