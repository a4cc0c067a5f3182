"""Verified agent identity: who the agent is, proven, not just claimed (CONTRACT §4).

A session is "verified" when the agent was established by a signal the agent cannot forge
(a host signature made on the server, Zendesk OAuth `users/me`, a one-time code sent to the
agent's email) and "asserted" otherwise; a device credential keeps a verified agent verified
on one device. Modules: `email_codes`, `mailer`, `zendesk_oauth`, `device_credentials`,
`host_signed`; the API is `plugin/api/verify.py`; the popup pages are `views`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Check mail settings, register the popup/demo pages and the `agents` CLI group."""
    from plugin.identity import mailer
    from plugin.identity.cli import agents_cli
    from plugin.identity.views import bp

    mailer.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(agents_cli)
