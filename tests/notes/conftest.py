"""Notes fixtures: the helpdesk stand-in, connections with credentials, queued notes."""

from __future__ import annotations

import pytest
from notes_kit import queue_committed

from plugin.sandbox import serve_sandbox
from plugin.sandbox.helpdesk import HelpdeskStandIn


@pytest.fixture
def stand_in() -> HelpdeskStandIn:
    """The helpdesk stand-in every helpdesk call of the app goes to (in-process)."""
    return HelpdeskStandIn()


@pytest.fixture
def served():
    """Another helpdesk stand-in, served on a loopback port: (stand_in, base_url)."""
    stand_in = HelpdeskStandIn()
    base_url, stop = serve_sandbox(stand_in)
    yield stand_in, base_url
    stop()


@pytest.fixture
def app_config(stand_in):
    """Send the app's helpdesk calls to `stand_in`; the worker's backoff starts at 10 s."""
    return {"HELPDESK_SANDBOX": stand_in}


@pytest.fixture
def queued(app):
    """`queued(connection, text=..., conversation=...)`: a committed note; returns its id."""
    return queue_committed
