"""shopify.app.toml (source of truth) agrees with the app's config and routes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from plugin.config import CONTRACT_DEFAULTS, DEFAULT_API_VERSION, Config
from plugin.oauth.install import CALLBACK_PATH
from plugin.webhooks.handlers import TOPIC_HANDLERS
from plugin.webhooks.views import ENDPOINT_TOPICS

ROOT = Path(__file__).resolve().parents[2]
COMPLIANCE = {"customers/data_request", "customers/redact", "shop/redact"}


@pytest.fixture(scope="module")
def toml():
    """The parsed shopify.app.toml."""
    return tomllib.loads((ROOT / "shopify.app.toml").read_text())


def subscriptions(toml):
    """(uri, topics) for every webhook subscription, compliance topics included."""
    return [(s["uri"], s.get("topics", []) + s.get("compliance_topics", []))
            for s in toml["webhooks"]["subscriptions"]]


def post_routes(app):
    """Paths the app answers with POST."""
    return {rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def test_webhook_api_version_is_the_configured_default(toml):
    """[webhooks] api_version equals SHOPIFY_API_VERSION's default."""
    assert toml["webhooks"]["api_version"] == DEFAULT_API_VERSION
    assert CONTRACT_DEFAULTS["SHOPIFY_API_VERSION"] == DEFAULT_API_VERSION


def test_scopes_match_config(toml):
    """[access_scopes] scopes equals Config.SCOPES."""
    assert toml["access_scopes"]["scopes"] == Config.SCOPES


def test_app_is_embedded_and_named(toml):
    """Sidecard is an embedded app called Sidecard, deploying its config."""
    assert toml["embedded"] is True
    assert toml["name"] == "Sidecard" and len(toml["name"]) <= 30
    assert toml["client_id"]
    assert toml["build"]["include_config_on_deploy"] is True


def test_redirect_urls_point_at_the_callback(toml, app, client):
    """Every redirect URL is application_url's origin + the callback route the app serves."""
    origin = urlsplit(toml["application_url"])
    assert toml["auth"]["redirect_urls"]
    for url in toml["auth"]["redirect_urls"]:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (origin.scheme, origin.netloc,
                                                            CALLBACK_PATH)
    assert CALLBACK_PATH in {rule.rule for rule in app.url_map.iter_rules()}


def test_compliance_topics_are_subscribed(toml):
    """The three mandatory compliance topics are subscribed."""
    compliance = [s for s in toml["webhooks"]["subscriptions"] if "compliance_topics" in s]
    assert {t for s in compliance for t in s["compliance_topics"]} == COMPLIANCE


def test_every_subscription_uri_is_routed_for_its_topics(toml, app):
    """Each subscription URI is a POST route that accepts exactly its topics, each handled."""
    routes = post_routes(app)
    for uri, topics in subscriptions(toml):
        assert uri in routes, uri
        assert set(ENDPOINT_TOPICS[uri.removeprefix("/webhooks/")]) == set(topics), uri
        assert set(topics) <= set(TOPIC_HANDLERS), uri


def test_every_webhook_route_is_subscribed(toml, app):
    """No webhook route is left without a subscription (it would never be called)."""
    subscribed = {uri for uri, _ in subscriptions(toml)}
    webhook_routes = {r for r in post_routes(app) if r.startswith("/webhooks/")}
    assert webhook_routes == subscribed


def test_web_toml_runs_one_process_for_everything(app):
    """shopify.web.toml serves frontend and backend and names a routed webhook path."""
    web = tomllib.loads((ROOT / "shopify.web.toml").read_text())
    assert set(web["roles"]) == {"frontend", "backend"}
    assert web["webhooks_path"] in post_routes(app)
    assert "$PORT" in web["commands"]["dev"]


def test_extensions_folder_holds_no_python():
    """extensions/ is for Shopify app extensions only."""
    assert not list((ROOT / "extensions").rglob("*.py"))
