"""`flask --app app worker --burst` as its own process delivers a queued note over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dbtools import is_postgres
from notes_kit import connection_for, note, queue_committed

ROOT = Path(__file__).resolve().parents[2]
CONFIG_VARIABLES = ("SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "SECRET_KEY", "ENCRYPTION_KEY",
                    "DATABASE_URL", "ZENDESK_API_URL", "GORGIAS_API_URL", "KUSTOMER_API_URL",
                    "TEST_DATABASE_URL")


@pytest.fixture
def app_config(tmp_path, served):
    """A database the worker process can open, and Zendesk at the served stand-in."""
    config = {"HELPDESK_SANDBOX": False,
              "ZENDESK_API_URL": f"{served[1]}/zendesk/{{account}}"}
    if not is_postgres(os.environ.get("TEST_DATABASE_URL") or ""):
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'worker.sqlite'}"
    return config


def test_worker_process_delivers_the_note(app, served, tmp_path):
    """A separate `flask --app app worker --burst` posts the queued note once and exits."""
    stand_in, _ = served
    note_id = queue_committed(connection_for("zendesk"))
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env.update({name: str(app.config[name]) for name in (
        "SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "SECRET_KEY", "ENCRYPTION_KEY",
        "DATABASE_URL", "ZENDESK_API_URL")})
    env["SIDECARD_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ran 1 job(s)" in result.stdout
    [received] = stand_in.notes_for("zendesk", "acme", "1001")
    stored = note(note_id)
    assert stored.status == "delivered" and stored.helpdesk_note_id == received.id
    assert received.auth == "Bearer" and received.public is False
