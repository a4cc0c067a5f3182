"""The adapter registry and what each adapter knows (plugin/helpdesks/)."""

from __future__ import annotations

import pytest
from factories import make_connection, rsa_keypair, zendesk_signed_token
from flask import Request
from werkzeug.test import EnvironBuilder

from plugin.exceptions import AuthenticationError, ValidationError
from plugin.helpdesks import ADAPTERS, get_adapter, load_adapters, register
from plugin.helpdesks.base import HelpdeskAdapter, normalize_origin


def test_every_contract_kind_has_an_adapter(app):
    """zendesk, gorgias, kustomer and api are registered under their kind."""
    assert set(load_adapters()) == {"zendesk", "gorgias", "kustomer", "api"}
    for kind, cls in ADAPTERS.items():
        assert get_adapter(kind).kind == kind and issubclass(cls, HelpdeskAdapter)


def test_unknown_kind_fails_loudly(app):
    """get_adapter refuses a kind nobody registered."""
    with pytest.raises(ValidationError, match="unknown helpdesk kind"):
        get_adapter("freshdesk")


def test_a_kind_cannot_be_registered_twice(app):
    """Registering another class under an existing kind is an error."""

    class Impostor(HelpdeskAdapter):
        kind = "zendesk"

    with pytest.raises(ValueError, match="already registered"):
        register(Impostor)


@pytest.mark.parametrize(("kind", "account", "expected"), [
    ("zendesk", "Acme", "acme"),
    ("zendesk", "https://acme.zendesk.com/", "acme"),
    ("zendesk", "acme.zendesk.com", "acme"),
    ("kustomer", "acme.kustomerapp.com", "acme"),
    ("gorgias", "https://shop-1.gorgias.com", "shop-1"),
    ("api", " Support bots ", "Support bots"),
])
def test_accounts_are_normalized(app, kind, account, expected):
    """Pasted hosts and URLs reduce to the account name."""
    assert get_adapter(kind).normalize_account(account) == expected


@pytest.mark.parametrize(("kind", "account"), [
    ("zendesk", ""), ("zendesk", "acme corp"), ("zendesk", "-acme"), ("zendesk", "a/b"),
    ("kustomer", "evil.com"), ("api", ""), ("api", "<script>"),
])
def test_bad_accounts_are_refused(app, kind, account):
    """Accounts that are not a helpdesk account name are a ValidationError."""
    with pytest.raises(ValidationError):
        get_adapter(kind).normalize_account(account)


def test_default_frame_origins(app):
    """Zendesk and Kustomer frame from the account's origin; Gorgias and bots not at all."""
    assert get_adapter("zendesk").default_frame_origins("acme") == ["https://acme.zendesk.com"]
    assert get_adapter("kustomer").default_frame_origins("acme") == [
        "https://acme.kustomerapp.com"]
    assert get_adapter("gorgias").default_frame_origins("acme") == []
    assert get_adapter("api").default_frame_origins("acme") == []


def test_frame_origins_come_from_the_connection_and_never_star(app):
    """frame_origins returns the stored list, dropping any bare `*`."""
    connection = make_connection(kind="kustomer",
                                 frame_origins=["https://*.kustomerapp.com", "*"])
    assert get_adapter("kustomer").frame_origins(connection) == ["https://*.kustomerapp.com"]


@pytest.mark.parametrize(("value", "expected"), [
    ("https://acme.zendesk.com", "https://acme.zendesk.com"),
    ("https://ACME.zendesk.com/", "https://acme.zendesk.com"),
    ("https://*.kustomerapp.com", "https://*.kustomerapp.com"),
    ("http://localhost:5000", "http://localhost:5000"),
    ("https://acme.example:8443", "https://acme.example:8443"),
])
def test_good_frame_origins(value, expected):
    """Origins are canonicalized."""
    assert normalize_origin(value) == expected


@pytest.mark.parametrize("value", [
    "*", "", "https://*", "https://*.com", "http://acme.zendesk.com", "acme.zendesk.com",
    "https://acme.zendesk.com/path", "https://a.zendesk.com?x=1", "javascript:alert(1)",
    "https://a.com https://b.com", "https://a.com;script-src *", "https://user@a.com",
])
def test_bad_frame_origins(value):
    """Stars, paths, plain http and injected directives are refused."""
    with pytest.raises(ValidationError):
        normalize_origin(value)


def test_credentials_are_decrypted_at_the_edge(app):
    """credentials() decrypts the stored API user and token; repr hides the token."""
    connection = make_connection(kind="gorgias", api_user="ops@acme.example",
                                 api_token="gorgias-key-123")
    creds = get_adapter("gorgias").credentials(connection)
    assert (creds.user, creds.token) == ("ops@acme.example", "gorgias-key-123")
    assert "gorgias-key-123" not in repr(creds)


def _request(app, form=None, method="POST"):
    environ = EnvironBuilder(path="/cards/zendesk", method=method, data=form).get_environ()
    return Request(environ)


def test_zendesk_host_launch_verifies_the_signed_form_token(app):
    """A POSTed `token` is verified as a Zendesk signed URL; none means no host launch."""
    connection = make_connection(zendesk_public_key=rsa_keypair()[1],
                                 zendesk_installation_id="42")
    adapter = get_adapter("zendesk")
    ctx = adapter.verify_host_launch(_request(app, {"token": zendesk_signed_token()}),
                                     connection)
    assert ctx is not None and ctx.identity == "verified"
    assert adapter.verify_host_launch(_request(app, {"launch_token": "x"}), connection) is None
    assert adapter.verify_host_launch(_request(app, method="GET"), connection) is None
    with pytest.raises(AuthenticationError):
        adapter.verify_host_launch(_request(app, {"token": "forged"}), connection)


def test_other_adapters_have_no_host_launch(app):
    """Only Zendesk signs launches itself."""
    connection = make_connection(kind="kustomer")
    for kind in ("gorgias", "kustomer", "api"):
        assert get_adapter(kind).verify_host_launch(_request(app, {"token": "x"}),
                                                    connection) is None


def test_card_url_per_kind(app):
    """The card lives at {APP_URL}/cards/{kind}."""
    assert get_adapter("gorgias").card_url("https://sc.example/") == (
        "https://sc.example/cards/gorgias")
