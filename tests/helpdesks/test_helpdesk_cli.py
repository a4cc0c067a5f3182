"""`flask --app app helpdesk ...` commands (CONTRACT §1)."""

from __future__ import annotations

import json

import pytest
from factories import launch_token, make_connection, make_shop, rsa_keypair

from plugin.exceptions import AuthenticationError
from plugin.extensions import db
from plugin.launch import verify_launch_token
from plugin.models.helpdesk import HelpdeskConnection


@pytest.fixture
def shop(app):
    """An installed shop."""
    return make_shop()


def connect(runner, *args):
    """Run `helpdesk connect` and return the result."""
    return runner.invoke(args=["helpdesk", "connect", *args])


def connections():
    """Every stored connection."""
    return db.session.execute(db.select(HelpdeskConnection)).scalars().all()


@pytest.mark.parametrize(("kind", "account", "origins"), [
    ("zendesk", "acme", ["https://acme.zendesk.com"]),
    ("kustomer", "acme", ["https://acme.kustomerapp.com"]),
    ("gorgias", "acme", []),
    ("api", "support-bots", []),
])
def test_connect_prints_one_json_object(runner, shop, kind, account, origins):
    """connect prints connection_id, signing_secret, card_url, kind, shop, frame_origins."""
    result = connect(runner, "--shop", "acme.myshopify.com", "--kind", kind,
                     "--account", account)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["connection_id"].startswith("conn_")
    assert len(out["signing_secret"]) >= 43
    assert out["card_url"] == f"http://127.0.0.1:5000/cards/{kind}"
    assert (out["kind"], out["shop"], out["frame_origins"]) == (
        kind, "acme.myshopify.com", origins)
    stored = connections()
    assert [c.public_id for c in stored] == [out["connection_id"]]


def test_connection_secrets_are_encrypted_at_rest(runner, shop):
    """The signing secret, API user and token are stored encrypted, and decrypt back."""
    result = connect(runner, "--shop", "acme.myshopify.com", "--kind", "gorgias",
                     "--account", "acme", "--api-user", "ops@acme.example",
                     "--api-token", "gorgias-api-key-1")
    out = json.loads(result.output)
    row = db.session.execute(db.text(
        "SELECT signing_secret_enc, api_user_enc, api_token_enc FROM helpdesk_connections"
    )).one()
    assert out["signing_secret"] not in row[0]
    assert "ops@acme.example" not in row[1] and "gorgias-api-key-1" not in row[2]
    connection = connections()[0]
    assert connection.signing_secret == out["signing_secret"]
    assert (connection.api_user, connection.api_token) == ("ops@acme.example",
                                                           "gorgias-api-key-1")
    assert "gorgias-api-key-1" not in result.output


def test_printed_secret_signs_working_launch_tokens(runner, shop):
    """The printed connection id and secret open the card."""
    out = json.loads(connect(runner, "--shop", "acme", "--kind", "api",
                             "--account", "bots").output)
    connection = connections()[0]
    ctx = verify_launch_token(launch_token(connection, out["signing_secret"]))
    assert ctx.connection_id == out["connection_id"]


@pytest.mark.parametrize(("args", "message"), [
    (["--shop", "nope.myshopify.com", "--kind", "zendesk", "--account", "acme"], "no shop"),
    (["--shop", "gone.myshopify.com", "--kind", "zendesk", "--account", "acme"],
     "uninstalled"),
    (["--shop", "acme.myshopify.com", "--kind", "freshdesk", "--account", "acme"],
     "freshdesk"),
    (["--shop", "acme.myshopify.com", "--kind", "zendesk", "--account", "not valid"],
     "subdomain"),
    (["--shop", "acme.myshopify.com", "--kind", "zendesk", "--account", "acme",
      "--frame-origin", "*"], "frame origin"),
    (["--shop", "acme.myshopify.com", "--kind", "gorgias", "--account", "acme",
      "--zendesk-app-id", "1"], "only apply"),
    (["--shop", "acme.myshopify.com", "--kind", "zendesk", "--account", "acme",
      "--zendesk-installation-id", "x1"], "numeric"),
    (["--shop", "acme.myshopify.com", "--kind", "zendesk", "--account", "acme",
      "--zendesk-public-key", "/nonexistent.pem"], "PEM"),
])
def test_connect_errors_exit_nonzero_and_create_nothing(runner, shop, args, message):
    """Unknown or uninstalled shops and bad options fail clearly; no row is created."""
    make_shop("gone.myshopify.com", installed=False)
    result = connect(runner, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert connections() == []


def test_connect_takes_explicit_frame_origins(runner, shop):
    """--frame-origin replaces the default list (e.g. Kustomer's wildcard)."""
    out = json.loads(connect(runner, "--shop", "acme.myshopify.com", "--kind", "kustomer",
                             "--account", "acme", "--frame-origin",
                             "https://*.kustomerapp.com").output)
    assert out["frame_origins"] == ["https://*.kustomerapp.com"]


def test_connect_stores_the_zendesk_public_key(runner, shop, tmp_path):
    """--zendesk-public-key enables signed URLs with the app and installation ids."""
    pem = tmp_path / "zendesk.pem"
    pem.write_text(rsa_keypair()[1])
    result = connect(runner, "--shop", "acme.myshopify.com", "--kind", "zendesk",
                     "--account", "acme", "--zendesk-public-key", str(pem),
                     "--zendesk-app-id", "123", "--zendesk-installation-id", "42")
    assert json.loads(result.output)["zendesk_signed_urls"] is True
    connection = connections()[0]
    assert "BEGIN PUBLIC KEY" in connection.zendesk_public_key
    assert (connection.zendesk_app_id, connection.zendesk_installation_id) == ("123", "42")


def test_list_shows_connections_without_secrets(runner, shop):
    """list prints every connection of the shop, never a secret."""
    first = make_connection(shop)
    make_connection(make_shop("other.myshopify.com"), account="other")
    result = runner.invoke(args=["helpdesk", "list", "--shop", "acme.myshopify.com"])
    listed = json.loads(result.output)
    assert [c["connection_id"] for c in listed] == [first.public_id]
    assert first.signing_secret not in result.output and "signing_secret" not in listed[0]


def test_rotate_secret_replaces_the_old_one(runner, shop):
    """After rotation the old secret's tokens fail and the new one's work."""
    connection = make_connection(shop)
    old = connection.signing_secret
    result = runner.invoke(args=["helpdesk", "rotate-secret", "--connection",
                                 connection.public_id])
    new = json.loads(result.output)["signing_secret"]
    assert new != old
    with pytest.raises(AuthenticationError):
        verify_launch_token(launch_token(connection, old))
    assert verify_launch_token(launch_token(connection, new))


def test_disable_stops_launches(runner, shop):
    """A disabled connection's launch tokens are refused."""
    connection = make_connection(shop)
    result = runner.invoke(args=["helpdesk", "disable", "--connection", connection.public_id])
    assert json.loads(result.output)["disabled_at"]
    with pytest.raises(AuthenticationError):
        verify_launch_token(launch_token(connection))


@pytest.mark.parametrize("command", ["rotate-secret", "disable", "package"])
def test_unknown_connection_is_an_error(runner, shop, command, tmp_path):
    """Commands on an unknown connection exit non-zero."""
    args = ["helpdesk", command, "--connection", "conn_nope"]
    if command == "package":
        args += ["--out", str(tmp_path)]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "conn_nope" in result.output


def test_package_writes_the_helpdesk_files(runner, shop, tmp_path):
    """package writes the Zendesk app directory and lists its files."""
    connection = make_connection(shop)
    out = tmp_path / "zendesk-app"
    result = runner.invoke(args=["helpdesk", "package", "--connection", connection.public_id,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["files"]
    assert set(listed) == {"manifest.json", "assets/iframe.html", "translations/en.json",
                           "README.md"}
    assert json.loads((out / "manifest.json").read_text())["frameworkVersion"] == "2.0"
