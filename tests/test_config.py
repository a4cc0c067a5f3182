"""Configuration: demo mode, fail-fast on missing variables."""

import pytest

from plugin import create_app
from plugin.exceptions import ConfigurationError


def test_missing_required_variable_stops_startup(tmp_path):
    """Outside demo mode a missing SECRET_KEY stops start-up with its name."""
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"DOTENV_PATH": None, "SHOPIFY_API_KEY": "k",
                    "SHOPIFY_API_SECRET": "s", "SECRET_KEY": None,
                    "ENCRYPTION_KEY": None, "DATABASE_URL": "sqlite://"})


def test_demo_mode_when_shopify_credentials_unset():
    """Without Shopify credentials the app runs in demo mode with generated keys."""
    app = create_app({"DOTENV_PATH": None, "TESTING": True, "SHOPIFY_API_KEY": None,
                      "SHOPIFY_API_SECRET": None, "SECRET_KEY": None,
                      "ENCRYPTION_KEY": None, "DATABASE_URL": "sqlite://"})
    assert app.config["DEMO_MODE"] is True
    assert app.config["SECRET_KEY"] and app.config["ENCRYPTION_KEY"]


def test_api_version_defaults_to_2026_10(app):
    """SHOPIFY_API_VERSION defaults to 2026-10."""
    assert app.config["SHOPIFY_API_VERSION"] == "2026-10"
