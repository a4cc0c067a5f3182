"""The Kustomer package: an app definition with a DynamicCard KView and a launch command.

Flow (reference/helpdesks.md §4): the KView frames Sidecard's launcher page
(`/launch/kustomer?connection=…`), which calls `Kustomer.initialize`, then runs the app's
command through `Kustomer.request`. Kustomer executes the command on its servers with the
signing secret from a `secret` app setting (never shown to agents) and calls
`/api/v1/kustomer/launch`, which mints a launch token; the launcher POSTs it to
`/cards/kustomer`. The command body (agent, conversation) comes from the browser, so the
identity is "asserted".
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import render_template

from plugin.helpdesks.kustomer import LAUNCH_RELAY_PATH, LAUNCHER_PATH
from plugin.helpdesks.packages import PACKAGE_VERSION, PackageContext
from plugin.models.helpdesk import HelpdeskConnection

SECRET_SETTING = "signingSecret"  # noqa: S105  (a setting name)


def app_name(connection: HelpdeskConnection) -> str:
    """The definition's `app` name: no spaces or dashes, unique per org."""
    return "sidecard_" + re.sub(r"[^a-z0-9_]", "_", connection.account.lower())


def command_name(app: str) -> str:
    """The launch command's name, `{app}.app.launch`."""
    return f"{app}.app.launch"


def launcher_url(ctx: PackageContext) -> str:
    """The page the KView frames."""
    return f"{ctx.app_url}{LAUNCHER_PATH}?connection={ctx.connection_id}"


def definition(ctx: PackageContext) -> dict[str, Any]:
    """The app definition JSON to register with Kustomer's Apps API."""
    app = app_name(ctx.connection)
    agent_schema = {"type": "object", "required": ["id", "email"],
                    "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                                   "name": {"type": "string"}}}
    customer_schema = {"type": "object",
                       "properties": {"email": {"type": "string"},
                                      "phone": {"type": "string"},
                                      "name": {"type": "string"}}}
    card_src = json.dumps(launcher_url(ctx))
    return {
        "app": app,
        "version": PACKAGE_VERSION,
        "title": "Sidecard",
        "description": "Refund, cancel and edit Shopify orders from the conversation, "
                       "within the merchant's permission sets.",
        "visibility": "private",
        "appDetails": {
            "appDeveloper": {"name": "Sidecard", "website": ctx.app_url,
                             "supportEmail": ctx.author_email},
            "externalPlatform": {"name": "Shopify", "website": "https://www.shopify.com"},
        },
        "settings": {"default": {SECRET_SETTING: {
            "type": "secret", "defaultValue": "", "required": True,
            "description": "The signing secret printed by `flask --app app helpdesk connect` "
                           "for this connection. Write-only; used by the launch command "
                           "on Kustomer's servers.",
        }}},
        "commands": [{
            "name": command_name(app),
            "displayName": "Open the Sidecard order card",
            "url": f"{ctx.app_url}{LAUNCH_RELAY_PATH}?connection={ctx.connection_id}",
            "httpMethod": "post",
            "permittedArgs": [],
            "auditLogging": True,
            # Kustomer substitutes the secret setting server-side as the command's auth
            # token (sent as `Authorization: Bearer`, [UNCONFIRMED] header placement).
            "appSettings": {"authToken": {"key": f"{app}.default.{SECRET_SETTING}"}},
            "inputSchema": {"type": "object", "required": ["agent"],
                            "properties": {"agent": agent_schema,
                                           "conversation": {"type": "string"},
                                           "customer": customer_schema}},
            "outputSchema": {"type": "object",
                             "properties": {"launch_token": {"type": "string"},
                                            "card_url": {"type": "string"},
                                            "expires_in": {"type": "number"}}},
        }],
        "kviews": [{
            "name": f"{app}.card",
            "context": "smartbar-card",
            "resource": "conversation",
            "template": (f"<div><DynamicCard src={{{card_src}}} context={{object.context}} "
                         "noPadding fillToWidth /></div>"),
            "meta": {"displayName": "Shopify orders", "icon": "cart", "state": "open"},
        }],
    }


def build(ctx: PackageContext) -> dict[str, str]:
    """The app definition plus install notes."""
    return {
        "app.json": json.dumps(definition(ctx), indent=2) + "\n",
        "README.md": render_template("helpdesk_packages/kustomer/README.md", ctx=ctx,
                                     app=app_name(ctx.connection),
                                     launcher_url=launcher_url(ctx)),
    }
