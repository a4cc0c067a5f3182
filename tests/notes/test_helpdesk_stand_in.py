"""The helpdesk stand-in itself: served on a port, mounted in demo mode, faults, auth."""

from __future__ import annotations

import httpx
import pytest
from notes_kit import connection_for, note, queue_committed

from plugin.notes import deliver_after_commit
from plugin.sandbox.helpdesk import HelpdeskStandIn


@pytest.fixture
def app_config():
    """Demo mode, with the stand-in it builds by itself (no HELPDESK_SANDBOX given)."""
    return {"DEMO_MODE": True}


def test_served_stand_in_answers_under_a_kind_and_account_prefix(served):
    """`/{kind}/{account}/…` paths work over HTTP; the control page lists the notes."""
    stand_in, base = served
    with httpx.Client(base_url=base, timeout=5) as http:
        created = http.post("/kustomer/acme/v1/notes", headers={"Authorization": "Bearer k"},
                            json={"conversation": "c1", "body": "hello", "externalId": "m1"})
        assert created.status_code == 201
        listed = http.get("/kustomer/acme/v1/conversations/c1/notes",
                          headers={"Authorization": "Bearer k"}).json()
        control = http.get("/_control/notes", params={"kind": "kustomer"}).json()
    assert listed["data"][0]["attributes"] == {
        "body": "hello", "externalId": "m1", "createdAt": listed["data"][0]["attributes"][
            "createdAt"]}
    assert [n["account"] for n in control["notes"]] == ["acme"]


def test_stand_in_refuses_missing_or_wrong_credentials():
    """No Authorization, or another token than the one required, is a 401."""
    stand_in = HelpdeskStandIn()
    stand_in.require_token("zendesk", "acme", "right")
    with httpx.Client(transport=httpx.WSGITransport(app=stand_in),
                      base_url="https://acme.zendesk.com") as http:
        body = {"ticket": {"comment": {"body": "x", "public": False}}}
        assert http.put("/api/v2/tickets/1.json", json=body).status_code == 401
        assert http.put("/api/v2/tickets/1.json", json=body,
                        headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.put("/api/v2/tickets/1.json", json=body,
                        headers={"Authorization": "Bearer right"}).status_code == 200
    assert len(stand_in.notes) == 1


def test_faults_switch_on_and_off_over_http(served):
    """POST /_control/faults makes writes fail with Retry-After; /_control/recover ends it."""
    stand_in, base = served
    headers = {"Authorization": "Bearer t"}
    message = {"channel": "internal-note", "from_agent": True, "body_text": "x"}
    with httpx.Client(base_url=base, timeout=5) as http:
        http.post("/_control/faults", json={"status": 429, "retry_after": 30})
        failed = http.post("/gorgias/acme/api/tickets/5/messages", json=message,
                           headers=headers)
        http.post("/_control/recover")
        ok = http.post("/gorgias/acme/api/tickets/5/messages", json=message, headers=headers)
    assert failed.status_code == 429 and failed.headers["Retry-After"] == "30"
    assert ok.status_code == 201 and len(stand_in.notes_for("gorgias")) == 1


def test_gorgias_stand_in_requires_the_message_fields():
    """A message without channel/from_agent/body is a 400, like Gorgias."""
    stand_in = HelpdeskStandIn()
    with httpx.Client(transport=httpx.WSGITransport(app=stand_in),
                      base_url="https://acme.gorgias.com") as http:
        response = http.post("/api/tickets/5/messages", json={"body_text": "x"},
                             headers={"Authorization": "Bearer t"})
    assert response.status_code == 400 and not stand_in.notes


def test_demo_mode_mounts_the_stand_in_and_notes_show_there(app, client):
    """In demo mode notes go to the in-process stand-in, listed at /_helpdesk/_control."""
    assert app.config["DEMO_MODE"]
    note_id = queue_committed(connection_for("zendesk"))
    assert deliver_after_commit([note_id]) == {note_id: "delivered"}
    listed = client.get("/_helpdesk/_control/notes").get_json()
    assert [n["body"] for n in listed["notes"]] == [note(note_id).posted_text]
