"""Demo mode wiring: the mounted sandbox, the demo shop install, the demo page, the CLI."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.fernet import Fernet
from sandbox_kit import API_SECRET, SHOP

from plugin import create_app
from plugin.sandbox.demo import demo_install_current, install_demo_shop
from plugin.shopify.hmac import verify_query_hmac


@pytest.fixture
def app_config():
    """Demo mode with a realistic (long) secret."""
    return {"DEMO_MODE": True, "SHOPIFY_API_SECRET": API_SECRET}


def test_demo_mode_exposes_and_mounts_the_sandbox(app, client):
    """sandbox_wsgi/sandbox_store are set and /_sandbox answers Shopify's paths."""
    store = app.extensions["sandbox_store"]
    assert app.extensions["sandbox_wsgi"].store is store
    token = store.issue_tokens(SHOP)["access_token"]
    response = client.post(f"/_sandbox/{SHOP}/admin/api/2026-10/graphql.json",
                           json={"query": "{ shop { name } }"},
                           headers={"X-Shopify-Access-Token": token})
    assert response.json["data"]["shop"]["name"] == "Sidecard Demo Outfitters"


def test_install_demo_shop_uses_token_exchange(app):
    """The demo shop ends up installed with an expiring token the sandbox issued."""
    shop = install_demo_shop(app)
    store = app.extensions["sandbox_store"]
    assert shop.is_installed and shop.refresh_token
    assert store.token_valid(SHOP, shop.access_token)
    assert store.stats(SHOP)["tokens_issued"] == 1
    assert demo_install_current(app)


def test_a_restarted_store_needs_a_new_install(app):
    """Tokens saved for another store (a previous process) are not current."""
    install_demo_shop(app)
    app.extensions["sandbox_store"].revoke_shop_tokens(SHOP)
    assert not demo_install_current(app)


def test_demo_page_lists_the_seeded_shop(client):
    """/demo shows the shop, its orders with hints, customers and the admin link."""
    page = client.get("/demo").get_data(as_text=True)
    assert "Sidecard Demo Outfitters" in page
    assert "#1014" in page and "Open return" in page
    assert "bo.wang@example.com" in page and "second account: lucia.f@work.example" in page
    assert "Open Sidecard" in page and "Zendesk" in page


def test_home_is_the_demo_page_without_shopify_parameters(client):
    """`/` in demo mode with no query shows the demo page."""
    assert "Orders to try" in client.get("/").get_data(as_text=True)


def test_open_link_signs_app_load_parameters_like_the_admin(client):
    """/demo/open redirects to / with a verifiable hmac and an id token."""
    response = client.get("/demo/open")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    params = dict(parse_qsl(location.query))
    assert location.path == "/" and params["shop"] == SHOP and params["id_token"]
    verify_query_hmac(params, API_SECRET, max_age_seconds=60)


def test_open_link_installs_and_renders_the_app_home(app, client):
    """Following the link is a managed install: token exchange, then the app home."""
    location = client.get("/demo/open").headers["Location"]
    response = client.get(location)
    assert response.status_code == 200
    assert "frame-ancestors https://" + SHOP in response.headers["Content-Security-Policy"]
    assert demo_install_current(app)


def test_seed_command_installs_the_demo_shop(app, runner):
    """`flask sandbox seed` prints what is installed and seeded."""
    result = runner.invoke(args=["sandbox", "seed"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["installed"] == SHOP and output["shops"][SHOP]["orders"] >= 15


def test_no_sandbox_outside_demo_mode():
    """With real keys there is no sandbox, no mount and no /demo page."""
    real = create_app({"TESTING": True, "DOTENV_PATH": None, "DATABASE_URL": "sqlite://",
                       "SHOPIFY_API_KEY": "real-key", "SHOPIFY_API_SECRET": API_SECRET,
                       "SECRET_KEY": "x" * 40, "ENCRYPTION_KEY": Fernet.generate_key().decode()})
    assert "sandbox_wsgi" not in real.extensions
    assert real.test_client().get("/demo").status_code == 404
    assert real.test_client().post(f"/_sandbox/{SHOP}/admin/oauth/access_token").status_code == 404
