"""Fixtures for the job queue: test-only job kinds registered for one test."""

from __future__ import annotations

import pytest

from plugin import jobs
from plugin.extensions import db
from plugin.models import AuditEvent


@pytest.fixture
def kinds(monkeypatch):
    """Register handlers for one test: `kinds(name, fn, **options)`; all gone afterwards."""
    monkeypatch.setattr(jobs, "HANDLERS", dict(jobs.HANDLERS))
    monkeypatch.setattr(jobs, "OPTIONS", dict(jobs.OPTIONS))

    def add(name, fn, **options):
        jobs.register(name, **options)(fn)
        return fn

    return add


@pytest.fixture
def calls(kinds):
    """A `record` job kind that writes an audit row per run, and the list of payloads it saw."""
    seen = []

    def record(job):
        seen.append(dict(job.payload))
        db.session.add(AuditEvent(shop_id=0, event="test.ran", summary=str(job.id)))

    kinds("record", record)
    return seen
