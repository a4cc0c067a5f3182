"""Alembic migrations build the models' schema from nothing and tear it down again."""

from __future__ import annotations

import os

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from dbtools import base_test_database_url, create_database, drop_database, is_postgres
from sqlalchemy import inspect

import plugin.models  # noqa: F401  (every table registered with the metadata)
from plugin import ROOT, create_app
from plugin.extensions import db

MIGRATIONS = ROOT / "migrations"
BASE_TEST_DATABASE_URL = base_test_database_url()
# SQLite always; PostgreSQL too when the suite runs against it.
DATABASES = ["sqlite"] + (["postgresql"] if is_postgres(BASE_TEST_DATABASE_URL) else [])


def _config(database_url="sqlite://"):
    """A test configuration on `database_url` (fixed keys, no .env)."""
    return {"TESTING": True, "DOTENV_PATH": None, "DATABASE_URL": database_url,
            "SHOPIFY_API_KEY": "test-key", "SHOPIFY_API_SECRET": "test-secret",
            "SECRET_KEY": "test-secret-key-for-sidecard-only",
            "ENCRYPTION_KEY": Fernet.generate_key().decode()}


@pytest.fixture(params=DATABASES)
def empty_database_url(request, tmp_path):
    """An empty database of each kind, removed afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"sidecard_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    yield create_database(BASE_TEST_DATABASE_URL, name, replace=True)
    drop_database(BASE_TEST_DATABASE_URL, name)


@pytest.fixture
def migrated_app(empty_database_url):
    """An app whose empty database was brought to head by the migrations."""
    app = create_app(_config(empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _schema_differences(app):
    """What autogenerate would still write: the models against the migrated database."""
    options = dict(app.extensions["migrate"].configure_args)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": options.get("compare_type", True)})
        return compare_metadata(context, db.metadata)


def test_revisions_form_a_single_line():
    """The revisions have exactly one head (no unmerged branches)."""
    app = create_app(_config())
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(str(MIGRATIONS))
        script = ScriptDirectory.from_config(config)
        assert len(script.get_heads()) == 1
        assert list(script.walk_revisions())


def test_upgrade_from_empty_matches_the_models(migrated_app):
    """`db upgrade` on an empty database gives exactly the models' schema.

    A model change without a migration fails here; `./scripts/new-migration "what"` fixes it.
    """
    differences = _schema_differences(migrated_app)
    assert not differences, (
        "the models differ from what the migrations build; run "
        "./scripts/new-migration \"<what changed>\":\n"
        + "\n".join(f"  {difference}" for difference in differences))


def test_upgrade_creates_every_model_table(migrated_app):
    """Every table the models declare exists after `db upgrade`."""
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_downgrade_to_base_removes_every_table(migrated_app):
    """`db downgrade base` leaves no model table behind."""
    flask_migrate.downgrade(revision="base")
    db.engine.dispose()
    tables = set(inspect(db.engine).get_table_names())
    assert tables <= {"alembic_version"}


def test_upgrade_again_after_downgrade(migrated_app):
    """Down to base and up again ends at the models' schema (downgrades are complete)."""
    flask_migrate.downgrade(revision="base")
    flask_migrate.upgrade()
    assert _schema_differences(migrated_app) == []
