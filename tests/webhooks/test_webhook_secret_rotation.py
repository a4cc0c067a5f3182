"""During an API secret rotation, deliveries signed with the old secret still verify."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config():
    """The app is mid-rotation: a new secret and the previous one."""
    return {"SHOPIFY_API_SECRET": "new-secret", "SHOPIFY_OLD_API_SECRET": "old-secret"}


@pytest.mark.parametrize("secret, status", [("new-secret", 200), ("old-secret", 200),
                                            ("other-secret", 401)])
def test_current_and_previous_secret_verify(app, send_webhook, secret, status):
    """Current and previous secrets verify; any other is refused."""
    assert send_webhook("app/uninstalled", secret=secret).status_code == status
