"""Rendering the card and its partials, shared by the card page and the API's HTML answers.

Views hand these functions the services' view-models; nothing here talks to Shopify.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, render_template, request

# The card page: its own script and styles only; JSON for the script is inert data.
CARD_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'self'")


def wants_html() -> bool:
    """True when the caller (the card's script) asked for an HTML partial, not JSON."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > \
        request.accept_mimetypes["application/json"]


def card_context(card: Mapping[str, Any], *, matched_by: Mapping[str, list[str]] | None = None,
                 open_order_id: str | None = None,
                 open_order: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Template context for a card: accounts marked, newest order expanded with actions.

    `open_order` (an `order_detail` answer) is expanded in full instead; when it is not on
    this page of orders it is shown first, so a link to an older order still opens on it.
    """
    customers = [dict(c, matched_by=(matched_by or {}).get(c["id"], c.get("matched_by", [])))
                 for c in card["customers"]]
    account_index = {c["id"]: n for n, c in enumerate(customers, start=1)}
    latest = order_with_actions(card.get("latest_order"))
    opened = None
    if open_order is not None:
        opened = order_with_actions(open_order)
        open_order_id = opened["id"]
        if all(row.get("id") != open_order_id for row in card.get("orders") or []):
            card = {**card, "orders": [opened, *(card.get("orders") or [])]}
    return {"card": card, "customers": customers, "merged": card.get("merged", False),
            "account_index": account_index, "latest": latest, "opened": opened,
            "open_order_id": open_order_id or (latest["id"] if latest else None),
            "more_url": more_orders_url(card)}


def order_with_actions(order: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The order with the session agent's `actions` (availability and permissions applied);
    without a session in `g.agent_session` nobody may act, so the list is empty."""
    session = g.get("agent_session")
    if order is None:
        return None
    if session is None:
        return {**order, "actions": []}
    from plugin.actions.service import with_order_actions

    return with_order_actions(session, order)


def more_orders_url(card: Mapping[str, Any]) -> str | None:
    """The API URL of the card's next page of orders, or None on the last page."""
    info = card.get("page_info") or {}
    if not info.get("has_next_page") or not info.get("end_cursor"):
        return None
    ids = [c["id"] for c in card["customers"]]
    params = {"after": info["end_cursor"]}
    if len(ids) > 1:
        params["also"] = ids[1]
    return f"/api/v1/customers/{ids[0]}?{urlencode(params)}"


def render_card(card: Mapping[str, Any], **kwargs: Any) -> str:
    """The card partial: customer header(s), orders, newest order expanded."""
    return render_template("cards/_card.html", **card_context(card, **kwargs))


def render_more_orders(card: Mapping[str, Any]) -> str:
    """A further page of order rows and the next "Load more orders" button."""
    context = card_context(card)
    context["open_order_id"] = None
    return render_template("cards/_order_rows.html", **context)


def render_order(order: Mapping[str, Any]) -> str:
    """One order's expanded detail, with its actions (kept when the caller computed them)."""
    return render_template("cards/_order_detail.html",
                           order=order if "actions" in order else order_with_actions(order))


def render_chooser(found: Mapping[str, Any]) -> str:
    """Several customers matched: the agent picks one."""
    return render_template("cards/_chooser.html", found=found)


def render_no_match(searched: Mapping[str, Any]) -> str:
    """Nothing matched: say what was searched and what to try."""
    return render_template("cards/_no_match.html", searched=searched)


def html_response(html: str, status: int = 200) -> Response:
    """An HTML partial for the card's script (never cached)."""
    response = current_app.response_class(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def render_search_result(shop: Any, found: Mapping[str, Any],
                         searched: Mapping[str, Any]) -> str:
    """What a search shows: the card (one customer, or one person's two accounts merged),
    a chooser when several match, or a helpful "nothing found"."""
    from plugin.card_data import customer_card

    customers = found["customers"]
    if not customers:
        return render_no_match(searched)
    if len(customers) == 1 or found.get("merged"):
        ids = [c["id"] for c in customers]
        card = customer_card(shop, ids[0], also=ids[1] if len(ids) > 1 else None)
        return render_card(card, matched_by={c["id"]: c["matched_by"] for c in customers},
                           open_order_id=found.get("matched_order_id"))
    return render_chooser(found)


def launch_state(result: Mapping[str, Any]) -> str:
    """`card`, `chooser` or `none`, for a `launch_card` result."""
    if result["card"] is not None:
        return "card"
    return "chooser" if result["found"]["customers"] else "none"


def render_launch(result: Mapping[str, Any], searched: Mapping[str, Any]) -> str:
    """What a requester lookup shows: their card, a chooser, or "nothing found"."""
    found, card = result["found"], result["card"]
    if card is not None:
        return render_card(card, matched_by={c["id"]: c["matched_by"]
                                             for c in found["customers"]})
    if found["customers"]:
        return render_chooser(found)
    return render_no_match(searched)
