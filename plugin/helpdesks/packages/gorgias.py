"""The Gorgias package: an HTTP integration plus a sidebar widget template.

Gorgias has no sidebar iframe (reference/helpdesks.md §3). Its HTTP integration calls
`GET {APP_URL}/api/v1/gorgias/widget` server to server on ticket events, with the
ticket's customer in the query (Gorgias template variables) and two headers configured in
Gorgias: `X-Sidecard-Connection` (the connection id) and `Authorization: Bearer <signing
secret>`. The answer feeds a widget that lists the customer's orders and links to the full
card, which opens in a new tab.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import render_template

from plugin.helpdesks.gorgias import CONNECTION_HEADER, WIDGET_PATH
from plugin.helpdesks.packages import PackageContext

# Query parameters the integration sends, from Gorgias template variables.
WIDGET_QUERY = (
    ("email", "{{ticket.customer.email}}"),
    ("name", "{{ticket.customer.name}}"),
    ("ticket", "{{ticket.id}}"),
    ("assignee_email", "{{ticket.assignee_user.email}}"),
    ("assignee_name", "{{ticket.assignee_user.name}}"),
)
# Typed into Gorgias by the admin; the package never contains the secret itself.
SECRET_PLACEHOLDER = "Bearer <signing_secret printed by `helpdesk connect`>"  # noqa: S105
TRIGGERS = ("ticket-created", "ticket-updated", "ticket-message-created")


def widget_url(ctx: PackageContext) -> str:
    """The integration URL with Gorgias placeholders left unencoded for Gorgias to fill."""
    query = "&".join(f"{name}={value}" for name, value in WIDGET_QUERY)
    return f"{ctx.app_url}{WIDGET_PATH}?{query}"


def integration(ctx: PackageContext) -> dict[str, Any]:
    """The HTTP integration (Settings → Apps → HTTP integration, or POST /api/integrations)."""
    return {
        "name": f"Sidecard ({ctx.shop_domain})",
        "type": "http",
        "http": {
            "url": widget_url(ctx),
            "method": "GET",
            "request_content_type": "application/json",
            "response_content_type": "application/json",
            "headers": {
                CONNECTION_HEADER: ctx.connection_id,
                "Authorization": SECRET_PLACEHOLDER,
            },
            "triggers": dict.fromkeys(TRIGGERS, True),
        },
    }


def widget(ctx: PackageContext) -> dict[str, Any]:
    """The ticket-sidebar widget template over the integration's JSON answer.

    Expected answer (served by `/api/v1/gorgias/widget`): `{"customer": {"name", "email"},
    "card_url", "orders": [{"name", "created_at", "financial_status",
    "fulfillment_status", "total", "card_url"}]}`. Widget field types beyond `card`/`text`
    are [UNCONFIRMED].
    """
    order_fields = [
        {"path": "name", "type": "text", "title": "Order"},
        {"path": "created_at", "type": "date", "title": "Placed"},
        {"path": "financial_status", "type": "text", "title": "Payment"},
        {"path": "fulfillment_status", "type": "text", "title": "Fulfillment"},
        {"path": "total", "type": "text", "title": "Total"},
        {"path": "card_url", "type": "url", "title": "Open in Sidecard"},
    ]
    return {
        "context": "ticket",
        "type": "http",
        # Filled with the id Gorgias gives the integration above.
        "integration_id": None,
        "order": 0,
        "template": {"type": "wrapper", "widgets": [{
            "path": "", "type": "card", "title": "Shopify orders (Sidecard)",
            "widgets": [
                {"path": "customer.name", "type": "text", "title": "Customer"},
                {"path": "card_url", "type": "url", "title": "Open the order card"},
                {"path": "orders", "type": "list", "title": "Orders",
                 "widgets": [{"path": "", "type": "card", "title": "Order",
                              "widgets": order_fields}]},
            ],
        }]},
    }


def build(ctx: PackageContext) -> dict[str, str]:
    """Integration JSON, widget JSON and install notes."""
    return {
        "http-integration.json": json.dumps(integration(ctx), indent=2) + "\n",
        "widget.json": json.dumps(widget(ctx), indent=2) + "\n",
        "README.md": render_template(
            "helpdesk_packages/gorgias/README.md", ctx=ctx,
            widget_url=widget_url(ctx), connection_header=CONNECTION_HEADER,
            example_url=ctx.app_url + WIDGET_PATH + "?email=" + quote("jane@example.com")),
    }
