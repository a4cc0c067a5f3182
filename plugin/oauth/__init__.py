"""(placeholder: filled in by the oauth work)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's blueprint and commands."""
