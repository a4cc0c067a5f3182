"""`GET /api/v1/customers`: find customers; `GET /api/v1/customers/{id}`: one customer's card.

JSON by default; the card's script asks for `text/html` and gets the same server-rendered
partials the card page uses.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from plugin.api import bp
from plugin.api.auth import current_session, require_session
from plugin.card_data import customer_card, find_customers, launch_card
from plugin.card_data.matching import MAX_PHONE_LENGTH
from plugin.cards.render import (
    html_response,
    order_with_actions,
    render_card,
    render_launch,
    render_more_orders,
    render_search_result,
    wants_html,
)
from plugin.exceptions import ValidationError


@bp.get("/customers")
@require_session
def list_customers() -> Response:
    """Customers matching `email` and/or `phone` (a ticket's requester), or the search `q`
    (order number, email, phone or name), each with `matched_by` and `recent_orders`.

    :raise 400: nothing to search, `q` empty or over 200 characters, or unreadable input.
    :raise 401: no valid session.
    :raise 502/504: Shopify failed or timed out.
    """
    email, phone, q = (request.args.get(k) for k in ("email", "phone", "q"))
    if q is not None and (email or phone):
        raise ValidationError("Search with `q` alone, or with `email`/`phone`.")
    if q is None and not email and not phone:
        raise ValidationError("Give `email`, `phone` or a search `q`.")
    if phone and len(phone) > MAX_PHONE_LENGTH:
        raise ValidationError("That does not look like a phone number.")
    shop = current_session().shop
    if wants_html():
        if q is None:  # the card's requester (retry): the same one-request lookup as a launch
            result = launch_card(shop, email=email, phone=phone)
            return html_response(render_launch(result, {"email": email, "phone": phone}))
        return html_response(render_search_result(shop, find_customers(shop, q=q), {"q": q}))
    return jsonify(find_customers(shop, email=email, phone=phone, q=q))


@bp.get("/customers/<path:customer_id>")
@require_session
def get_customer(customer_id: str) -> Response:
    """One customer's card: header, a page of orders newest first (`after` for the next),
    the newest order in full with its actions; `also` merges a second account.

    :raise 400: malformed id or cursor.
    :raise 401: no valid session.
    :raise 404: no such customer in the session's shop.
    :raise 502/504: Shopify failed or timed out.
    """
    after = request.args.get("after") or None
    card = customer_card(current_session().shop, customer_id, after,
                         also=request.args.get("also") or None)
    if wants_html():
        return html_response(render_more_orders(card) if after else render_card(card))
    return jsonify({**card, "customer": card["customers"][0],
                    "latest_order": order_with_actions(card["latest_order"])})
