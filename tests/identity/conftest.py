"""Identity fixtures: a real SMTP server, a Zendesk stand-in over HTTP, connections."""

from __future__ import annotations

import pytest
from factories import make_connection, make_shop
from identity_kit import CLIENT_ID, CLIENT_SECRET, start_smtp, start_zendesk


@pytest.fixture(scope="session")
def smtp_server():
    """One aiosmtpd server on loopback for the whole run."""
    server = start_smtp()
    yield server
    server.controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The SMTP server's delivered messages, emptied for each test."""
    smtp_server.sink.clear()
    return smtp_server.sink


@pytest.fixture(scope="session")
def zendesk_server():
    """One Zendesk stand-in served over real HTTP for the whole run."""
    state, stop = start_zendesk()
    yield state
    stop()


@pytest.fixture
def zendesk(zendesk_server):
    """The Zendesk stand-in's state, reset for each test."""
    zendesk_server.reset()
    return zendesk_server


@pytest.fixture
def app_config(smtp_server, zendesk_server):
    """Mail through the real SMTP server; Zendesk at the stand-in; an OAuth client set."""
    return {"SMTP_URL": smtp_server.url, "MAIL_FROM": "Sidecard <sidecard@example.com>",
            "ZENDESK_API_URL": zendesk_server.base_url + "/{account}",
            "ZENDESK_OAUTH_CLIENT_ID": CLIENT_ID,
            "ZENDESK_OAUTH_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture
def connection(app):
    """A Zendesk connection (`acme`) on an installed shop."""
    return make_connection(make_shop())


@pytest.fixture
def other_connection(app, connection):
    """A second connection of another shop (Kustomer `globex`)."""
    return make_connection(make_shop("globex.myshopify.com"), kind="kustomer",
                           account="globex")
