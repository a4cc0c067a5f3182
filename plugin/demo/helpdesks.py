"""Demo helpdesk pages: the order card framed the way Zendesk, Kustomer and Gorgias show it.

`GET /demo/helpdesk/<kind>[?ticket=ID]` is a minimal ticket view of that helpdesk with a few
seeded conversations. Each view mints a fresh single-use launch token for the demo agent and
the ticket's requester. The page is served from the *other* loopback name than the card
(`http://localhost:5000` when APP_URL is `http://127.0.0.1:5000`, and the reverse), so the
card is framed cross-origin exactly as a real helpdesk frames it. Zendesk and Kustomer frame
the card in a sidebar; Gorgias shows a widget with the customer's orders and a link that
opens the full card in a new tab.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, redirect, render_template, request
from sqlalchemy import select

from plugin.demo import bp
from plugin.exceptions import SidecardError
from plugin.extensions import db
from plugin.helpdesks import get_adapter
from plugin.launch import mint_launch_token
from plugin.models.helpdesk import HelpdeskConnection
from plugin.models.shop import Shop

log = logging.getLogger("sidecard.demo")

DEMO_ACCOUNT = "sidecard-demo"
# Where each helpdesk shows the card, in the order the demo page lists them.
DEMO_KINDS = ("zendesk", "kustomer", "gorgias")
TITLES = {"zendesk": "Zendesk", "kustomer": "Kustomer", "gorgias": "Gorgias"}
# Sidebar widths the helpdesks give apps (Zendesk's app tray is 320 px; Kustomer's
# insights panel is a little wider).
FRAME_WIDTHS = {"zendesk": 320, "kustomer": 360}
LOOPBACK_TWINS = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
LAUNCH_TTL_SECONDS = 300


@dataclass(frozen=True)
class DemoAgent:
    """The support agent the demo helpdesks sign in."""

    id: str
    email: str
    name: str


AGENT = DemoAgent(id="demo-agent-dana", email="dana@sidecard-demo.example", name="Dana Agent")


@dataclass(frozen=True)
class Ticket:
    """A seeded conversation: its requester as the helpdesk knows them, and its messages."""

    id: str
    subject: str
    requester_name: str
    email: str | None
    phone: str | None
    messages: tuple[tuple[str, str, str], ...]  # (author, when, text)
    hint: str

    def customer_claim(self) -> dict[str, str]:
        """The `customer` claim of the launch token (what the helpdesk knows)."""
        claim = {"email": self.email, "phone": self.phone, "name": self.requester_name}
        return {k: v for k, v in claim.items() if v}


TICKETS: tuple[Ticket, ...] = (
    Ticket(id="4812", subject="Tracking for my October order?",
           requester_name="Amara Okafor", email="amara.okafor@example.com", phone=None,
           messages=(("Amara Okafor", "2 hours ago",
                      "Hi! I ordered in October and I've lost the tracking email. "
                      "Can you tell me where my parcel is?"),),
           hint="Open the oldest order (#1014) to see its UPS tracking link."),
    Ticket(id="4813", subject="I have two accounts, can you check both?",
           requester_name="Lucía Fernández", email="lucia.f@work.example",
           phone="+13105550144",
           messages=(("Lucía Fernández", "yesterday",
                      "I ordered once with my work email and once with my personal one. "
                      "Could you look at both orders?"),
                     (AGENT.name, "yesterday", "Sure, checking now!")),
           hint="Email and phone find two accounts of one person: the card merges them."),
    Ticket(id="4814", subject="Do you ship to Canada?",
           requester_name="Priya Raman", email="priya.raman@example.com", phone=None,
           messages=(("Priya Raman", "3 days ago",
                      "Before I order: do you ship to Toronto, and how long does it take?"),),
           hint="A customer with no orders yet: the card says so and offers a search."),
    Ticket(id="4815", subject="Please cancel my last order",
           requester_name="Bo Wang", email="bo.wang@example.com", phone="+14155550123",
           messages=(("Bo Wang", "10 minutes ago",
                      "I ordered the wrong size this morning, please cancel it."),),
           hint="Try the actions on the newest order (cancel, refund, tags)."),
)

_ensure_lock = threading.Lock()


def card_origin() -> str:
    """The card's origin (scheme://host:port of APP_URL)."""
    parts = urlsplit(current_app.config["APP_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def helpdesk_origin() -> str:
    """The origin the demo helpdesk pages are served from: the other loopback name.

    With a non-loopback APP_URL (a tunnel) there is no second name; the pages then share
    the card's origin.
    """
    parts = urlsplit(current_app.config["APP_URL"])
    twin = LOOPBACK_TWINS.get(parts.hostname or "")
    if twin is None:
        return card_origin()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{twin}{port}"


def _request_origin() -> str:
    return request.host_url.rstrip("/")


def demo_shop() -> Shop:
    """The installed demo shop (installed through the sandbox now if it is not).

    :raises SidecardError: the install failed.
    """
    from plugin.sandbox.demo import demo_install_current, install_demo_shop

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    domain = app.config.get("DEMO_SHOP") or "sidecard-demo.myshopify.com"
    if not demo_install_current(app, domain):
        return install_demo_shop(app, domain)
    return db.session.execute(select(Shop).filter_by(domain=domain)).scalar_one()


def ensure_demo_connections(shop: Shop) -> dict[str, HelpdeskConnection]:
    """One demo connection per helpdesk kind for the shop, framed by the helpdesk origin.

    Created on first use, and their frame origins brought up to date when APP_URL changed.
    """
    origins = [helpdesk_origin()]
    found: dict[str, HelpdeskConnection] = {}
    with _ensure_lock:  # two first page views must not create two connections of a kind
        for kind in DEMO_KINDS:
            connection = db.session.execute(
                select(HelpdeskConnection)
                .where(HelpdeskConnection.shop_id == shop.id,
                       HelpdeskConnection.kind == kind,
                       HelpdeskConnection.account == DEMO_ACCOUNT)
                .order_by(HelpdeskConnection.id)).scalars().first()
            if connection is None:
                from plugin.models.helpdesk import new_signing_secret

                connection = HelpdeskConnection(
                    shop_id=shop.id, kind=kind,
                    account=get_adapter(kind).normalize_account(DEMO_ACCOUNT),
                    frame_origins=origins)
                connection.signing_secret = new_signing_secret()
                db.session.add(connection)
                log.info("demo connection created kind=%s", kind)
            elif list(connection.frame_origins or []) != origins:
                connection.frame_origins = origins
            connection.disabled_at = None
            found[kind] = connection
        db.session.commit()
    return found


def _ticket(ticket_id: str | None) -> Ticket:
    if not ticket_id:
        return TICKETS[0]
    for ticket in TICKETS:
        if ticket.id == ticket_id:
            return ticket
    abort(404, "No such demo ticket.")


def launch_url(connection: HelpdeskConnection, ticket: Ticket) -> str:
    """The card URL with a fresh single-use launch token for the demo agent and ticket."""
    token = mint_launch_token(connection, agent_id=AGENT.id, email=AGENT.email,
                              name=AGENT.name, conversation=ticket.id,
                              customer=ticket.customer_claim(),
                              ttl_seconds=LAUNCH_TTL_SECONDS)
    card_url = get_adapter(connection.kind).card_url(current_app.config["APP_URL"])
    return f"{card_url}?{urlencode({'launch_token': token})}"


def _widget(shop: Shop, ticket: Ticket) -> dict[str, Any]:
    """What the Gorgias widget lists: the requester's customers and recent orders."""
    from plugin.card_data import launch_card

    try:
        result = launch_card(shop, email=ticket.email, phone=ticket.phone)
    except SidecardError as exc:  # Shopify down (the fault buttons) or no usable contact
        db.session.rollback()
        return {"error": exc.message, "customers": [], "orders": []}
    card = result.get("card") or {}
    return {"error": None, "customers": card.get("customers") or [],
            "match_count": len((result.get("found") or {}).get("customers") or []),
            "orders": list(card.get("orders") or [])[:5]}


def _notes(kind: str, ticket: Ticket) -> list[Any]:
    """Notes Sidecard left on this ticket in the helpdesk stand-in (newest last)."""
    from plugin.helpdesks.base import SANDBOX_KEY

    stand_in = current_app.extensions.get(SANDBOX_KEY)
    if stand_in is None or not hasattr(stand_in, "notes_for"):
        return []
    try:
        return list(stand_in.notes_for(kind=kind, account=DEMO_ACCOUNT,
                                       conversation=ticket.id))
    except Exception:  # the stand-in is optional; the page must render without it
        log.warning("demo notes unavailable", exc_info=True)
        return []


@bp.get("/demo/helpdesk/<kind>")
def helpdesk_page(kind: str):
    """A ticket view of a helpdesk with the card where that helpdesk shows it.

    Reached on the card's own origin, it redirects to the helpdesk origin (the other
    loopback name) so that the framing is cross-origin.

    :raise 404: unknown helpdesk or ticket.
    """
    if kind not in DEMO_KINDS:
        abort(404, "No such demo helpdesk.")
    target = helpdesk_origin()
    if _request_origin() == card_origin() and target != card_origin():
        return redirect(target + request.full_path.rstrip("?"), code=302)
    ticket = _ticket(request.args.get("ticket"))
    try:
        shop = demo_shop()
        connection = ensure_demo_connections(shop)[kind]
    except SidecardError as exc:
        db.session.rollback()
        log.warning("demo helpdesk page could not install the demo shop: %s", exc.code)
        return render_template("demo/helpdesk_unavailable.html", kind=kind,
                               title=TITLES[kind], message=exc.message), 503
    context: dict[str, Any] = {
        "kind": kind, "title": TITLES[kind], "ticket": ticket, "tickets": TICKETS,
        "agent": AGENT, "card_url": launch_url(connection, ticket),
        "frame_width": FRAME_WIDTHS.get(kind), "shop_domain": shop.domain,
        "connection_id": connection.public_id, "helpdesk_origin": target,
        "card_origin": card_origin(), "on_helpdesk_origin": _request_origin() == target,
        "notes": _notes(kind, ticket), "kinds": DEMO_KINDS, "titles": TITLES,
    }
    if kind == "gorgias":
        context["widget"] = _widget(shop, ticket)
    return render_template(f"demo/helpdesk_{kind}.html", **context)
