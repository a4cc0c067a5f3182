"""Test databases: per-xdist-worker PostgreSQL databases and throwaway ones."""

from __future__ import annotations

import os
import re

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from plugin.config import _sqlalchemy_url


def base_test_database_url() -> str:
    """The suite's database as given (before the per-worker suffix): TEST_DATABASE_URL or SQLite."""
    return os.environ.get("TEST_DATABASE_URL") or "sqlite://"


def is_postgres(url: str) -> bool:
    """True for a PostgreSQL URL (any driver spelling)."""
    return url.startswith(("postgres://", "postgresql://", "postgresql+"))


def with_database(url: str, name: str) -> str:
    """The same server URL naming another database."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    """The database a URL names."""
    return make_url(url).database or ""


def worker_database_url(url: str) -> str:
    """Give each xdist worker its own PostgreSQL database (`<name>_gw0`, ...)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not is_postgres(url):
        return url
    return with_database(url, f"{database_name(url)}_{worker}")


def _quoted(name: str) -> str:
    """A database name safe to put in DDL (they come from worker ids and test names)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"unexpected database name {name!r}")
    return f'"{name}"'


def create_database(admin_url: str, name: str, *, replace: bool = False) -> str:
    """Create database `name` on `admin_url`'s server unless it exists; return its URL.

    `admin_url` names a database that exists (CREATE DATABASE cannot run inside it being
    created); `replace` drops an existing one first.
    """
    engine = create_engine(_sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if replace:
                conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
            if not exists:
                conn.execute(text(f"CREATE DATABASE {_quoted(name)}"))
    finally:
        engine.dispose()
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name`, closing any connection still open to it."""
    engine = create_engine(_sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
    finally:
        engine.dispose()
