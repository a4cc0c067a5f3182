"""Configuration read from the environment (and `.env`), as CONTRACT §2 names it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from dotenv import dotenv_values

from plugin.exceptions import ConfigurationError

DEFAULT_API_VERSION = "2026-10"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

# Variables the contract names, with their defaults (None: unset).
CONTRACT_DEFAULTS: dict[str, str | None] = {
    "SHOPIFY_API_KEY": None,
    "SHOPIFY_API_SECRET": None,
    "SHOPIFY_API_VERSION": DEFAULT_API_VERSION,
    "APP_URL": "http://127.0.0.1:5000",
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    "ENCRYPTION_KEY": None,
    "SHOPIFY_ADMIN_URL": "https://{shop}",
    "ZENDESK_API_URL": "https://{account}.zendesk.com",
    "GORGIAS_API_URL": "https://{account}.gorgias.com",
    "KUSTOMER_API_URL": "https://{account}.api.kustomerapp.com",
    "SMTP_URL": None,
    "MAIL_FROM": None,
    # Agent identity (not in the contract's table): the Zendesk OAuth client behind "Sign in
    # with Zendesk" (off while unset) and how long a verified device stays verified.
    "ZENDESK_OAUTH_CLIENT_ID": None,
    "ZENDESK_OAUTH_CLIENT_SECRET": None,
    "DEVICE_CREDENTIAL_TTL_DAYS": "30",
}

# Outside demo mode these must be set; start-up stops with their names otherwise.
REQUIRED_OUTSIDE_DEMO = ("SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "SECRET_KEY",
                         "ENCRYPTION_KEY")


def parse_bool(value: Any, default: bool = False) -> bool:
    """Read an environment-style boolean (1/true/yes/on)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def parse_list(value: Any) -> list[str]:
    """Split a comma-separated environment value into trimmed, non-empty items."""
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [item.strip() for item in str(value).split(",") if item.strip()]


def read_environment(environ: Mapping[str, str] | None = None,
                     dotenv_path: str | os.PathLike | None = ".env") -> dict[str, Any]:
    """Collect the contract's variables and any `Config` tunable from `.env` and the environment.

    The environment wins over `.env`. A tunable (a `Config` attribute with a number, boolean or
    string default) is read under its own name and converted to its default's type.

    :raises ConfigurationError: a tunable's value does not parse as its type.
    """
    environ = os.environ if environ is None else environ
    from_file: dict[str, Any] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        from_file = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}

    def lookup(name: str) -> Any:
        value = environ.get(name, from_file.get(name))
        return None if value in (None, "") else value

    values: dict[str, Any] = {}
    for name, default in CONTRACT_DEFAULTS.items():
        value = lookup(name)
        values[name] = value if value is not None else default
    for name, default in tunables().items():
        value = lookup(name)
        if value is not None:
            values[name] = _coerce(name, value, default)
    return values


def tunables() -> dict[str, Any]:
    """`Config` settings that the environment may override, with their defaults."""
    return {name: value for name, value in vars(Config).items()
            if name.isupper() and isinstance(value, (bool, int, float, str))
            and name not in CONTRACT_DEFAULTS}


def _coerce(name: str, value: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return parse_bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a {type(default).__name__}: {value!r}") from exc
    return value


class Config:
    """Settings with their defaults; every upper-case setting below that holds a number, a
    boolean or a string can be set from the environment under the same name."""

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 256 * 1024  # JSON bodies are small; refuse anything larger.
    JSON_SORT_KEYS = False
    SIDECARD_LOG_LEVEL = "INFO"
    # Shopify HTTP: explicit connect/read timeouts, pool size and retry budget (seconds).
    SHOPIFY_CONNECT_TIMEOUT = 3.0
    SHOPIFY_READ_TIMEOUT = 15.0
    SHOPIFY_MAX_CONNECTIONS = 20
    SHOPIFY_MAX_RETRIES = 2
    SHOPIFY_MAX_THROTTLE_WAIT = 10.0
    # Webhook deliveries older than this are stale duplicates of a retried event.
    WEBHOOK_DEDUPE_DAYS = 14
    # OAuth `state` nonces live this long and are single use.
    OAUTH_STATE_TTL_SECONDS = 600
    # Timestamps on signed Shopify query strings may be this old.
    SHOPIFY_HMAC_MAX_AGE_SECONDS = 24 * 3600
    SCOPES = "read_customers,read_orders,write_orders"
    # Sidecard's own session tokens (the card's bearer) live this long.
    SESSION_TTL_SECONDS = 15 * 60
    # The card: how long a customer's card and an email/phone → customer match are cached,
    # orders per page, and the region for national phone numbers when the shop has none.
    CARD_CACHE_TTL_SECONDS = 300
    CARD_MATCH_TTL_SECONDS = 3600
    CARD_ORDERS_PAGE_SIZE = 10
    DEFAULT_PHONE_REGION = ""
    # Actions: approval requests expire; a request stuck "running" is taken over after a lease.
    APPROVAL_TTL_SECONDS = 72 * 3600
    ACTION_LEASE_SECONDS = 300
    # The same request under a new key continues an uncertain attempt this recent.
    ACTION_UNCERTAIN_WINDOW_SECONDS = 24 * 3600
    # Background jobs: how long a claimed job stays with its worker before another may take it.
    JOBS_LEASE_SECONDS = 300
    # Helpdesk API calls (conversation notes).
    HELPDESK_CONNECT_TIMEOUT = 3.0
    HELPDESK_READ_TIMEOUT = 10.0
    NOTES_INLINE_TIMEOUT = 3.0
    NOTES_LEASE_SECONDS = 120
    NOTES_AUTH_RETRY_SECONDS = 600
    NOTES_AUTH_RETRY_MAX_SECONDS = 3600
    DEMO_MODE = False
    DEMO_SHOP = "sidecard-demo.myshopify.com"


def _demo_secrets(instance_dir: Path) -> dict[str, str]:
    """Keys generated once for demo mode and kept under instance/ so restarts can decrypt."""
    path = instance_dir / "demo-secrets.json"
    if path.is_file():
        return json.loads(path.read_text())
    instance_dir.mkdir(parents=True, exist_ok=True)
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_SECRET": secrets.token_hex(16),
    }
    path.write_text(json.dumps(generated))
    path.chmod(0o600)
    return generated


def finalize(config: dict[str, Any], instance_dir: Path = INSTANCE_DIR) -> None:
    """Decide demo mode, fill generated demo keys, and fail fast on missing variables.

    :raises ConfigurationError: a required variable is missing outside demo mode.
    """
    key, secret = config.get("SHOPIFY_API_KEY"), config.get("SHOPIFY_API_SECRET")
    demo = parse_bool(config.get("DEMO_MODE")) or (not key and not secret)
    config["DEMO_MODE"] = demo
    if demo:
        generated = _demo_secrets(instance_dir) if not config.get("TESTING") else {
            "SECRET_KEY": secrets.token_urlsafe(48),
            # PyJWT wants HS256 keys of 32 bytes or more, like Shopify's real secrets.
            "SHOPIFY_API_SECRET": "shpss_demo_secret_for_tests_only_0123456789",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        config["SHOPIFY_API_KEY"] = key or "sidecard-demo"
        for name in ("SECRET_KEY", "ENCRYPTION_KEY", "SHOPIFY_API_SECRET"):
            if not config.get(name):
                config[name] = generated[name]
    missing = [name for name in REQUIRED_OUTSIDE_DEMO if not config.get(name)]
    if missing:
        raise ConfigurationError(
            "Sidecard cannot start: set " + ", ".join(missing)
            + " (see README, Configuration). Unset both SHOPIFY_API_KEY and "
            "SHOPIFY_API_SECRET to run the demo instead."
        )
    if not config.get("DATABASE_URL"):
        instance_dir.mkdir(parents=True, exist_ok=True)
        config["DATABASE_URL"] = f"sqlite:///{instance_dir / 'sidecard.sqlite'}"
    config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(config["DATABASE_URL"])
    config["APP_URL"] = str(config["APP_URL"]).rstrip("/")
    if "{shop}" not in str(config["SHOPIFY_ADMIN_URL"]):
        raise ConfigurationError("SHOPIFY_ADMIN_URL must contain {shop}")


def _sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs (Heroku-style `postgres://` too)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
