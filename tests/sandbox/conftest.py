"""Sandbox fixtures: a store, its WSGI app behind an httpx client, a paid order."""

from __future__ import annotations

import pytest
from sandbox_kit import Sandbox

from plugin.sandbox import SandboxStore


@pytest.fixture
def store() -> SandboxStore:
    """An empty store hosting the demo shop (USD)."""
    return SandboxStore.empty()


@pytest.fixture
def sandbox(store: SandboxStore) -> Sandbox:
    """The store behind its WSGI app, with a valid token."""
    return Sandbox(store)


@pytest.fixture
def seeded() -> Sandbox:
    """The seed.json store behind its WSGI app."""
    return Sandbox(SandboxStore.seeded())


@pytest.fixture
def paid_order(store: SandboxStore):
    """A paid, unfulfilled order: 2 × $25 mugs and a $40 lamp, 10 % tax, $10 shipping."""
    customer = store.add_customer(first_name="Ada", last_name="Byron",
                                  email="ada@example.com", phone="+14155550100")
    return store.add_order(customer=customer, tax_rate="0.10", shipping="10.00", lines=[
        {"title": "Mug", "price": "25.00", "quantity": 2, "sku": "MUG"},
        {"title": "Lamp", "price": "40.00", "quantity": 1, "sku": "LAMP"}])
