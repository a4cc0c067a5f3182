"""Sidecard: act on Shopify orders from the helpdesk."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from plugin import config as config_module

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application: configuration, extensions, blueprints, commands."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "plugin" / "static"),
                # SIDECARD_INSTANCE_PATH lets tests and scripts keep demo keys and the
                # SQLite file out of the work tree.
                instance_path=os.environ.get("SIDECARD_INSTANCE_PATH") or str(ROOT / "instance"))
    app.config.from_object(config_module.Config)
    overrides = dict(config_overrides or {})
    dotenv_path = overrides.pop("DOTENV_PATH", ROOT / ".env")
    app.config.update(config_module.read_environment(dotenv_path=dotenv_path))
    app.config.update(overrides)
    config_module.finalize(app.config, Path(app.instance_path))
    _configure_logging(app)

    from plugin import crypto, errors, security
    from plugin.extensions import db, migrate
    from plugin.jobs import init_app as init_jobs
    from plugin.shopify import init_app as init_shopify

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    crypto.init_app(app)
    errors.register_error_handlers(app)
    security.init_app(app)
    init_shopify(app)
    init_jobs(app)

    from plugin import oauth, webhooks

    oauth.init_app(app)
    webhooks.init_app(app)

    from plugin import sandbox

    sandbox.init_app(app)

    from plugin import api, helpdesks

    helpdesks.init_app(app)  # adapters, `helpdesk` CLI group, launcher pages
    from plugin import notes

    notes.init_app(app)  # `deliver_note` job, notes' compliance steps, helpdesk stand-in
    api.init_app(app)  # /api/v1
    from plugin import permissions_cli

    permissions_cli.init_app(app)  # `permissions import|export`
    from plugin import cards

    cards.init_app(app)  # /cards/<kind>: the order card page
    from plugin import identity

    identity.init_app(app)  # Zendesk sign-in popup, demo outbox, `agents` CLI group

    import plugin.models  # noqa: F401  (register every table with the metadata)
    return app


def _configure_logging(app: Flask) -> None:
    """Plain, structured-enough logs; never bodies, tokens or secrets."""
    level = getattr(logging, str(app.config.get("SIDECARD_LOG_LEVEL", "INFO")).upper(),
                    logging.INFO)
    logging.getLogger("sidecard").setLevel(level)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs full URLs at INFO; keep them out of the app's logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic announces each of its autogenerate plugins at INFO on import.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
