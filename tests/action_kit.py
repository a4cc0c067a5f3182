"""Helpers for the action service, action API, approval and audit tests (a uniquely named
module, imported by tests/actions/test_service_*.py and tests/api/test_{actions_api,
approvals,audit}.py).

The Shopify side is the sandbox store in-process (card_fixtures' `store` and `shop`), the
helpdesk side the notes stand-in. `ShopifyHooks` wraps the sandbox to simulate what happens
between Sidecard's calls (another change to the order) or a lost answer (Shopify acted, the
response failed) — the sandbox's own rules decide everything else.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import card_fixtures
import pytest
from card_fixtures import SHOP
from factories import bearer, make_connection

from plugin.extensions import db
from plugin.launch import Agent, LaunchContext
from plugin.models import ActionRequest, ApprovalRequest, AuditEvent
from plugin.permissions import store_permissions
from plugin.sandbox.helpdesk import HelpdeskStandIn
from plugin.sessions import issue_session
from plugin.shopify.transport import EXTENSION_KEY

store, shop = card_fixtures.store, card_fixtures.shop

__all__ = ["CONTRACT_EXAMPLE", "PERMISSIONS", "SHOP", "ShopifyHooks", "act",
           "action_requests", "approvals", "audit_events", "connection", "hooks",
           "operations", "paid_order", "preview", "session_for", "shop", "stand_in", "store",
           "use_permissions"]

# CONTRACT §5's example. Its first set matches every @example.com address, so the lead
# would get Tier 1: the first matching set wins. The tests' PERMISSIONS put Leads first.
CONTRACT_EXAMPLE: dict[str, Any] = {
    "enabled_actions": ["refund", "cancel", "update_shipping_address", "edit_tags", "edit_note"],
    "default": "Tier 1",
    "permission_sets": [
        {"name": "Tier 1", "actions": ["refund", "cancel", "update_shipping_address",
                                       "edit_tags", "edit_note"],
         "refund_limit": "50.00", "request_approval_above_limit": True, "can_approve": False,
         "agents": ["*@example.com"]},
        {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
         "agents": ["lead@example.com"]},
    ],
}


PERMISSIONS: dict[str, Any] = {
    "enabled_actions": CONTRACT_EXAMPLE["enabled_actions"],
    "default": "Tier 1",
    "permission_sets": [CONTRACT_EXAMPLE["permission_sets"][1],
                        CONTRACT_EXAMPLE["permission_sets"][0]],
}


@pytest.fixture
def stand_in() -> HelpdeskStandIn:
    """The helpdesk stand-in that receives the conversation notes."""
    return HelpdeskStandIn()


@pytest.fixture
def app_config(stand_in):
    """Notes go to the stand-in."""
    return {"HELPDESK_SANDBOX": stand_in}


@pytest.fixture
def connection(shop):
    """A Zendesk connection of the `acme` shop with an API token for notes."""
    return make_connection(shop, kind="zendesk", account="acme", api_token="zd-oauth-token")


@pytest.fixture
def lead(connection, shop):
    """A lead under the contract's example permissions: every action, no limit, can
    approve; verified."""
    use_permissions(shop)
    return session_for(connection, "lead@example.com", identity="verified")


def session_for(connection, email: str = "agent@example.com", *,
                identity: str = "asserted", name: str | None = None,
                conversation: str | None = "1001") -> str:
    """A session token for an agent of the connection (identity as given)."""
    ctx = LaunchContext(connection=connection, shop=connection.shop,
                        agent=Agent(id=f"id-{email}", email=email,
                                    name=name or email.split("@")[0].title()),
                        identity=identity, conversation=conversation)
    return issue_session(ctx)[0]


def use_permissions(shop, document: dict[str, Any] | None = None) -> None:
    """Import a permissions document for the shop (PERMISSIONS by default)."""
    store_permissions(shop.id, document or PERMISSIONS)


def paid_order(store, *, price: str = "80.00", quantity: int = 1, shipping: str | None = None,
               **fields: Any):
    """A paid, unfulfilled order of the `acme` shop (one line)."""
    customer = store.add_customer(SHOP, first_name="Bo", last_name="Wang",
                                  email=f"bo{store.next_id('Customer')}@example.net")
    order = store.add_order(SHOP, customer=customer, shipping=shipping,
                            lines=[{"title": "Lamp", "price": price, "quantity": quantity,
                                    "sku": "LAMP-1"}], **fields)
    store.reset()
    return order


def act(client, token: str, order_id: Any, action: str, body: Any, *,
        key: str | None = "key-1", raw: bytes | None = None):
    """POST an action (JSON body, or `raw` bytes) with an Idempotency-Key."""
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    url = f"/api/v1/orders/{order_id}/actions/{action}"
    if raw is not None:
        return client.post(url, data=raw, headers=headers, content_type="application/json")
    return client.post(url, json=body, headers=headers)


def preview(client, token: str, order_id: Any, action: str, body: Any):
    """POST an action's preview."""
    return client.post(f"/api/v1/orders/{order_id}/actions/{action}/preview", json=body,
                       headers=bearer(token))


def audit_events(event: str | None = None) -> list[AuditEvent]:
    """Audit rows, oldest first (of one event kind when given)."""
    db.session.expire_all()
    query = db.select(AuditEvent).order_by(AuditEvent.id)
    if event:
        query = query.where(AuditEvent.event == event)
    return list(db.session.scalars(query))


def action_requests() -> list[ActionRequest]:
    """Idempotency records, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(db.select(ActionRequest).order_by(ActionRequest.id)))


def approvals() -> list[ApprovalRequest]:
    """Approval requests, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(db.select(ApprovalRequest).order_by(ApprovalRequest.id)))


def operations(store) -> dict[str, int]:
    """GraphQL operations the sandbox answered for `acme`, by name."""
    return dict(store.stats(SHOP)["operations"])


class ShopifyHooks:
    """WSGI middleware around the sandbox: run code before an operation reaches it, or answer
    an HTTP error after it ran (Shopify acted, the response was lost)."""

    def __init__(self, inner: Callable) -> None:
        self.inner = inner
        self.before: dict[str, list[Callable[[], None]]] = {}
        self.lose: dict[str, int] = {}

    def before_next(self, operation: str, fn: Callable[[], None]) -> None:
        """Run `fn` once, just before the next `operation` is executed."""
        self.before.setdefault(operation, []).append(fn)

    def lose_response(self, operation: str, times: int = 1) -> None:
        """Execute the next `operation` but answer 502 instead of its result."""
        self.lose[operation] = self.lose.get(operation, 0) + times

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            name = json.loads(raw or b"{}").get("operationName")
        except ValueError:
            name = None
        if name in self.before and self.before[name]:
            self.before[name].pop(0)()
        if self.lose.get(name):
            self.lose[name] -= 1
            body = b"".join(self.inner(environ, lambda *a, **k: None))  # it runs, then is lost
            assert body
            start_response("502 Bad Gateway", [("Content-Type", "application/json")])
            return [b'{"errors":"Bad gateway"}']
        return self.inner(environ, start_response)


@pytest.fixture
def hooks(app, store) -> ShopifyHooks:
    """Wrap the sandbox in `ShopifyHooks` (the pooled client is rebuilt to use it)."""
    wrapper = ShopifyHooks(app.extensions["sandbox_wsgi"])
    app.extensions["sandbox_wsgi"] = wrapper
    app.extensions.pop(EXTENSION_KEY, None)
    return wrapper
