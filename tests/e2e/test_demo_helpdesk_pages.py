"""The demo helpdesk pages: seeded tickets, demo connections, a fresh launch token per view."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.launch import verify_launch_token
from plugin.models.helpdesk import HelpdeskConnection

HELPDESK = "http://localhost:5000"
CARD = "http://127.0.0.1:5000"
API_SECRET = "shpss_" + "a1b2c3d4e5f60718" * 2


@pytest.fixture
def app_config():
    """Demo mode (the seeded sandbox store) with a long app secret."""
    return {"DEMO_MODE": True, "SHOPIFY_API_SECRET": API_SECRET}


def _get(client, path: str, origin: str = HELPDESK):
    return client.get(path, base_url=origin)


def _card_url(page: str, kind: str) -> str:
    """The card URL the page frames (Zendesk, Kustomer) or links to (Gorgias)."""
    pattern = r'id="sidecard-(?:frame|open)"[^>]*?(?:src|href)="([^"]+)"'
    match = re.search(pattern, page, re.S)
    assert match, f"no card URL on the {kind} page"
    return unescape(match.group(1))


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["launch_token"][0]


def test_on_the_card_origin_the_page_moves_to_the_helpdesk_origin(client):
    """Opened on the card's origin (127.0.0.1) the page redirects to localhost, query kept."""
    response = _get(client, "/demo/helpdesk/zendesk?ticket=4813", CARD)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{HELPDESK}/demo/helpdesk/zendesk?ticket=4813"


@pytest.mark.parametrize(("kind", "width"), [("zendesk", "320"), ("kustomer", "360")])
def test_sidebar_helpdesks_frame_the_card_from_the_card_origin(client, kind, width):
    """Zendesk and Kustomer frame `{APP_URL}/cards/<kind>` in a 320–360 px sidebar iframe."""
    page = _get(client, f"/demo/helpdesk/{kind}?ticket=4812").get_data(as_text=True)
    url = _card_url(page, kind)
    assert url.startswith(f"{CARD}/cards/{kind}?launch_token=")
    assert f'width="{width}"' in page
    assert "Tracking for my October order?" in page and "Amara Okafor" in page


@pytest.mark.parametrize("kind", ["zendesk", "kustomer", "gorgias"])
def test_each_view_mints_a_fresh_token_for_the_agent_ticket_and_requester(app, client, kind):
    """The token names Dana, the ticket as conversation and the requester; it verifies once."""
    first = _token(_card_url(_get(client, f"/demo/helpdesk/{kind}?ticket=4813")
                             .get_data(as_text=True), kind))
    second = _token(_card_url(_get(client, f"/demo/helpdesk/{kind}?ticket=4813")
                              .get_data(as_text=True), kind))
    assert first != second
    ctx = verify_launch_token(first, kind=kind)
    assert ctx.agent.email == "dana@sidecard-demo.example" and ctx.agent.name == "Dana Agent"
    assert ctx.conversation == "4813"
    assert ctx.customer == {"email": "lucia.f@work.example", "phone": "+13105550144",
                            "name": "Lucía Fernández"}
    assert ctx.shop.domain == "sidecard-demo.myshopify.com"
    claims = jwt.decode(first, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] <= 600


def test_demo_connections_exist_once_per_kind_framed_by_the_helpdesk_origin(app, client):
    """Viewing the pages twice leaves one connection per kind, allowing only localhost:5000."""
    for _ in range(2):
        for kind in ("zendesk", "kustomer", "gorgias"):
            assert _get(client, f"/demo/helpdesk/{kind}").status_code == 200
    rows = db.session.execute(select(HelpdeskConnection)).scalars().all()
    assert sorted(r.kind for r in rows) == ["gorgias", "kustomer", "zendesk"]
    assert all(r.frame_origins == [HELPDESK] for r in rows)


def test_the_framed_card_allows_only_the_helpdesk_origin(client):
    """The card opened with the page's token renders and names localhost in frame-ancestors."""
    page = _get(client, "/demo/helpdesk/zendesk?ticket=4812").get_data(as_text=True)
    url = urlsplit(_card_url(page, "zendesk"))
    response = client.get(f"{url.path}?{url.query}", base_url=CARD)
    assert response.status_code == 200
    assert f"frame-ancestors {HELPDESK}" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    assert "Amara Okafor" in response.get_data(as_text=True)


def test_gorgias_widget_lists_orders_and_links_to_the_card_in_a_new_tab(client):
    """No iframe; the widget shows the requester's orders and a target=_blank card link."""
    page = _get(client, "/demo/helpdesk/gorgias?ticket=4812").get_data(as_text=True)
    assert "<iframe" not in page
    assert 'data-widget-order="5812440000014"' in page and "#1014" in page
    assert re.search(r'id="sidecard-open"[^>]*target="_blank"', page)
    assert _card_url(page, "gorgias").startswith(f"{CARD}/cards/gorgias?launch_token=")


def test_a_customer_without_orders_gets_an_empty_widget(client):
    """Priya has no orders: the Gorgias widget says so."""
    page = _get(client, "/demo/helpdesk/gorgias?ticket=4814").get_data(as_text=True)
    assert "Priya Raman" in page and "No orders yet." in page


def test_notes_left_on_the_ticket_are_shown(app, client):
    """A note Sidecard left in the helpdesk stand-in appears under the ticket's messages."""
    from plugin.helpdesks.base import SANDBOX_KEY
    from plugin.sandbox.helpdesk import StoredNote

    stand_in = app.extensions[SANDBOX_KEY]
    stand_in.notes.append(StoredNote(id="1", kind="zendesk", account="sidecard-demo",
                                     conversation="4812", body="Refunded $12.00 on #1014"))
    page = _get(client, "/demo/helpdesk/zendesk?ticket=4812").get_data(as_text=True)
    assert "Refunded $12.00 on #1014" in page


@pytest.mark.parametrize("path", ["/demo/helpdesk/freshdesk", "/demo/helpdesk/zendesk?ticket=1"])
def test_unknown_helpdesk_or_ticket_is_404(client, path):
    """Only the three helpdesks and the seeded tickets exist."""
    assert _get(client, path).status_code == 404


def test_demo_page_links_each_helpdesk(client):
    """/demo links to the Zendesk, Kustomer and Gorgias pages."""
    page = client.get("/demo").get_data(as_text=True)
    for kind in ("zendesk", "kustomer", "gorgias"):
        assert f'href="/demo/helpdesk/{kind}"' in page
