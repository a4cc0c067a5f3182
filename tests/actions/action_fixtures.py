"""Fixtures for the action tests: the sandbox store in-process (card_fixtures' `store` and
`shop`), a ShopifyClient for the installed shop, and helpers that read the presented order
the way the service does and run an action's steps in the service's order."""

from __future__ import annotations

from typing import Any

import card_fixtures
import pytest
from card_fixtures import SHOP, calls

from plugin.actions import get_action
from plugin.actions.base import ActionResult
from plugin.card_data.present import order_detail_vm
from plugin.shopify.client import client_for_shop

store, shop = card_fixtures.store, card_fixtures.shop

AGENT = {"id": "42", "email": "dana@x.com", "name": "Dana", "identity": "verified"}

__all__ = ["AGENT", "SHOP", "calls", "fresh_order", "run", "shop", "shopify", "store"]


@pytest.fixture
def shopify(shop):
    """A ShopifyClient for the installed `acme` shop (token issued by the sandbox)."""
    return client_for_shop(shop)


def fresh_order(client, order) -> dict[str, Any]:
    """The presented order, read from Shopify now (as the service does before acting)."""
    node = client.execute("OrderDetail", {"id": f"gid://shopify/Order/{order.id}"}).data["order"]
    return order_detail_vm(node, SHOP)


def run(name: str, client, order, body: Any, *, key: str = "key-1", action=None
        ) -> tuple[dict[str, Any], dict[str, Any], ActionResult]:
    """validate → availability/check → preview → perform; returns (presented order,
    preview, result)."""
    action = action or get_action(name)
    clean = action.validate(body)
    presented = fresh_order(client, order)
    action.check(presented, clean)
    preview = action.preview(client, presented, clean)
    result = action.perform(client, presented, clean, idempotency_key=key)
    return presented, preview, result
