"""Smoke tests of the real entry points: `flask --app app`, `gunicorn app:app`."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest
from cryptography.fernet import Fernet

from plugin import ROOT
from plugin.config import CONTRACT_DEFAULTS

STARTUP_SECONDS = 60


def _environment(tmp_path, **variables):
    """A clean environment: every contract variable blank (so `.env` is ignored), its own
    instance folder and SQLite file, then `variables`."""
    env = {k: v for k, v in os.environ.items()
           if k not in CONTRACT_DEFAULTS and not k.startswith(("FLASK_", "GUNICORN_"))}
    env.update(dict.fromkeys(CONTRACT_DEFAULTS, ""))
    env.update({
        "SIDECARD_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(variables)
    return env


def _run(args, env, timeout=STARTUP_SECONDS):
    """Run `python -m <args>` in the repository; stdout and stderr together."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)


@pytest.fixture
def gunicorn(tmp_path):
    """Start `gunicorn app:app` on a free loopback port; yields (base_url, output lines)."""
    started = []

    def start(env):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app", "--bind", "127.0.0.1:0",
             "--workers", "1", "--log-level", "info"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump():
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        started.append((proc, reader))
        return proc, lines

    yield start
    for proc, reader in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        proc.stdout.close()


def _read_until(lines, pattern, deadline):
    """Collect output lines until one matches `pattern` (or output ends / time runs out)."""
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match, seen
    return None, seen


def test_flask_routes_lists_the_app(tmp_path):
    """`flask --app app routes` loads the app (demo mode, no variables) and lists routes."""
    result = _run(["flask", "--app", "app", "routes"], _environment(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "Endpoint" in result.stdout
    assert "static" in result.stdout


def test_db_upgrade_then_gunicorn_answers_in_demo_mode(tmp_path, gunicorn):
    """With no variables: `flask --app app db upgrade`, then `gunicorn app:app` serves."""
    env = _environment(tmp_path)
    upgrade = _run(["flask", "--app", "app", "db", "upgrade"], env)
    assert upgrade.returncode == 0, upgrade.stdout

    proc, lines = gunicorn(env)
    deadline = time.monotonic() + STARTUP_SECONDS
    match, seen = _read_until(lines, r"Listening at: (http://127\.0\.0\.1:\d+)", deadline)
    assert match, "".join(seen)
    base_url = match.group(1)
    response = None
    while time.monotonic() < deadline and response is None:
        try:
            response = httpx.get(base_url + "/", timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    assert response is not None, "gunicorn never answered"
    assert response.status_code < 500
    assert "frame-ancestors" in response.headers.get("Content-Security-Policy", "")
    assert proc.poll() is None


def test_gunicorn_refuses_to_start_without_secret_key(tmp_path, gunicorn):
    """Outside demo mode, a missing SECRET_KEY stops start-up with a message naming it."""
    env = _environment(tmp_path, SHOPIFY_API_KEY="key", SHOPIFY_API_SECRET="secret",
                       ENCRYPTION_KEY=Fernet.generate_key().decode())
    proc, lines = gunicorn(env)
    deadline = time.monotonic() + STARTUP_SECONDS
    _, seen = _read_until(lines, r"(?!)", deadline)  # read until the process exits
    assert proc.wait(timeout=10) != 0
    output = "".join(seen)
    assert "SECRET_KEY" in output


def test_flask_refuses_to_start_without_secret_key(tmp_path):
    """The CLI (`flask --app app ...`) stops with the missing variable's name too."""
    env = _environment(tmp_path, SHOPIFY_API_KEY="key", SHOPIFY_API_SECRET="secret",
                       ENCRYPTION_KEY=Fernet.generate_key().decode())
    result = _run(["flask", "--app", "app", "routes"], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout
