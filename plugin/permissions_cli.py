"""`flask --app app permissions import|export`: a shop's permission sets (CONTRACT §1, §5)."""

from __future__ import annotations

import json
from typing import IO

import click
from flask import Flask
from flask.cli import AppGroup

from plugin.exceptions import ValidationError
from plugin.extensions import db
from plugin.models.audit import AuditEvent
from plugin.models.shop import Shop
from plugin.permissions import shop_permissions, store_permissions

permissions_cli = AppGroup("permissions", help="Import and export a shop's permission sets.")


def _shop(value: str) -> Shop:
    """The shop named by a domain (`acme` means `acme.myshopify.com`)."""
    domain = (value or "").strip().lower().removeprefix("https://").rstrip("/")
    if domain and "." not in domain:
        domain += ".myshopify.com"
    shop = db.session.execute(db.select(Shop).where(Shop.domain == domain)).scalar_one_or_none()
    if shop is None:
        raise click.ClickException(f"no shop {domain!r}: install Sidecard on it first")
    return shop


@permissions_cli.command("import")
@click.option("--shop", "shop_name", required=True, help="The shop's *.myshopify.com domain.")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def import_command(shop_name: str, file: IO[str]) -> None:
    """Replace the shop's permission sets with FILE (JSON, CONTRACT §5; "-" reads stdin).

    An invalid file is refused with a message naming the problem, and nothing changes.
    """
    shop = _shop(shop_name)
    try:
        document = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name} is not valid JSON: {exc.msg} at line "
                                   f"{exc.lineno}, column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file.name} is not UTF-8 text") from exc
    try:
        parsed = store_permissions(shop.id, document, updated_by="cli")
    except ValidationError as exc:
        db.session.rollback()
        raise click.ClickException(f"{file.name} was not imported: {exc.message}") from exc
    db.session.add(AuditEvent(
        shop_id=shop.id, event="permissions.imported", status="done",
        summary=f"Permission sets imported from the command line: {len(parsed.sets)} set(s), "
                f"default {parsed.default!r}.",
        detail={"sets": [s.name for s in parsed.sets], "default": parsed.default}))
    db.session.commit()
    click.echo(json.dumps({
        "shop": shop.domain,
        "imported": True,
        "permission_sets": [s.name for s in parsed.sets],
        "default": parsed.default,
        "enabled_actions": (None if parsed.enabled_actions is None
                            else sorted(parsed.enabled_actions)),
    }, indent=2))


@permissions_cli.command("export")
@click.option("--shop", "shop_name", required=True, help="The shop's *.myshopify.com domain.")
def export_command(shop_name: str) -> None:
    """Print the shop's permission sets as JSON (the built-in default when none were imported)."""
    shop = _shop(shop_name)
    click.echo(json.dumps(shop_permissions(shop.id).to_document(), indent=2))


def init_app(app: Flask) -> None:
    """Register the `permissions` command group."""
    app.cli.add_command(permissions_cli)
