"""The patch-id-token page reloads only to a path on this app, however the target is spelled."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from install_data import SHOP


@pytest.mark.parametrize("target", ["/\t/evil.com/", "/\n/evil.com/", "/\r\n/evil.com/",
                                    "/ /evil.com/", "/\x00/evil.com/", "/\x7f/evil.com/"])
def test_reload_target_with_control_characters_is_refused(client, target):
    """Tabs and newlines vanish when a browser parses a URL ("/\\t/x" → "//x"): 400."""
    response = client.get("/auth/patch-id-token?" + urlencode(
        {"shop": SHOP, "shopify-reload": target}))
    assert response.status_code == 400


def test_reload_target_on_this_app_is_served(client):
    """A plain path with an encoded query is still fine."""
    response = client.get("/auth/patch-id-token?" + urlencode(
        {"shop": SHOP, "shopify-reload": "/?shop=" + SHOP + "&embedded=1&x=a%20b"}))
    assert response.status_code == 200
