"""Every JSON endpoint under /api/v1 takes JSON objects only, and says so in the contract shape."""

from __future__ import annotations

import json

import pytest
from factories import bearer, launch_token, make_connection, open_session

# (path, needs a session): every /api/v1 route that reads a body.
BODY_ROUTES = [
    ("/api/v1/sessions", False),
    ("/api/v1/sessions/verify", True),
    ("/api/v1/orders/1/actions/edit_note/preview", True),
    ("/api/v1/orders/1/actions/edit_note", True),
    ("/api/v1/approvals/1/approve", True),
    ("/api/v1/approvals/1/deny", True),
    ("/api/v1/kustomer/launch", False),
    ("/api/v1/zendesk/launch", False),
]


@pytest.fixture
def connection(app):
    """A Zendesk connection on an installed shop."""
    return make_connection()


def _headers(client, connection, needs_session: bool) -> dict[str, str]:
    headers = {"Idempotency-Key": "key-1"}
    if needs_session:
        headers.update(bearer(open_session(client, connection)["token"]))
    return headers


@pytest.mark.parametrize(("path", "needs_session"), BODY_ROUTES)
@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None,
])
def test_non_json_content_type_is_415(client, connection, path, needs_session, content_type):
    """A body sent as form, text or without a type is refused with 415 before any view runs."""
    body = json.dumps({"launch_token": launch_token(connection), "method": "email",
                       "note": "x"})
    headers = _headers(client, connection, needs_session)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    assert response.get_json()["message"]
    assert "Set-Cookie" not in response.headers


def test_json_suffix_content_type_is_accepted(client, connection):
    """`application/*+json` is JSON too."""
    response = client.post("/api/v1/sessions",
                           data=json.dumps({"launch_token": launch_token(connection)}),
                           content_type="application/vnd.sidecard+json")
    assert response.status_code == 201


def test_empty_body_needs_no_content_type(client, connection):
    """A POST without a body (deny without a comment) is not refused for its type."""
    response = client.post("/api/v1/approvals/1/deny",
                           headers=_headers(client, connection, True))
    assert response.status_code == 404  # no such approval: the view ran


@pytest.mark.parametrize(("path", "needs_session"),
                         [r for r in BODY_ROUTES if "kustomer" not in r[0]])
@pytest.mark.parametrize("body", ["[]", "[1]", "1", '"text"', "null", "true"])
def test_non_object_json_body_is_400(client, connection, path, needs_session, body):
    """JSON that is not an object is a 400 in the contract shape (never a 500)."""
    response = client.post(path, data=body, content_type="application/json",
                           headers=_headers(client, connection, needs_session))
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize(("path", "needs_session"),
                         [r for r in BODY_ROUTES if "kustomer" not in r[0]])
def test_oversized_body_is_413_in_the_contract_shape(app, client, connection, path,
                                                     needs_session):
    """A body over MAX_CONTENT_LENGTH answers 413 `{"error", "message"}` on every route."""
    raw = b'{"note": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}'
    response = client.post(path, data=raw, content_type="application/json",
                           headers=_headers(client, connection, needs_session))
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "payload_too_large" and body["message"]
    assert response.headers["Cache-Control"] == "no-store"
