"""`GET/POST /cards/<kind>`: verify the launch, open a session, find the customer and render
the whole card in one response. No cookie; framed only by the connection's helpdesk."""

from __future__ import annotations

import logging
import re
from typing import Any

import jwt
from flask import Response, abort, current_app, g, render_template, request

from plugin.card_data import customer_card, launch_card, order_detail
from plugin.cards import bp
from plugin.cards.render import CARD_CSP, launch_state, render_card, render_launch
from plugin.exceptions import (
    AuthenticationError,
    NotFoundError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyTimeoutError,
    ShopNotInstalledError,
    ValidationError,
)
from plugin.helpdesks import get_adapter
from plugin.launch import LaunchContext, find_connection, verify_launch_token
from plugin.models.helpdesk import KINDS
from plugin.security import allow_framing
from plugin.sessions import decode_session, issue_session

log = logging.getLogger("sidecard.cards")

REOPEN_HINT = {
    "zendesk": "Reopen the ticket, or reload the Sidecard app in the ticket sidebar.",
    "kustomer": "Reopen the conversation, or reload the Sidecard card in the insights panel.",
    "gorgias": "Go back to the ticket and open the order card again from the Sidecard widget.",
    "api": "Ask for a fresh launch token and open the card again.",
}

# `order`: a Shopify order id, or its GID; nothing else is looked up.
ORDER_PARAM_RE = re.compile(r"[1-9][0-9]{0,19}|gid://shopify/Order/[1-9][0-9]{0,19}")
NOTICE_MALFORMED_ORDER = "That order link is malformed"
NOTICE_ORDER_NOT_FOUND = "Order not found"
NOTICE_GUEST_ORDER = ("That order was placed without a customer account; search for the buyer "
                      "by email or phone instead")


@bp.route("/cards/<kind>", methods=["GET", "POST"])
def card(kind: str) -> Response:
    """The whole card for the launch token's requester (GET `?launch_token=` or POST form).

    With `order` (numeric id or `gid://shopify/Order/N`, query or form) the card opens on
    that order of the session's shop: its customer's card with it expanded. A malformed or
    unknown order shows the requester's card with a notice saying so.

    :raise 404: unknown helpdesk kind.
    :raise 401: bad, expired or reused launch token, or the shop uninstalled Sidecard
        (an HTML page that says what to do).
    """
    if kind not in KINDS:
        abort(404, "No such card.")
    try:
        ctx = _verify(kind)
    except ShopNotInstalledError:
        return _error_page(kind, 401, "Sidecard is not installed on this shop",
                           "The shop has uninstalled Sidecard, so its orders can't be shown. "
                           "Ask the store owner to reinstall it from the Shopify admin.")
    except AuthenticationError as exc:
        reason = exc.extra.get("reason")
        if reason == "reused":
            title = "This card link was already used"
        elif reason == "expired":
            title = "This card link has expired"
        else:
            title = "This card link isn't valid"
        return _error_page(kind, 401, title, REOPEN_HINT[kind]
                           + " Card links work once and only for a few minutes.")
    if ctx.connection.kind != kind:
        return _error_page(kind, 400, "This card link is for another helpdesk",
                           f"The link was made for a {ctx.connection.kind} connection; open "
                           f"/cards/{ctx.connection.kind} instead.", connection=ctx.connection)

    token, expires_in = issue_session(ctx)
    g.agent_session = decode_session(token)  # the card shows the actions this agent may use
    requester = {k: ctx.customer.get(k) for k in ("email", "phone", "name")}
    page: dict[str, Any] = {"state": "empty", "body": None, "problem": None, "notice": None}
    status = 200
    try:
        page.update(_order_body(ctx, request.values.get("order")) or {})
        if page["body"] is None:
            page.update(_initial_body(ctx, requester))
    except ShopNotInstalledError:
        status = 401
        page["problem"] = {"title": "Sidecard is not installed on this shop",
                           "message": "Shopify no longer accepts Sidecard for this shop. Ask "
                                      "the store owner to reinstall it.", "retry": False}
    except ShopifyAuthError:
        status = 502
        page["problem"] = {"title": "Shopify refused Sidecard's access",
                           "message": "The app may have been uninstalled or its access "
                                      "revoked. Ask the store owner to open Sidecard in the "
                                      "Shopify admin.", "retry": True}
    except ShopifyError as exc:
        status = 504 if isinstance(exc, ShopifyTimeoutError) else 502
        log.warning("card shopify failure shop=%s code=%s", ctx.shop.domain, exc.code)
        page["problem"] = {"title": "Shopify isn't answering right now",
                           "message": "The customer's orders couldn't be loaded. This is "
                                      "usually brief: try again in a moment.", "retry": True}

    boot = {"token": token, "expires_in": expires_in, "kind": kind, "shop": ctx.shop.domain,
            "requester": {k: v for k, v in requester.items() if v and k != "name"},
            "reopen_hint": REOPEN_HINT[kind]}
    html = render_template("cards/card.html", boot=boot, requester=requester,
                           shop_domain=ctx.shop.domain, kind=kind, **page)
    allow_framing(get_adapter(kind).frame_origins(ctx.connection))
    return _page_response(html, status)


def _verify(kind: str) -> LaunchContext:
    """The launch: our launch token, or (Zendesk) Zendesk's own signed-URL `token`.

    :raises AuthenticationError: none given or it does not verify.
    """
    launch_token = request.values.get("launch_token")
    if launch_token:
        return verify_launch_token(launch_token)
    if kind == "zendesk" and request.method == "POST" and request.form.get("token"):
        from plugin.launch import verify_zendesk_signed_launch

        return verify_zendesk_signed_launch(request.form["token"])
    raise AuthenticationError("no launch token", reason="missing")


def _order_body(ctx: LaunchContext, raw: str | None) -> dict[str, Any] | None:
    """The card opened on the `order` asked for: its customer's card with it expanded; a
    notice instead when the id is malformed or no such order (or customer) is in this shop;
    None when no order was asked for. At most one Shopify request each for the order and
    the card, none when both are cached.

    :raises ShopifyError: Shopify failed (the caller shows it as for any card).
    """
    if raw is None or raw == "":
        return None
    if not ORDER_PARAM_RE.fullmatch(raw):  # fullmatch: no trailing newline
        return {"notice": NOTICE_MALFORMED_ORDER}
    try:
        # Looked up with the session shop's own client: another shop's order is not found.
        order = order_detail(ctx.shop, raw)
        customer_id = (order.get("customer") or {}).get("id") or order.get("customer_id")
        if not customer_id:
            return {"notice": NOTICE_GUEST_ORDER}
        card = customer_card(ctx.shop, customer_id)
    except (NotFoundError, ValidationError):
        log.info("card order not found shop=%s", ctx.shop.domain)
        return {"notice": NOTICE_ORDER_NOT_FOUND}
    return {"state": "card", "body": render_card(card, open_order=order)}


def _initial_body(ctx: LaunchContext, requester: dict[str, Any]) -> dict[str, Any]:
    """What the card opens with: the requester's card, a chooser, or a prompt to search."""
    if not requester.get("email") and not requester.get("phone"):
        return {"state": "no_requester"}
    try:
        result = launch_card(ctx.shop, email=requester.get("email"),
                             phone=requester.get("phone"))
    except ValidationError:  # nothing Shopify could be searched by
        return {"state": "no_requester"}
    searched = {k: v for k, v in requester.items() if v and k != "name"}
    return {"state": launch_state(result), "body": render_launch(result, searched)}


def _error_page(kind: str, status: int, title: str, message: str,
                connection: Any = None) -> Response:
    """An HTML error page the helpdesk can show in its frame (it holds nothing secret)."""
    if connection is None:
        connection = _claimed_connection()
    if connection is not None and connection.kind == kind:
        allow_framing(get_adapter(kind).frame_origins(connection))
    html = render_template("cards/error.html", title=title, message=message, status=status,
                           kind=kind)
    return _page_response(html, status)


def _claimed_connection() -> Any:
    """The connection a (failed) launch token names, so its frame can show our error."""
    token = request.values.get("launch_token")
    if not token or len(token) > 8192:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return find_connection(claims.get("iss"))


def _page_response(html: str, status: int) -> Response:
    """Card pages: never cached, no referrer (the launch token is in the URL), own CSP."""
    response = current_app.response_class(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = CARD_CSP
    return response
