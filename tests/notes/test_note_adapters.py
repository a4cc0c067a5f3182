"""Each adapter's note calls at the wire (respx): URL, method, auth, body, and answers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from notes_kit import connection_for

from plugin.exceptions import (
    HelpdeskAuthError,
    HelpdeskNotFoundError,
    HelpdeskRateLimitedError,
    HelpdeskRejectedError,
    HelpdeskUnavailableError,
)
from plugin.helpdesks import get_adapter
from plugin.helpdesks.base import parse_retry_after

MARKER = "sidecard:7-a1b2c3"
TEXT = "Agent One refunded $12.50 on order #1001. [sidecard:7-a1b2c3]"


@pytest.fixture
def app_config():
    """Real helpdesk transports (respx intercepts them); no stand-in."""
    return {"HELPDESK_SANDBOX": False}


@pytest.fixture
def http():
    """A plain client, as the adapters get one."""
    with httpx.Client(timeout=2.0) as client:
        yield client


def basic(user: str, password: str) -> str:
    """A Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sent_json(route) -> dict:
    """The JSON body of the route's last request."""
    return json.loads(route.calls.last.request.content)


@respx.mock
def test_zendesk_note_is_a_private_comment_with_bearer_oauth(app, http):
    """Zendesk: PUT /api/v2/tickets/{id}.json, comment.public false, Bearer OAuth token."""
    route = respx.put("https://acme.zendesk.com/api/v2/tickets/1001.json").respond(200, json={
        "ticket": {"id": 1001},
        "audit": {"id": 90, "events": [{"id": 4711, "type": "Comment", "public": False}]}})
    connection = connection_for("zendesk")
    remote = get_adapter("zendesk").post_note(connection, "1001", TEXT, client=http,
                                              marker=MARKER)
    assert remote == "4711"
    request = route.calls.last.request
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Bearer zd-oauth-token"
    assert sent_json(route) == {"ticket": {"comment": {"body": TEXT, "public": False}}}


@respx.mock
def test_zendesk_legacy_api_token_uses_basic_email_token(app, http):
    """With api_user set, Zendesk gets Basic `{email}/token:{api_token}` (legacy)."""
    route = respx.put("https://acme.zendesk.com/api/v2/tickets/1001.json").respond(
        200, json={"audit": {"id": 90, "events": []}})
    connection = connection_for("zendesk", api_user="agent@acme.test")
    assert get_adapter("zendesk").post_note(connection, "1001", TEXT, client=http) == "audit:90"
    assert route.calls.last.request.headers["Authorization"] == basic(
        "agent@acme.test/token", "zd-oauth-token")


@respx.mock
def test_gorgias_note_is_an_internal_note_message_with_basic_auth(app, http):
    """Gorgias: POST /api/tickets/{id}/messages, channel internal-note, Basic email:key."""
    route = respx.post("https://acme.gorgias.com/api/tickets/2002/messages").respond(
        201, json={"id": 555, "channel": "internal-note"})
    connection = connection_for("gorgias")
    text = "Refund <b>approved</b> & sent [sidecard:7-a1b2c3]"
    remote = get_adapter("gorgias").post_note(connection, "2002", text, client=http,
                                              marker=MARKER)
    assert remote == "555"
    assert route.calls.last.request.headers["Authorization"] == basic("bot@acme.test",
                                                                      "gorgias-api-key")
    assert sent_json(route) == {
        "channel": "internal-note", "via": "api", "from_agent": True,
        "body_text": text,
        "body_html": "<p>Refund &lt;b&gt;approved&lt;/b&gt; &amp; sent [sidecard:7-a1b2c3]</p>",
        "sender": {"email": "bot@acme.test"},
        "source": {"type": "internal-note", "from": {"address": "bot@acme.test"}},
        "external_id": MARKER,
    }


@respx.mock
def test_kustomer_note_posts_to_v1_notes_with_bearer_api_key(app, http):
    """Kustomer: POST /v1/notes {conversation, body, externalId}, Bearer API key."""
    route = respx.post("https://acme.api.kustomerapp.com/v1/notes").respond(
        201, json={"data": {"type": "note", "id": "65aa00ff00ff00ff00ff00ff"}})
    connection = connection_for("kustomer")
    remote = get_adapter("kustomer").post_note(connection, "5f1e2d3c4b5a69788796a5b4", TEXT,
                                               client=http, marker=MARKER)
    assert remote == "65aa00ff00ff00ff00ff00ff"
    assert route.calls.last.request.headers["Authorization"] == "Bearer kustomer-api-key"
    assert sent_json(route) == {"conversation": "5f1e2d3c4b5a69788796a5b4", "body": TEXT,
                                "externalId": MARKER}


@respx.mock
def test_base_url_comes_from_config_with_account(app, http):
    """ZENDESK_API_URL's `{account}` is the connection's account."""
    app.config["ZENDESK_API_URL"] = "http://127.0.0.1:9/zd/{account}"
    route = respx.put("http://127.0.0.1:9/zd/acme/api/v2/tickets/1001.json").respond(
        200, json={})
    get_adapter("zendesk").post_note(connection_for("zendesk"), "1001", TEXT, client=http)
    assert route.called


def test_api_connection_posts_nothing(app, http):
    """Kind `api` has no remote note: post_note returns None without any request."""
    with respx.mock(assert_all_called=False) as mock:
        assert get_adapter("api").post_note(connection_for("api"), "x", TEXT,
                                            client=http) is None
        assert not mock.calls


@pytest.mark.parametrize(("kind", "conversation"), [
    ("zendesk", "12/../../users"), ("gorgias", "abc"), ("kustomer", "a b"), ("zendesk", ""),
])
def test_conversation_ids_that_cannot_be_ids_are_refused_before_any_request(
        app, http, kind, conversation):
    """A ticket id that would change the URL is refused without a request."""
    with respx.mock(assert_all_called=False) as mock, pytest.raises(HelpdeskRejectedError):
        get_adapter(kind).post_note(connection_for(kind), conversation, TEXT, client=http)
    assert not mock.calls


@pytest.mark.parametrize("kind", ["zendesk", "gorgias", "kustomer"])
def test_missing_token_is_an_auth_error(app, http, kind):
    """A connection without API token fails as refused credentials, with a clear message."""
    connection = connection_for(kind, api_token=None)
    with pytest.raises(HelpdeskAuthError, match="helpdesk connect"):
        get_adapter(kind).post_note(connection, "1001" if kind != "kustomer" else "abc", TEXT,
                                    client=http)


@pytest.mark.parametrize(("status", "headers", "error", "retry_after"), [
    (429, {"Retry-After": "42"}, HelpdeskRateLimitedError, 42.0),
    (429, {}, HelpdeskRateLimitedError, 60.0),
    (401, {}, HelpdeskAuthError, None),
    (403, {}, HelpdeskAuthError, None),
    (404, {}, HelpdeskNotFoundError, None),
    (410, {}, HelpdeskNotFoundError, None),
    (422, {}, HelpdeskRejectedError, None),
    (400, {}, HelpdeskRejectedError, None),
    (503, {"Retry-After": "7"}, HelpdeskUnavailableError, 7.0),
    (500, {}, HelpdeskUnavailableError, None),
    (409, {}, HelpdeskUnavailableError, None),
])
@respx.mock
def test_answers_map_to_errors(app, http, status, headers, error, retry_after):
    """Each non-2xx answer raises the error the delivery logic acts on."""
    respx.put("https://acme.zendesk.com/api/v2/tickets/1001.json").respond(
        status, headers=headers, json={"error": "RecordInvalid"})
    with pytest.raises(error) as caught:
        get_adapter("zendesk").post_note(connection_for("zendesk"), "1001", TEXT, client=http)
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after
    assert "zd-oauth-token" not in str(caught.value)


@pytest.mark.parametrize(("exc", "unknown"), [
    (httpx.ConnectError("refused"), False),
    (httpx.ConnectTimeout("slow connect"), False),
    (httpx.ReadTimeout("no answer"), True),
    (httpx.RemoteProtocolError("dropped"), True),
])
@respx.mock
def test_transport_errors_say_whether_the_note_may_exist(app, http, exc, unknown):
    """Connect failures cannot have posted; a read timeout may have."""
    respx.post("https://acme.api.kustomerapp.com/v1/notes").mock(side_effect=exc)
    with pytest.raises(HelpdeskUnavailableError) as caught:
        get_adapter("kustomer").post_note(connection_for("kustomer"), "abc", TEXT, client=http)
    assert caught.value.outcome_unknown is unknown


def test_retry_after_accepts_seconds_and_http_dates():
    """Retry-After: delta-seconds or an HTTP date; garbage is ignored; capped at an hour."""
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True),
                             now=now) == 90.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("999999") == 3600.0
    assert parse_retry_after("-5") == 0.0


@respx.mock
def test_zendesk_find_note_reads_comments_newest_first(app, http):
    """find_note: GET /api/v2/tickets/{id}/comments?sort_order=desc, matched on the marker."""
    route = respx.get("https://acme.zendesk.com/api/v2/tickets/1001/comments").respond(
        200, json={"comments": [{"id": 1, "body": "Customer: where is my order?"},
                                {"id": 4711, "body": TEXT}], "next_page": None})
    found = get_adapter("zendesk").find_note(connection_for("zendesk"), "1001", MARKER,
                                             client=http)
    assert found == "4711"
    assert route.calls.last.request.url.params["sort_order"] == "desc"
    assert route.calls.last.request.headers["Authorization"] == "Bearer zd-oauth-token"


@respx.mock
def test_zendesk_find_note_follows_pages_only_on_the_same_origin(app, http):
    """A next_page on another host is not followed with the connection's token."""
    respx.get("https://acme.zendesk.com/api/v2/tickets/1001/comments").respond(
        200, json={"comments": [], "next_page": "https://evil.example/steal"})
    evil = respx.get("https://evil.example/steal").respond(200, json={})
    assert get_adapter("zendesk").find_note(connection_for("zendesk"), "1001", MARKER,
                                            client=http) is None
    assert not evil.called


@respx.mock
def test_gorgias_find_note_matches_external_id(app, http):
    """find_note: GET /api/messages?ticket_id=…, newest first, external_id or text."""
    route = respx.get("https://acme.gorgias.com/api/messages").respond(200, json={
        "data": [{"id": 9, "external_id": MARKER, "body_text": "x"}],
        "meta": {"next_cursor": None}})
    found = get_adapter("gorgias").find_note(connection_for("gorgias"), "2002", MARKER,
                                             client=http)
    assert found == "9"
    params = route.calls.last.request.url.params
    assert params["ticket_id"] == "2002" and params["order_by"] == "created_datetime:desc"


@respx.mock
def test_kustomer_find_note_pages_through_conversation_notes(app, http):
    """find_note: GET /v1/conversations/{id}/notes, following links.next."""
    base = "https://acme.api.kustomerapp.com/v1/conversations/abc/notes"
    respx.get(base, params={"page": "2"}).respond(200, json={
        "data": [{"id": "n2", "attributes": {"body": TEXT}}], "links": {"next": None}})
    respx.get(base).respond(200, json={
        "data": [{"id": "n1", "attributes": {"body": "other"}}],
        "links": {"next": "/v1/conversations/abc/notes?page=2&pageSize=100"}})
    assert get_adapter("kustomer").find_note(connection_for("kustomer"), "abc", MARKER,
                                             client=http) == "n2"


@respx.mock
def test_find_note_without_the_marker_finds_nothing(app, http):
    """No note carries the marker: None, so the note is posted."""
    respx.get("https://acme.api.kustomerapp.com/v1/conversations/abc/notes").respond(
        200, json={"data": [], "links": {}})
    assert get_adapter("kustomer").find_note(connection_for("kustomer"), "abc", MARKER,
                                             client=http) is None
