"""The base class every card action implements (STYLE §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar


@dataclass
class Availability:
    """Whether an action can run on an order, and why not."""

    available: bool
    reason: str | None = None


@dataclass
class ActionResult:
    """What `perform` returns: Shopify's answer, boiled down for the audit and the note."""

    # Presented order after the action (the card's order view-model), when re-read.
    order: dict[str, Any] | None = None
    # Facts for the summary and audit (refund id, amount, cancel job id, ...).
    details: dict[str, Any] = field(default_factory=dict)
    # Shopify's X-Request-Id of the mutation, for the audit trail.
    shopify_request_id: str | None = None


class Action:
    """One card action.

    Subclasses set the class attributes and implement the methods. `order` arguments are the
    card's presented order (`plugin.card_data.present.order_detail_vm`), read fresh from
    Shopify by the service before any check that decides what Shopify will be asked to do.
    `body` is the validated body returned by `validate`.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    order: ClassVar[int] = 100  # position on the card
    scopes: ClassVar[frozenset[str]] = frozenset({"write_orders"})
    # True when `amount()` counts against the agent's refund limit.
    monetary: ClassVar[bool] = False

    def validate(self, body: Any) -> dict[str, Any]:
        """Typed, explicit input; returns the normalised body.

        :raises ValidationError: missing or ill-typed fields (400).
        """
        raise NotImplementedError

    def availability(self, order: Mapping[str, Any]) -> Availability:
        """Whether the order's state allows this action, with the reason when not."""
        raise NotImplementedError

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Checks of the body against the live order (quantities, amounts) before Shopify.

        :raises ValidationError: the body asks for something the order cannot give (400).
        :raises ActionUnavailableError: the order no longer allows the action (409).
        """

    def amount(self, order: Mapping[str, Any], body: Mapping[str, Any],
               preview: Mapping[str, Any] | None = None) -> Decimal | None:
        """Money that counts against `refund_limit` (None when not monetary)."""
        return None

    def preview(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """What the action would do, changing nothing."""
        raise NotImplementedError

    def perform(self, client, order: Mapping[str, Any], body: Mapping[str, Any], *,
                idempotency_key: str) -> ActionResult:
        """Run the action on Shopify.

        :raises ShopifyUserError: Shopify refused (422).
        """
        raise NotImplementedError

    def summary(self, order: Mapping[str, Any], body: Mapping[str, Any],
                result: ActionResult | None, agent: Mapping[str, Any]) -> str:
        """The one-line note: who, what, which order, amounts."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# Summary helpers shared by the actions (added by the actions helper).


def agent_label(agent: Mapping[str, Any] | None) -> str:
    """`Dana (dana@x.com)`; the email alone, or "An agent", when that is all there is."""
    agent = agent or {}
    name, email = agent.get("name"), agent.get("email")
    if name and email:
        return f"{name} ({email})"
    return str(name or email or "An agent")


def money_text(amount: Decimal | str | None, currency: str | None) -> str:
    """`$25.00 USD` (symbol when known, always the code: notes are read across shops)."""
    from plugin.cards.formatting import CURRENCY_SYMBOLS, format_money

    if amount is None:
        return "an unknown amount"
    currency = currency or ""
    text = format_money({"amount": str(amount), "currency": currency})
    return f"{text} {currency}" if currency in CURRENCY_SYMBOLS else text


def order_label(order: Mapping[str, Any]) -> str:
    """`order #1004` (the order's name, else its id)."""
    return f"order {order.get('name') or '#' + str(order.get('id') or '?')}"
