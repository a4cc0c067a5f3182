"""The Zendesk package: a private ZAF v2 app for the ticket sidebar.

Flow (reference/helpdesks.md §2.4, §2.6 "alternative without signed URLs"):
`assets/iframe.html` reads the ticket, requester and current user with the ZAF client and
calls `client.request({secure: true, jwt: {...}})`; Zendesk's proxy signs an HS256 launch
token with the **secure** `signing_secret` setting (scope `jwt_secret_key`) on its servers
and sends it to `/api/v1/zendesk/launch`, which answers a fresh one-time token that the
page POSTs to `/cards/zendesk`. The secret never reaches the browser; the agent claims do
come from the browser, so the session identity is "asserted".
"""

from __future__ import annotations

import json
from typing import Any

from flask import render_template

from plugin.helpdesks.packages import PACKAGE_VERSION, PackageContext

ZAF_SDK_URL = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
LAUNCH_RELAY_PATH = "/api/v1/zendesk/launch"
# Zendesk's proxy signs tokens this long-lived; launch tokens may live 10 minutes at most.
PROXY_JWT_EXPIRY_SECONDS = 300
SECRET_SETTING = "signing_secret"  # noqa: S105  (a setting name)
CONNECTION_SETTING = "connection_id"


def manifest(ctx: PackageContext) -> dict[str, Any]:
    """manifest.json: private app, ticket_sidebar iframe, secure secret scoped to JWT signing."""
    return {
        "name": "Sidecard",
        "author": {"name": "Sidecard", "email": ctx.author_email, "url": ctx.app_url},
        "defaultLocale": "en",
        "private": True,
        "location": {"support": {"ticket_sidebar": {"url": "assets/iframe.html",
                                                    "flexible": True}}},
        "version": PACKAGE_VERSION,
        "frameworkVersion": "2.0",
        # Secure requests only go to allow-listed hosts.
        "domainWhitelist": [ctx.app_host],
        "parameters": [
            # Not secret: which connection the launch token names (`iss`).
            {"name": CONNECTION_SETTING, "type": "text", "required": True,
             "default": ctx.connection_id},
            # Secret: typed in at install, substituted only as the JWT signing key on
            # Zendesk's servers. A secure parameter must not have a default.
            {"name": SECRET_SETTING, "type": "text", "required": True, "secure": True,
             "scopes": ["jwt_secret_key"]},
        ],
    }


def translations() -> dict[str, Any]:
    """translations/en.json: app texts and parameter labels."""
    return {"app": {
        "name": "Sidecard",
        "short_description": "Refund, cancel and edit Shopify orders from the ticket.",
        "long_description": "Shows the requester's Shopify orders in the ticket sidebar and "
                            "lets agents act on them within the merchant's permission sets.",
        "installation_instructions": "Paste the connection id and the signing secret that "
                                     "`flask --app app helpdesk connect` printed.",
        "parameters": {
            CONNECTION_SETTING: {"label": "Sidecard connection id",
                                 "helpText": "Starts with conn_."},
            SECRET_SETTING: {"label": "Sidecard signing secret",
                             "helpText": "Shown once by `helpdesk connect`; stored as a "
                                         "secure setting and never sent to browsers."},
        },
    }}


def iframe_config(ctx: PackageContext) -> dict[str, Any]:
    """Values the sidebar page needs; the `{{...}}` strings are ZAF placeholders that
    Zendesk's proxy substitutes server-side."""
    return {
        "connectionId": ctx.connection_id,
        "launchUrl": ctx.app_url + LAUNCH_RELAY_PATH,
        "cardUrl": ctx.card_url,
        "audience": "sidecard",
        "expiry": PROXY_JWT_EXPIRY_SECONDS,
        "secretKey": "{{setting.%s}}" % SECRET_SETTING,
        "authorization": "Bearer {{jwt.token}}",
    }


def build(ctx: PackageContext) -> dict[str, str]:
    """The ZAF app directory: manifest, sidebar page, translations, install notes."""
    return {
        "manifest.json": json.dumps(manifest(ctx), indent=2) + "\n",
        "assets/iframe.html": render_template("helpdesk_packages/zendesk/iframe.html",
                                              config=iframe_config(ctx), sdk_url=ZAF_SDK_URL,
                                              card_url=ctx.card_url),
        "translations/en.json": json.dumps(translations(), indent=2) + "\n",
        "README.md": render_template("helpdesk_packages/zendesk/README.md", ctx=ctx),
    }
