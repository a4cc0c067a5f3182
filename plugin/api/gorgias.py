"""`GET /api/v1/gorgias/widget`: the answer to Gorgias's HTTP integration, for its sidebar widget.

Gorgias has no sidebar iframe (reference/helpdesks.md §3). On ticket events its servers call
this URL with the ticket's template variables in the query (see
`plugin/helpdesks/packages/gorgias.py`) and the connection's secret as `Authorization:
Bearer`. We find the ticket customer the way the card does (one Shopify request cold, none
warm) and answer the JSON the generated widget renders: the customer, their recent orders
with worded statuses, and links that open the full card in a new tab.

Each link carries its own fresh single-use launch token. Gorgias's servers name the ticket's
assignee, so a link is minted for the assignee and opens a *verified* session
(`verified_by="gorgias_integration"`): that proves the assignee was named by Gorgias, not
who clicks (anyone who sees the ticket's widget can use the link while it is valid).
Without an assignee the link is for a synthetic agent `gorgias:<ticket>`, asserted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, jsonify, request

from plugin.api import bp
from plugin.api.auth import current_connection, require_integration
from plugin.card_data import cache, launch_card
from plugin.card_data.matching import MAX_EMAIL_LENGTH, MAX_PHONE_LENGTH
from plugin.card_data.present import (
    FULFILLMENT_STATUS,
    ORDER_STATUS,
    PAYMENT_STATUS,
)
from plugin.cards.formatting import CURRENCY_SYMBOLS, format_money
from plugin.exceptions import ValidationError
from plugin.helpdesks import get_adapter
from plugin.launch import (
    IDENTITY_ASSERTED,
    IDENTITY_VERIFIED,
    MAX_LAUNCH_LIFETIME_SECONDS,
    Agent,
    mint_launch_token,
    normalize_email,
)
from plugin.models.helpdesk import HelpdeskConnection
from plugin.models.shop import Shop

log = logging.getLogger("sidecard.gorgias")

# The widget is fetched on a ticket event and its links are clicked later, while the agent
# reads the ticket: give them the longest life a launch token may have (10 minutes). They
# stay single use, so a copied link opens at most one card.
WIDGET_LINK_TTL_SECONDS = MAX_LAUNCH_LIFETIME_SECONDS
VERIFIED_BY = "gorgias_integration"
MAX_NAME_LENGTH = 255
MAX_ASSIGNEE_ID_LENGTH = 64
TICKET_RE = re.compile(r"^[0-9]{1,20}$")
ASSIGNEE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A synthetic agent's address: `.invalid` is reserved (RFC 2606), so no code is ever mailed
# for it and no real person's permission set matches it by accident.
SYNTHETIC_EMAIL = "unassigned@gorgias.invalid"
# Rows in these fulfillment states may have tracking in an order Sidecard holds in full.
SHIPPED_STATES = frozenset({"fulfilled", "partially_fulfilled", "in_progress"})
SHIPMENT_FAILED = frozenset({"cancelled", "error", "failure"})


@dataclass(frozen=True)
class WidgetQuery:
    """What the integration sent: the ticket's customer, the ticket and its assignee."""

    email: str | None
    phone: str | None
    name: str | None
    ticket: str | None
    assignee: Agent | None

    @property
    def customer(self) -> dict[str, str]:
        """The requester claim for launch tokens (the card finds the same customer)."""
        return {k: v for k, v in (("email", self.email), ("phone", self.phone),
                                  ("name", self.name)) if v}


def _param(args: Mapping[str, str], name: str, limit: int) -> str | None:
    """A trimmed query value, None when absent or empty.

    :raises ValidationError: longer than `limit` or with control characters.
    """
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if len(value) > limit or _CONTROL.search(value):
        raise ValidationError(f"`{name}` is too long or malformed (at most {limit} characters).",
                              field=name)
    return value


def parse_widget_query(args: Mapping[str, str]) -> WidgetQuery:
    """Read the integration's query: `email`/`phone`/`name` of the ticket customer, `ticket`
    (or `ticket_id`), `assignee_email`/`assignee_name`/`assignee_id`.

    Gorgias renders a missing template variable as an empty string: empty means absent.

    :raises ValidationError: neither email nor phone, a value too long, a non-numeric
        ticket id, or an assignee email that is not an address.
    """
    email = _param(args, "email", MAX_EMAIL_LENGTH)
    phone = _param(args, "phone", MAX_PHONE_LENGTH)
    name = _param(args, "name", MAX_NAME_LENGTH)
    if not email and not phone:
        raise ValidationError("Give the ticket customer's `email` or `phone` "
                              "(`email={{ticket.customer.email}}`).", field="email")
    ticket = _param(args, "ticket", 20)
    ticket_id = _param(args, "ticket_id", 20)
    if ticket and ticket_id and ticket != ticket_id:
        raise ValidationError("`ticket` and `ticket_id` disagree.", field="ticket")
    ticket = ticket or ticket_id
    if ticket is not None and not TICKET_RE.match(ticket):
        raise ValidationError("`ticket` must be the Gorgias ticket id (digits).",
                              field="ticket")
    raw_assignee = _param(args, "assignee_email", MAX_EMAIL_LENGTH)
    assignee_name = _param(args, "assignee_name", MAX_NAME_LENGTH)
    assignee_id = _param(args, "assignee_id", MAX_ASSIGNEE_ID_LENGTH)
    if assignee_id is not None and not ASSIGNEE_ID_RE.match(assignee_id):
        raise ValidationError("`assignee_id` must be the Gorgias user id.",
                              field="assignee_id")
    assignee = None
    if raw_assignee is not None:
        assignee_email = normalize_email(raw_assignee)
        if assignee_email is None:
            raise ValidationError("`assignee_email` is not an email address.",
                                  field="assignee_email")
        # The user id when the integration sends it; else the email, stable per agent.
        assignee = Agent(id=assignee_id or assignee_email, email=assignee_email,
                         name=assignee_name)
    return WidgetQuery(email=email, phone=phone, name=name, ticket=ticket, assignee=assignee)


def widget_agent(query: WidgetQuery) -> tuple[Agent, str | None]:
    """Who the links open the card for, and the `verified_by` source (None: asserted)."""
    if query.assignee is not None:
        return query.assignee, VERIFIED_BY
    ticket = query.ticket or "unassigned"
    name = f"Gorgias ticket #{query.ticket}" if query.ticket else "Gorgias (no ticket)"
    return Agent(id=f"gorgias:{ticket}", email=SYNTHETIC_EMAIL, name=name), None


class LinkMinter:
    """Card links for one widget answer, each with its own single-use launch token."""

    def __init__(self, connection: HelpdeskConnection, query: WidgetQuery) -> None:
        self.connection = connection
        self.query = query
        self.agent, self.verified_by = widget_agent(query)
        self.base = get_adapter(connection.kind).card_url(current_app.config["APP_URL"])

    @property
    def identity(self) -> str:
        """The identity the links' sessions get."""
        return IDENTITY_VERIFIED if self.verified_by else IDENTITY_ASSERTED

    def card_url(self, order_id: str | None = None) -> str:
        """`{APP_URL}/cards/gorgias?launch_token=…` opening the ticket customer's card, or
        (`&order=<id>`) the card opened on that order."""
        token = mint_launch_token(
            self.connection, agent_id=self.agent.id, email=self.agent.email,
            name=self.agent.name, conversation=self.query.ticket,
            customer=self.query.customer, ttl_seconds=WIDGET_LINK_TTL_SECONDS,
            verified_by=self.verified_by)
        params = {"launch_token": token}
        if order_id:
            params["order"] = order_id
        return f"{self.base}?{urlencode(params)}"


def money_text(money: Mapping[str, str] | None) -> str | None:
    """`{"amount": "12.5", "currency": "USD"}` → `$12.50 USD` (the code always shown)."""
    if not money:
        return None
    text = format_money(money)
    currency = money.get("currency") or ""
    return f"{text} {currency}" if currency in CURRENCY_SYMBOLS else text


def _label(value: str | None, table: Mapping[str, tuple[str, str]]) -> str | None:
    """The card's badge words for a status value (`paid` → `Paid`)."""
    if not value:
        return None
    words = table.get(value) or table.get(value.upper())
    return words[0] if words else value.replace("_", " ").capitalize()


def first_tracking(order: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The first tracking entry (preferring one with a link) of an order held in full."""
    if not order:
        return None
    entries = [t for f in order.get("fulfillments") or []
               if f.get("status") not in SHIPMENT_FAILED for t in f.get("tracking") or []]
    with_url = [t for t in entries if t.get("url")]
    chosen = (with_url or entries or [None])[0]
    if chosen is None:
        return None
    return {"company": chosen.get("company"), "number": chosen.get("number"),
            "url": chosen.get("url")}


def _full_order(shop: Shop, row: Mapping[str, Any],
                latest: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The order in full when Sidecard already holds it (never a Shopify request)."""
    if latest and latest.get("id") == row.get("id"):
        return latest
    if (row.get("status") or {}).get("fulfillment") not in SHIPPED_STATES:
        return None
    return cache.get(shop.id, f"order:{row['id']}")


def order_entry(shop: Shop, row: Mapping[str, Any], latest: Mapping[str, Any] | None,
                card_url: str) -> dict[str, Any]:
    """One order for the widget: worded statuses, total as text and money, tracking, link."""
    status = row.get("status") or {}
    tracking = first_tracking(_full_order(shop, row, latest))
    return {
        "id": row.get("id"),
        "name": row.get("name"),
        "created_at": row.get("created_at"),
        "status": _label(status.get("order"), ORDER_STATUS),
        "financial_status": _label(status.get("payment"), PAYMENT_STATUS),
        "fulfillment_status": _label(status.get("fulfillment"), FULFILLMENT_STATUS),
        "total": money_text(row.get("total")),
        "total_money": row.get("total"),
        "total_refunded_money": row.get("total_refunded"),
        "items_count": row.get("items_count"),
        "tracking_url": tracking["url"] if tracking else None,
        "tracking": tracking,
        "admin_url": row.get("admin_url"),
        "card_url": card_url,
    }


def _sum_money(values: Sequence[Mapping[str, str] | None]) -> dict[str, str] | None:
    """Total of money values in one currency (None when any is missing or they differ)."""
    present = [v for v in values if v]
    if not present or len(present) != len(values):
        return None
    currencies = {v["currency"] for v in present}
    if len(currencies) != 1:
        return None
    total = sum((Decimal(v["amount"]) for v in present), Decimal("0"))
    return {"amount": str(total), "currency": currencies.pop()}


def customer_entry(accounts: Sequence[Mapping[str, Any]],
                   matched_by: Mapping[str, list[str]]) -> dict[str, Any]:
    """The customer header: the first account, with counts summed over merged accounts."""
    primary = accounts[0]
    counts = [a.get("orders_count") for a in accounts]
    # Different currencies (or a missing figure) cannot be added: show the first account's.
    spent = _sum_money([a.get("amount_spent") for a in accounts]) or primary.get(
        "amount_spent")
    return {
        "id": primary.get("id"),
        "name": primary.get("name"),
        "email": primary.get("email"),
        "phone": primary.get("phone"),
        "orders_count": sum(counts) if None not in counts else primary.get("orders_count"),
        "amount_spent": money_text(spent),
        "amount_spent_money": spent,
        "tags": primary.get("tags") or [],
        "admin_url": primary.get("admin_url"),
        "matched_by": matched_by.get(primary.get("id"), []),
        "merged": len(accounts) > 1,
        "accounts": [{"id": a.get("id"), "name": a.get("name"), "email": a.get("email"),
                      "phone": a.get("phone"), "admin_url": a.get("admin_url"),
                      "matched_by": matched_by.get(a.get("id"), [])} for a in accounts],
    }


def widget_body(shop: Shop, result: Mapping[str, Any], links: LinkMinter) -> dict[str, Any]:
    """The widget JSON from a `launch_card` result (a card, a choice, or nobody)."""
    found, card = result["found"], result["card"]
    candidates = found.get("customers") or []
    matched_by = {c["id"]: c.get("matched_by") or [] for c in candidates}
    accounts: Sequence[Mapping[str, Any]] = []
    rows: Sequence[Mapping[str, Any]] = []
    latest = None
    if card is not None:
        match, accounts, rows = "card", card["customers"], card["orders"]
        latest = card.get("latest_order")
    elif candidates:
        # Email and phone found two different people: the card asks the agent to pick.
        # The widget shows the first (the email's account) and its recent orders.
        match, accounts = "chooser", candidates[:1]
        rows = candidates[0].get("recent_orders") or []
    else:
        match = "none"
    expires_at = datetime.now(UTC) + timedelta(seconds=WIDGET_LINK_TTL_SECONDS)
    return {
        "customer": customer_entry(accounts, matched_by) if accounts else None,
        "card_url": links.card_url(),
        "orders": [order_entry(shop, row, latest, links.card_url(row.get("id")))
                   for row in rows],
        "match": match,
        "match_count": len(candidates),
        "links": {"identity": links.identity, "verified_by": links.verified_by,
                  "expires_in": WIDGET_LINK_TTL_SECONDS,
                  "expires_at": expires_at.isoformat(timespec="seconds"),
                  "single_use": True},
    }


@bp.get("/gorgias/widget")
@require_integration("gorgias")
def gorgias_widget() -> Response:
    """The ticket customer's orders for the Gorgias widget, with card links.

    Query (Gorgias template variables): `email` and/or `phone`, `name`, `ticket`
    (`ticket_id`), `assignee_email`, `assignee_name`, `assignee_id`. One Shopify request
    when nothing is cached, none when it is.

    :raise 400: no email or phone, over-long or malformed values.
    :raise 401: unknown connection, wrong secret or kind, disabled connection; uninstalled
        shop (`shop_not_installed`).
    :raise 502/504: Shopify failed or timed out (Gorgias shows the integration failed).
    """
    connection = current_connection()
    query = parse_widget_query(request.args)
    shop = connection.shop
    result = launch_card(shop, email=query.email, phone=query.phone)
    links = LinkMinter(connection, query)
    body = widget_body(shop, result, links)
    log.info("gorgias widget connection=%s ticket=%s match=%s orders=%d identity=%s",
             connection.public_id, query.ticket or "-", body["match"], len(body["orders"]),
             links.identity)
    return jsonify(body)
