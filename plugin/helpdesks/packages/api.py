"""The API-bot package: how a script signs launch tokens and opens a session."""

from __future__ import annotations

from flask import render_template

from plugin.helpdesks.packages import PackageContext


def build(ctx: PackageContext) -> dict[str, str]:
    """Install notes and a runnable example client (reads the secret from the environment)."""
    return {
        "README.md": render_template("helpdesk_packages/api/README.md", ctx=ctx),
        "launch_example.py": render_template("helpdesk_packages/api/launch_example.py.j2",
                                             ctx=ctx),
    }
