"""Shared fixtures: an app on a fresh database per test, its client and CLI runner."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from dbtools import (
    base_test_database_url,
    create_database,
    database_name,
    is_postgres,
    worker_database_url,
)

from plugin import create_app
from plugin.extensions import db

# TEST_DATABASE_URL points the whole suite at PostgreSQL (the test command runs it twice).
# Under xdist each worker gets its own database on that server (`<name>_gw0`, ...).
BASE_TEST_DATABASE_URL = base_test_database_url()
TEST_DATABASE_URL = worker_database_url(BASE_TEST_DATABASE_URL)


def pytest_sessionstart(session):
    """Create this xdist worker's PostgreSQL database before any test uses it."""
    if TEST_DATABASE_URL != BASE_TEST_DATABASE_URL:
        create_database(BASE_TEST_DATABASE_URL, database_name(TEST_DATABASE_URL))


def pytest_collection_modifyitems(config, items):
    """Deselect `postgres_only` tests when the suite runs on SQLite (they run on PostgreSQL)."""
    if is_postgres(TEST_DATABASE_URL):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def make_config(**overrides):
    """The test configuration: fixed keys, a throwaway database, no .env."""
    config = {
        "TESTING": True,
        "DOTENV_PATH": None,
        "DATABASE_URL": TEST_DATABASE_URL,
        "SHOPIFY_API_KEY": "test-key",
        "SHOPIFY_API_SECRET": "test-secret",
        "SECRET_KEY": "test-secret-key-for-sidecard-only",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "APP_URL": "http://127.0.0.1:5000",
        "SHOPIFY_ADMIN_URL": "https://{shop}",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config():
    """Overrides for the `app` fixture; tests may update this dict before using `app`."""
    return {}


@pytest.fixture
def app(app_config):
    """A Sidecard app with all tables created, dropped afterwards."""
    app = create_app(make_config(**app_config))
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client for `app`."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `app`."""
    return app.test_cli_runner()
