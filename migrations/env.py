"""Alembic environment for Sidecard, run by Flask-Migrate inside the app context."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

config = context.config

# The CLI shows Alembic's progress; inside the test suite, reconfiguring logging would
# reset the loggers other tests capture.
if config.config_file_name is not None and not current_app.config.get("TESTING"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_engine():
    """The app's engine (Flask-SQLAlchemy 3)."""
    return target_db.engine


def get_metadata():
    """Metadata of every model (plugin.models registers them all)."""
    import plugin.models  # noqa: F401  (make sure every table is registered)

    return target_db.metadata


def render_item(type_, obj, autogen_context):
    """Write app-defined column types as their SQLAlchemy implementation.

    Revisions then never import app code, which keeps old revisions runnable after the
    models move on (e.g. UTCDateTime is written as sa.DateTime(timezone=True)).
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def process_revision_directives(context_, revision, directives):
    """Skip writing an empty revision when autogenerate finds no change."""
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def configure_args() -> dict:
    """Options shared by online and offline runs (batch mode for SQLite, type compare)."""
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("render_as_batch", True)
    args.setdefault("compare_type", True)
    args.setdefault("render_item", render_item)
    args.setdefault("process_revision_directives", process_revision_directives)
    return args


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`flask db upgrade --sql`) without a connection."""
    url = get_engine().url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True,
                      **configure_args())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a connection from the app's engine."""
    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(),
                          **configure_args())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
