"""Keys for identity proofs, derived from SECRET_KEY by HKDF, one per purpose.

Nothing secret about an agent's proof is stored in the clear: codes, credential secrets,
device ids and OAuth `state` values are kept as HMAC-SHA256 digests under these keys.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

EMAIL_CODE = b"sidecard email code v1"
DEVICE_CREDENTIAL = b"sidecard device credential v1"
DEVICE_ID = b"sidecard device id v1"
ZENDESK_STATE = b"sidecard zendesk oauth state v1"
HOST_PROOF = b"sidecard host-verified launch v1"


def derived_key(purpose: bytes) -> bytes:
    """HKDF-SHA256(SECRET_KEY, info=purpose): a 32-byte key used for that purpose only."""
    secret = str(current_app.config["SECRET_KEY"])
    cache = current_app.extensions.setdefault("sidecard_identity_keys", {})
    cached = cache.get(purpose)
    if cached is not None and cached[0] == secret:
        return cached[1]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=purpose).derive(secret.encode())
    cache[purpose] = (secret, key)
    return key


def keyed_hash(purpose: bytes, *parts: str) -> str:
    """Hex HMAC-SHA256 of the parts (joined unambiguously) under the purpose's key."""
    message = b"\x1f".join(part.encode() for part in parts)
    return hmac.new(derived_key(purpose), message, hashlib.sha256).hexdigest()


def same_digest(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two hex digests (False when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def redact_email(email: str | None) -> str:
    """An email fit for logs: first letter and domain only (`a***@example.com`)."""
    if not email or "@" not in email:
        return "-"
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
