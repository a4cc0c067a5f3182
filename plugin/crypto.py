"""Encryption at rest for tokens and credentials (Fernet, with key rotation)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from plugin.exceptions import ConfigurationError


def build_fernet(keys: str) -> MultiFernet:
    """Build a MultiFernet from comma-separated keys: the first encrypts, all decrypt.

    :raises ConfigurationError: a key is not a valid Fernet key.
    """
    parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
    if not parts:
        raise ConfigurationError("ENCRYPTION_KEY is empty")
    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes)"
        ) from exc


def _fernet() -> MultiFernet:
    fernet = current_app.extensions.get("sidecard_fernet")
    if fernet is None:
        fernet = build_fernet(current_app.config["ENCRYPTION_KEY"])
        current_app.extensions["sidecard_fernet"] = fernet
    return fernet


def encrypt(plaintext: str | None) -> str | None:
    """Encrypt a secret for storage; None stays None."""
    if plaintext is None:
        return None
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str | None) -> str | None:
    """Decrypt a stored secret; None stays None.

    :raises ConfigurationError: no configured key can decrypt it.
    """
    if ciphertext is None:
        return None
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ConfigurationError("a stored secret cannot be decrypted with ENCRYPTION_KEY") from exc


def init_app(app) -> None:
    """Check the encryption keys at start-up so a bad key fails fast."""
    app.extensions["sidecard_fernet"] = build_fernet(app.config["ENCRYPTION_KEY"])
