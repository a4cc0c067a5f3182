"""`GET /api/v1/orders/{order_id}`: one order of the session's shop, with its actions."""

from __future__ import annotations

from flask import Response, jsonify

from plugin.actions.service import with_order_actions
from plugin.api import bp
from plugin.api.auth import current_session, require_session
from plugin.card_data import order_detail
from plugin.cards.render import html_response, render_order, wants_html


@bp.get("/orders/<path:order_id>")
@require_session
def get_order(order_id: str) -> Response:
    """The order (numeric id or GID): statuses, line items, fulfillments with tracking,
    addresses, refunds, `admin_url` and `actions` (`available`, and `reason` when not).

    Only the session's shop is ever queried, so another shop's order is simply not found.

    :raise 400: malformed id.
    :raise 401: no valid session.
    :raise 404: no such order in this shop.
    :raise 502/504: Shopify failed or timed out.
    """
    session = current_session()
    order = with_order_actions(session, order_detail(session.shop, order_id))
    if wants_html():
        return html_response(render_order(order))
    return jsonify(order)
