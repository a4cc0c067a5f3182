"""(placeholder: the job queue; enqueue(), HANDLERS registry, worker command)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `worker` command."""
