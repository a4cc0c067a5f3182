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


def test_tunables_are_read_from_the_environment_with_their_types():
    """A Config setting is set from the environment under its own name, typed like its default."""
    from plugin.config import read_environment

    values = read_environment({"CARD_CACHE_TTL_SECONDS": "60", "SHOPIFY_READ_TIMEOUT": "2.5"},
                              dotenv_path=None)
    assert values["CARD_CACHE_TTL_SECONDS"] == 60
    assert values["SHOPIFY_READ_TIMEOUT"] == 2.5


def test_a_malformed_tunable_stops_startup_naming_it():
    """A tunable that does not parse as its type is a configuration error naming it."""
    from plugin.config import read_environment

    with pytest.raises(ConfigurationError, match="APPROVAL_TTL_SECONDS"):
        read_environment({"APPROVAL_TTL_SECONDS": "three days"}, dotenv_path=None)
