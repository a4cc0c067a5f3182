"""Row and token factories shared by the test suite (import as `from factories import ...`)."""

from __future__ import annotations

import secrets
import time
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plugin.extensions import db
from plugin.models.base import utcnow
from plugin.models.helpdesk import HelpdeskConnection, new_signing_secret
from plugin.models.shop import Shop

DEFAULT_AGENT = {"sub": "agent-1", "email": "agent@example.com", "name": "Agent One"}


def make_shop(domain: str = "acme.myshopify.com", *, installed: bool = True,
              scopes: str = "read_customers,read_orders,write_orders",
              access_token: str | None = None, **fields: Any) -> Shop:
    """An installed shop with an (encrypted) expiring token set; committed."""
    fields.setdefault("installed_at", utcnow())
    shop = Shop(domain=domain, **fields)
    shop.store_tokens(access_token=access_token or "shpat_" + secrets.token_hex(8),
                      scopes=scopes, expires_in=3600,
                      refresh_token="shprt_" + secrets.token_hex(8),
                      refresh_token_expires_in=90 * 24 * 3600)
    if not installed:
        shop.clear_tokens()
        shop.uninstalled_at = utcnow()
    db.session.add(shop)
    db.session.commit()
    return shop


def make_connection(shop: Shop | None = None, *, kind: str = "zendesk",
                    account: str = "acme", secret: str | None = None,
                    frame_origins: list[str] | None = None, disabled: bool = False,
                    api_user: str | None = None, api_token: str | None = None,
                    **fields: Any) -> HelpdeskConnection:
    """A helpdesk connection (default: Zendesk `acme` on a new `acme` shop); committed.

    The plaintext secret is `connection.signing_secret`.
    """
    from plugin.helpdesks import get_adapter

    if shop is None:
        shop = db.session.execute(
            db.select(Shop).where(Shop.domain == "acme.myshopify.com")).scalar_one_or_none()
        shop = shop or make_shop()
    connection = HelpdeskConnection(
        shop_id=shop.id, kind=kind, account=account,
        frame_origins=(frame_origins if frame_origins is not None
                       else get_adapter(kind).default_frame_origins(account)),
        disabled_at=utcnow() if disabled else None, **fields)
    connection.signing_secret = secret or new_signing_secret()
    connection.api_user = api_user
    connection.api_token = api_token
    db.session.add(connection)
    db.session.commit()
    return connection


def launch_claims(connection: HelpdeskConnection, **claims: Any) -> dict[str, Any]:
    """Good launch-token claims for `connection`; keyword values override, None removes."""
    now = int(time.time())
    base: dict[str, Any] = {"iss": connection.public_id, "aud": "sidecard", "iat": now,
                            "exp": now + 300, "jti": secrets.token_urlsafe(12),
                            **DEFAULT_AGENT}
    base.update(claims)
    return {k: v for k, v in base.items() if v is not None}


def launch_token(connection: HelpdeskConnection, secret: str | None = None, *,
                 algorithm: str = "HS256", headers: dict[str, Any] | None = None,
                 **claims: Any) -> str:
    """A launch token for `connection`, signed with its secret unless `secret` is given."""
    key = secret if secret is not None else connection.signing_secret
    return jwt.encode(launch_claims(connection, **claims), key, algorithm=algorithm,
                      headers=headers)


def open_session(client, connection: HelpdeskConnection, **claims: Any) -> dict[str, Any]:
    """POST a fresh launch token to /api/v1/sessions; returns the 201 JSON body."""
    response = client.post("/api/v1/sessions",
                           json={"launch_token": launch_token(connection, **claims)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def rsa_keypair(index: int = 0) -> tuple[rsa.RSAPrivateKey, str]:
    """A cached 2048-bit RSA key and its public PEM (index picks another pair)."""
    return _rsa_keypair(index)


@lru_cache(maxsize=4)
def _rsa_keypair(index: int) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, pem.decode()


def zendesk_signed_token(account: str = "acme", installation_id: str = "42", *,
                         key_index: int = 0, **claims: Any) -> str:
    """A Zendesk signed-URL style token (RS256) naming an agent; None removes a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": f"{account}.zendesk.com",
        "aud": f"https://{account}.zendesk.com/api/v2/apps/installations/{installation_id}.json",
        "iat": now, "exp": now + 300,
        "context": {"product": "support", "location": "ticket_sidebar", "ticket_id": 1001,
                    "user": {"id": 7, "email": "Agent@Example.com", "name": "Agent Seven"}},
    }
    base.update(claims)
    payload = {k: v for k, v in base.items() if v is not None}
    return jwt.encode(payload, rsa_keypair(key_index)[0], algorithm="RS256")
