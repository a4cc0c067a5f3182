"""Demo page views: the seeded shop at a glance, the simulated admin link, sandbox stats."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, redirect, render_template, request

from plugin.demo import bp
from plugin.sandbox.models import Order
from plugin.sandbox.store import DEMO_SHOP, SandboxStore

# What each seeded state lets a visitor try in the card (keyed by a derived state).
HINTS = {
    "UNFULFILLED": "Refund part of it, cancel it, edit the address or tags.",
    "PARTIALLY_FULFILLED": "Refund the shipped item with restock; cancel is refused.",
    "FULFILLED": "Refund with restock (RETURN); cancelling is refused.",
    "ON_HOLD": "On hold (address to confirm): fix the shipping address.",
    "PENDING": "Payment pending: refunds are refused until it is paid.",
    "AUTHORIZED": "Authorized only: nothing captured, so nothing to refund.",
    "VOIDED": "Authorization voided: not refundable.",
    "PARTIALLY_PAID": "Deposit paid: refund is bounded by the deposit.",
    "REFUNDED": "Fully refunded: nothing left to refund.",
    "PARTIALLY_REFUNDED": "Refund what remains; the bound shrinks with each refund.",
    "CANCELLED": "Cancelled: only notes and tags can still change.",
    "RETURN": "Open return: cancelling is refused.",
}

BADGE_TONES = {
    "PAID": "neutral", "PARTIALLY_PAID": "warning", "PENDING": "attention",
    "AUTHORIZED": "attention", "VOIDED": "neutral", "REFUNDED": "neutral",
    "PARTIALLY_REFUNDED": "info", "UNFULFILLED": "attention", "PARTIALLY_FULFILLED": "warning",
    "FULFILLED": "neutral", "ON_HOLD": "attention", "RESTOCKED": "neutral",
    "CANCELLED": "critical", "IN_PROGRESS": "info", "RETURN_REQUESTED": "info",
}


def _store() -> SandboxStore:
    store = current_app.extensions.get("sandbox_store")
    if store is None:
        abort(404)
    return store


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _order_row(store: SandboxStore, order: Order) -> dict[str, Any]:
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    badges = [(_label(order.financial_status), BADGE_TONES.get(order.financial_status, "neutral")),
              (_label(order.fulfillment_status),
               BADGE_TONES.get(order.fulfillment_status, "neutral"))]
    if order.cancelled_at:
        badges.insert(0, ("Cancelled", "critical"))
    if order.return_status != "NO_RETURN":
        badges.append((_label(order.return_status), BADGE_TONES.get(order.return_status, "info")))
    if order.cancelled_at:
        hint = HINTS["CANCELLED"]
    elif order.has_active_return():
        hint = HINTS["RETURN"]
    elif order.financial_status in {"PENDING", "AUTHORIZED", "VOIDED", "PARTIALLY_PAID",
                                    "REFUNDED", "PARTIALLY_REFUNDED"}:
        hint = HINTS[order.financial_status]
    else:
        hint = HINTS.get(order.fulfillment_status, "")
    age = (store.now() - order.created_at).days
    if age > 60:
        hint = f"Placed {age} days ago (older than 60 days: read_all_orders). " + hint
    if order.presentment_currency != order.currency:
        hint = f"Paid in {order.presentment_currency}. " + hint
    return {"name": order.name, "id": order.id,
            "customer": customer.display_name if customer else f"Guest ({order.email})",
            "total": f"{order.total_price:.2f} {order.presentment_currency}",
            "badges": badges, "hint": hint, "created": order.created_at.strftime("%b %d, %Y")}


def _customer_rows(store: SandboxStore, shop: str) -> list[dict[str, Any]]:
    rows = []
    customers = sorted(store.shop_customers(shop), key=lambda c: c.id)
    for customer in customers:
        notes = []
        twins = [c for c in customers if c is not customer
                 and c.display_name == customer.display_name]
        if twins:
            notes.append("same person, second account: " + ", ".join(
                c.email or c.phone or "" for c in twins))
        if not store.customer_orders(customer):
            notes.append("no orders")
        rows.append({"name": customer.display_name, "email": customer.email,
                     "phone": customer.phone, "orders": len(store.customer_orders(customer)),
                     "tags": ", ".join(customer.tags), "notes": "; ".join(notes)})
    return rows


def _install_state(store: SandboxStore) -> dict[str, Any]:
    """Whether the demo shop is installed with a token this store knows."""
    from plugin.sandbox.demo import demo_install_current

    try:
        current = demo_install_current(current_app._get_current_object())  # type: ignore[attr-defined]
    except Exception:  # a database that is not migrated yet must not break the page
        from plugin.extensions import db

        db.session.rollback()
        return {"installed": False, "error": "database not ready (run the migrations)"}
    return {"installed": current, "error": None}


def render_demo_index() -> str:
    """The demo page as HTML (also used by `/` in demo mode)."""
    store = _store()
    shop = store.shop(DEMO_SHOP) or next(iter(store.shops.values()))
    orders = sorted(store.shop_orders(shop.domain), key=lambda o: o.number)
    others = [{"domain": s.domain, "name": s.name, "currency": s.currency,
               "orders": len(store.shop_orders(s.domain)),
               "customers": len(store.shop_customers(s.domain))}
              for s in store.shops.values() if s.domain != shop.domain]
    stats = store.stats()
    return render_template(
        "demo/index.html", shop=shop, orders=[_order_row(store, o) for o in orders],
        customers=_customer_rows(store, shop.domain), other_shops=others,
        stats=stats, faults=[f.to_dict() for f in store.faults],
        install=_install_state(store), api_version=store.api_version,
        unmodelled=sorted(store.unmodelled_fields)[:20],
        control_base=request.script_root + "/_sandbox/_control")


@bp.get("/demo")
def index() -> str:
    """The demo page."""
    return render_demo_index()


@bp.get("/demo/open")
def open_in_admin():
    """Open Sidecard like the Shopify admin does: `/` with signed app-load params and id token.

    :raise 404: the shop is not in the sandbox.
    """
    store = _store()
    shop = request.args.get("shop", DEMO_SHOP)
    if store.shop(shop) is None:
        abort(404, "No such shop in the sandbox store.")
    return redirect(request.script_root + "/?" + urlencode(store.app_load_params(shop)))
