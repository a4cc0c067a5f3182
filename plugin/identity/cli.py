"""`flask --app app agents revoke --connection ID [--email EMAIL]`: end verified devices."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from plugin.identity.device_credentials import revoke
from plugin.launch import find_connection, normalize_email

agents_cli = AppGroup("agents", help="Agents' verified devices.")


@agents_cli.command("revoke")
@click.option("--connection", "connection_id", required=True,
              help="The helpdesk connection id (conn_...).")
@click.option("--email", default=None,
              help="Only this agent's devices (default: every agent of the connection).")
def revoke_command(connection_id: str, email: str | None) -> None:
    """Revoke device credentials, so those devices must verify again; prints {"revoked": N}."""
    connection = find_connection(connection_id.strip())
    if connection is None:
        raise click.ClickException(f"no helpdesk connection {connection_id!r}")
    clean_email = None
    if email is not None:
        clean_email = normalize_email(email)
        if clean_email is None:
            raise click.ClickException(f"not an email address: {email!r}")
    count = revoke(connection, email=clean_email)
    click.echo(json.dumps({"revoked": count}))
