"""Generated helpdesk packages match what each helpdesk documents (reference/helpdesks.md)."""

from __future__ import annotations

import json
import re

import pytest
from factories import make_connection

from plugin.helpdesks.packages import build_package, write_package

# Zendesk's validator (zendesk_apps_support): accepted manifest keys, parameter types and
# secure-parameter scopes.
ZAF_MANIFEST_KEYS = {
    "name", "author", "defaultLocale", "private", "location", "version", "frameworkVersion",
    "singleInstall", "signedUrls", "noTemplate", "parameters", "domainWhitelist", "oauth",
    "requirementsOnly", "marketingOnly", "remoteInstallationURL", "termsConditionsURL", "gaID",
    "experiments"}
ZAF_PARAMETER_TYPES = {"text", "checkbox", "url", "number", "multiline", "hidden", "oauth",
                       "mtls"}
ZAF_SECURE_SCOPES = {"header", "body", "url", "jwt_secret_key", "jwt_claim",
                     "basic_auth_username", "basic_auth_password"}
KUSTOMER_APP_KEYS = {
    "app", "version", "title", "description", "iconUrl", "appDetails", "visibility",
    "settings", "kviews", "widgets", "commands", "workflows", "actions", "triggers", "hooks",
    "outboundWebhooks", "settingsPageConfig", "i18n", "dependencies", "instructions",
    "screenshots", "installUrl", "postInstallMessage", "klasses"}


@pytest.fixture
def connections(app):
    """One connection of each kind, all with API credentials that must never leak."""
    return {kind: make_connection(kind=kind, account="acme" if kind != "api" else "bots",
                                  api_user="ops@acme.example", api_token=f"{kind}-api-token-9")
            for kind in ("zendesk", "gorgias", "kustomer", "api")}


def zaf_problems(files: dict[str, str]) -> list[str]:
    """What Zendesk's app validator would reject or warn about (the rules we rely on)."""
    manifest = json.loads(files["manifest.json"])
    problems = [f"unknown key {k}" for k in manifest if k not in ZAF_MANIFEST_KEYS]
    author = manifest.get("author") or {}
    if not all(isinstance(author.get(k), str) and author[k] for k in ("name", "email")):
        problems.append("author name/email required")
    if not str(author.get("url", "")).startswith(("https://", "http://")):
        problems.append("author url")
    locale = manifest.get("defaultLocale")
    if f"translations/{locale}.json" not in files:
        problems.append("missing translation file for defaultLocale")
    if manifest.get("frameworkVersion") != "2.0":
        problems.append("frameworkVersion must be 2.0")
    if not isinstance(manifest.get("private"), bool):
        problems.append("private must be boolean")
    for product, locations in manifest.get("location", {}).items():
        for name, options in locations.items():
            url = options.get("url", "")
            if not url.startswith("https://") and (
                    not url.startswith("assets/") or url not in files):
                problems.append(f"{product}.{name} url {url!r} not in package")
            if "flexible" in options and not isinstance(options["flexible"], bool):
                problems.append("flexible must be boolean")
    names = [p["name"] for p in manifest.get("parameters", [])]
    if len(names) != len(set(names)) or "name" in names:
        problems.append("parameter names must be unique and not 'name'")
    for param in manifest.get("parameters", []):
        if param.get("type") not in ZAF_PARAMETER_TYPES:
            problems.append(f"{param['name']}: bad type")
        if param.get("secure"):
            if not param.get("scopes") or not set(param["scopes"]) <= ZAF_SECURE_SCOPES:
                problems.append(f"{param['name']}: secure parameter needs valid scopes")
            if "default" in param:
                problems.append(f"{param['name']}: secure parameter with a default")
        if param.get("type") == "oauth" and param.get("secure"):
            problems.append("oauth parameter cannot be secure")
    return problems


def test_zendesk_package_passes_zendesks_manifest_rules(connections):
    """manifest.json uses only accepted keys, a ticket_sidebar iframe and valid parameters."""
    files = build_package(connections["zendesk"])
    assert set(files) == {"manifest.json", "assets/iframe.html", "translations/en.json",
                          "README.md"}
    assert zaf_problems(files) == []
    manifest = json.loads(files["manifest.json"])
    assert manifest["private"] is True and manifest["defaultLocale"] == "en"
    assert manifest["location"] == {"support": {"ticket_sidebar": {
        "url": "assets/iframe.html", "flexible": True}}}
    assert manifest["domainWhitelist"] == ["127.0.0.1"]


def test_zendesk_signing_secret_is_a_secure_jwt_key_setting(connections):
    """The secret is a required secure parameter usable only as the JWT signing key."""
    params = {p["name"]: p for p in json.loads(
        build_package(connections["zendesk"])["manifest.json"])["parameters"]}
    secret = params["signing_secret"]
    assert secret["secure"] is True and secret["required"] is True
    assert secret["scopes"] == ["jwt_secret_key"] and "default" not in secret
    assert params["connection_id"]["default"] == connections["zendesk"].public_id
    assert not params["connection_id"].get("secure")


def test_zendesk_iframe_signs_through_the_proxy(connections):
    """iframe.html loads ZAF, reads ticket/requester/user and asks the proxy to sign HS256."""
    page = build_package(connections["zendesk"])["assets/iframe.html"]
    assert "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js" in page
    assert "ZAFClient.init()" in page
    for field in ('"ticket.id"', '"ticket.requester"', '"currentUser"'):
        assert field in page
    assert "secure: true" in page and "cors: false" in page
    assert 'algorithm: "HS256"' in page
    config = json.loads(re.search(r"var SIDECARD = (\{.*?\});", page).group(1))
    assert config["secretKey"] == "{{setting.signing_secret}}"
    assert config["authorization"] == "Bearer {{jwt.token}}"
    assert config["launchUrl"] == "http://127.0.0.1:5000/api/v1/zendesk/launch"
    assert config["connectionId"] == connections["zendesk"].public_id
    assert 0 < config["expiry"] <= 600 and config["audience"] == "sidecard"
    assert 'action="http://127.0.0.1:5000/cards/zendesk"' in page
    assert 'name="launch_token"' in page


def test_zendesk_translations_label_every_parameter(connections):
    """translations/en.json names the app and labels each parameter."""
    files = build_package(connections["zendesk"])
    texts = json.loads(files["translations/en.json"])["app"]
    params = [p["name"] for p in json.loads(files["manifest.json"])["parameters"]]
    assert texts["name"] == "Sidecard"
    assert set(texts["parameters"]) == set(params)


def test_kustomer_definition_has_a_card_kview_and_a_launch_command(connections):
    """app.json: documented keys, DynamicCard in smartbar-card, command with secret setting."""
    connection = connections["kustomer"]
    definition = json.loads(build_package(connection)["app.json"])
    assert set(definition) <= KUSTOMER_APP_KEYS
    assert definition["app"] == "sidecard_acme"
    assert not re.search(r"[\s-]", definition["app"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", definition["version"])
    assert definition["title"] and definition["visibility"] == "private"
    [kview] = definition["kviews"]
    assert (kview["context"], kview["resource"]) == ("smartbar-card", "conversation")
    launcher = f"http://127.0.0.1:5000/launch/kustomer?connection={connection.public_id}"
    assert f'<DynamicCard src={{"{launcher}"}}' in kview["template"]
    assert "context={object.context}" in kview["template"]
    assert kview["meta"]["displayName"]
    [command] = definition["commands"]
    assert command["name"] == "sidecard_acme.app.launch"
    assert command["httpMethod"] == "post"
    assert command["url"] == ("http://127.0.0.1:5000/api/v1/kustomer/launch?connection="
                              + connection.public_id)
    assert command["appSettings"] == {"authToken": {"key": "sidecard_acme.default.signingSecret"}}
    setting = definition["settings"]["default"]["signingSecret"]
    assert setting["type"] == "secret" and setting["defaultValue"] == ""


def test_gorgias_integration_calls_the_widget_endpoint(connections):
    """http-integration.json: GET the widget URL with template variables and our headers."""
    connection = connections["gorgias"]
    files = build_package(connection)
    assert set(files) == {"http-integration.json", "widget.json", "README.md"}
    integration = json.loads(files["http-integration.json"])
    http = integration["http"]
    assert integration["type"] == "http" and http["method"] == "GET"
    assert http["url"].startswith("http://127.0.0.1:5000/api/v1/gorgias/widget?")
    assert "email={{ticket.customer.email}}" in http["url"]
    assert "ticket={{ticket.id}}" in http["url"]
    assert http["headers"]["X-Sidecard-Connection"] == connection.public_id
    assert http["headers"]["Authorization"].startswith("Bearer <")
    assert http["response_content_type"] == "application/json"
    assert http["triggers"]["ticket-created"] is True


def test_gorgias_widget_lists_orders_and_links_the_card(connections):
    """widget.json: a ticket widget over the integration with a link to the card."""
    widget = json.loads(build_package(connections["gorgias"])["widget.json"])
    assert (widget["context"], widget["type"]) == ("ticket", "http")
    card = widget["template"]["widgets"][0]
    assert widget["template"]["type"] == "wrapper" and card["type"] == "card"
    paths = {w["path"] for w in card["widgets"]}
    assert {"card_url", "orders"} <= paths


def test_api_package_explains_bot_launches(connections):
    """The api package has a README and an example client that compiles."""
    files = build_package(connections["api"])
    assert set(files) == {"README.md", "launch_example.py"}
    compile(files["launch_example.py"], "launch_example.py", "exec")
    assert connections["api"].public_id in files["launch_example.py"]
    assert "SIDECARD_SIGNING_SECRET" in files["launch_example.py"]


@pytest.mark.parametrize("kind", ["zendesk", "gorgias", "kustomer", "api"])
def test_no_package_file_contains_a_secret(connections, kind):
    """Neither the signing secret nor API credentials appear in any generated file."""
    connection = connections[kind]
    secrets = [connection.signing_secret, connection.api_token, connection.api_user]
    for path, text in build_package(connection).items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {path}"


def test_write_package_creates_the_directory_tree(connections, tmp_path):
    """write_package writes every file under the target directory."""
    written = write_package(connections["zendesk"], tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "README.md", "assets/iframe.html", "manifest.json", "translations/en.json"]
