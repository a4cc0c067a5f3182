"""Launcher pages a helpdesk frames before the card exists (Kustomer's DynamicCard)."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, render_template, request

from plugin.helpdesks import get_adapter
from plugin.helpdesks.kustomer import LAUNCHER_PATH
from plugin.launch import find_connection
from plugin.security import allow_framing

KUSTOMER_SDK_ORIGIN = "https://cdn.kustomerapp.com"

bp = Blueprint("helpdesks", __name__)


@bp.get(LAUNCHER_PATH)
def kustomer_launcher():
    """The page Kustomer frames: Cards SDK handshake, launch command, then the card.

    It carries no secret and sets no cookie; it is frameable only by the connection's
    Kustomer origins.

    :raise 404: no active Kustomer connection with that id.
    """
    connection = find_connection(request.args.get("connection"))
    if connection is None or connection.kind != "kustomer" or not connection.is_active:
        abort(404, "No such Kustomer connection.")
    adapter = get_adapter(connection.kind)
    allow_framing(adapter.frame_origins(connection))
    from plugin.helpdesks.packages.kustomer import app_name, command_name

    app_url = current_app.config["APP_URL"]
    config = {
        "connectionId": connection.public_id,
        "commandName": command_name(app_name(connection)),
        "cardUrl": adapter.card_url(app_url),
    }
    # Only Kustomer's Cards SDK and this page's own script (by nonce) may run: the launcher
    # is framed inside the agent's Kustomer, like the card, and gets the same strict policy.
    nonce = secrets.token_urlsafe(16)
    response = current_app.make_response(
        render_template("launchers/kustomer.html", config=config, script_nonce=nonce))
    response.headers["Content-Security-Policy"] = (
        f"script-src 'nonce-{nonce}' {KUSTOMER_SDK_ORIGIN}; object-src 'none'; "
        "base-uri 'none'")
    response.headers["Cache-Control"] = "no-store"
    return response
