"""`flask --app app helpdesk ...`: connect helpdesks, rotate secrets, build their packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from plugin.exceptions import ValidationError
from plugin.extensions import db
from plugin.helpdesks import get_adapter
from plugin.helpdesks.base import normalize_origin
from plugin.launch import find_connection
from plugin.models.base import utcnow
from plugin.models.helpdesk import KINDS, HelpdeskConnection, new_signing_secret
from plugin.models.shop import Shop

helpdesk_cli = AppGroup("helpdesk", help="Connect helpdesks to shops and build their apps.")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _installed_shop(value: str) -> Shop:
    """The installed shop named by a domain (`acme` means `acme.myshopify.com`)."""
    domain = (value or "").strip().lower().removeprefix("https://").rstrip("/")
    if domain and "." not in domain:
        domain += ".myshopify.com"
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one_or_none()
    if shop is None:
        raise click.ClickException(f"no shop {domain!r}: install Sidecard on it first")
    if not shop.is_installed:
        raise click.ClickException(f"shop {domain!r} has uninstalled Sidecard; reinstall it "
                                   "first")
    return shop


def _connection(public_id: str) -> HelpdeskConnection:
    connection = find_connection(public_id)
    if connection is None:
        raise click.ClickException(f"no helpdesk connection {public_id!r}")
    return connection


def _read_public_key(path: str) -> str:
    """A PEM RSA public key (≥ 2048 bits) from a file, as text."""
    try:
        pem = Path(path).read_text(encoding="utf-8")
        key = serialization.load_pem_public_key(pem.encode())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read a PEM public key from {path}: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise click.ClickException("the Zendesk public key must be an RSA key of at least "
                                   "2048 bits (signed URLs are RS256)")
    return pem.strip() + "\n"


def describe(connection: HelpdeskConnection) -> dict[str, Any]:
    """A connection's public description (never its secrets)."""
    adapter = get_adapter(connection.kind)
    return {
        "connection_id": connection.public_id,
        "kind": connection.kind,
        "account": connection.account,
        "shop": connection.shop.domain,
        "card_url": adapter.card_url(current_app.config["APP_URL"]),
        "frame_origins": adapter.frame_origins(connection),
        "zendesk_signed_urls": bool(connection.zendesk_public_key),
        "has_api_token": connection.api_token_enc is not None,
        "created_at": connection.created_at.isoformat() if connection.created_at else None,
        "disabled_at": connection.disabled_at.isoformat() if connection.disabled_at else None,
    }


@helpdesk_cli.command("connect")
@click.option("--shop", required=True, help="The shop's *.myshopify.com domain.")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="The helpdesk.")
@click.option("--account", required=True,
              help="Zendesk subdomain, Gorgias domain, Kustomer org name, or bot owner.")
@click.option("--api-user", default=None, help="API user (Gorgias user email).")
@click.option("--api-token", default=None, help="API token / OAuth access token / API key.")
@click.option("--frame-origin", "frame_origins", multiple=True,
              help="Origin allowed to frame the card (repeatable; replaces the default).")
@click.option("--zendesk-public-key", type=click.Path(dir_okay=False), default=None,
              help="PEM file: the Zendesk app's public key, to accept signed URLs.")
@click.option("--zendesk-app-id", default=None, help="The Zendesk app id.")
@click.option("--zendesk-installation-id", default=None,
              help="The Zendesk installation id (signed-URL audience).")
def connect_command(shop: str, kind: str, account: str, api_user: str | None,
                    api_token: str | None, frame_origins: tuple[str, ...],
                    zendesk_public_key: str | None, zendesk_app_id: str | None,
                    zendesk_installation_id: str | None) -> None:
    """Connect a helpdesk account to a shop; prints the connection and its signing secret."""
    shop_row = _installed_shop(shop)
    adapter = get_adapter(kind)
    try:
        account_name = adapter.normalize_account(account)
        origins = ([normalize_origin(o) for o in frame_origins] if frame_origins
                   else adapter.default_frame_origins(account_name))
    except ValidationError as exc:
        raise click.ClickException(exc.message) from exc
    zendesk_options = (zendesk_public_key, zendesk_app_id, zendesk_installation_id)
    if kind != "zendesk" and any(zendesk_options):
        raise click.ClickException("--zendesk-* options only apply to --kind zendesk")
    for label, value in (("app", zendesk_app_id), ("installation", zendesk_installation_id)):
        if value is not None and not value.isdigit():
            raise click.ClickException(f"--zendesk-{label}-id must be numeric")
    public_key = _read_public_key(zendesk_public_key) if zendesk_public_key else None

    secret = new_signing_secret()
    connection = HelpdeskConnection(
        shop_id=shop_row.id, kind=kind, account=account_name, frame_origins=list(origins),
        zendesk_public_key=public_key, zendesk_app_id=zendesk_app_id,
        zendesk_installation_id=zendesk_installation_id)
    connection.signing_secret = secret
    connection.api_user = api_user
    connection.api_token = api_token
    db.session.add(connection)
    db.session.commit()
    _echo_json({**describe(connection), "signing_secret": secret,
                "next": f"flask --app app helpdesk package --connection {connection.public_id}"
                        " --out DIR"})


@helpdesk_cli.command("list")
@click.option("--shop", default=None, help="Only this shop's connections.")
def list_command(shop: str | None) -> None:
    """List helpdesk connections (without secrets) as JSON."""
    stmt = select(HelpdeskConnection).order_by(HelpdeskConnection.id)
    if shop:
        domain = shop.strip().lower()
        if "." not in domain:
            domain += ".myshopify.com"
        stmt = stmt.join(Shop).where(Shop.domain == domain)
    _echo_json([describe(c) for c in db.session.execute(stmt).scalars()])


@helpdesk_cli.command("rotate-secret")
@click.option("--connection", "public_id", required=True, help="The connection id.")
def rotate_secret_command(public_id: str) -> None:
    """Replace a connection's signing secret; the old one stops working at once."""
    connection = _connection(public_id)
    secret = new_signing_secret()
    connection.signing_secret = secret
    db.session.commit()
    _echo_json({"connection_id": connection.public_id, "signing_secret": secret})


@helpdesk_cli.command("disable")
@click.option("--connection", "public_id", required=True, help="The connection id.")
def disable_command(public_id: str) -> None:
    """Disable a connection: its launch tokens and sessions are refused from now on."""
    connection = _connection(public_id)
    if connection.disabled_at is None:
        connection.disabled_at = utcnow()
        db.session.commit()
    _echo_json(describe(connection))


@helpdesk_cli.command("package")
@click.option("--connection", "public_id", required=True, help="The connection id.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory to write the helpdesk's app files into.")
def package_command(public_id: str, out_dir: str) -> None:
    """Write what the helpdesk installs (Zendesk app, Kustomer definition, Gorgias config)."""
    from plugin.helpdesks.packages import write_package

    connection = _connection(public_id)
    written = write_package(connection, out_dir)
    _echo_json({"connection_id": connection.public_id, "kind": connection.kind,
                "out": str(Path(out_dir)),
                "files": [str(p.relative_to(out_dir)) for p in written]})
