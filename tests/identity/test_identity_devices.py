"""Device credentials: later launches on a verified device are verified silently, and only
for the same connection, agent and device, until revoked or expired."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import bearer, launch_token, make_connection, open_session
from identity_kit import verify

from plugin.extensions import db
from plugin.identity import device_credentials
from plugin.models.base import utcnow
from plugin.models.identity import DeviceCredential
from plugin.sessions import decode_session

AGENT = "agent@example.com"
DEVICE = "device-0001-abcdef"


def verified_credential(client, connection, mailbox, *, device_id=DEVICE, **claims):
    """Verify an agent by email code and return the device credential it received."""
    session = open_session(client, connection, **claims)
    assert verify(client, session["token"], method="email").status_code == 202
    email = claims.get("email", AGENT)
    body = verify(client, session["token"], method="email", code=mailbox.last_code(email),
                  device_id=device_id).get_json()
    return body["device_credential"]


def launch_with(client, connection, credential, *, device_id=DEVICE, **claims):
    """POST /api/v1/sessions with a launch token and a device credential."""
    body = {"launch_token": launch_token(connection, **claims), "device_credential": credential}
    if device_id is not None:
        body["device_id"] = device_id
    response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_device_credential_verifies_a_later_launch_silently(client, connection, mailbox):
    """The same agent on the same device launches verified, without a code."""
    credential = verified_credential(client, connection, mailbox)
    body = launch_with(client, connection, credential)
    assert body["agent"]["identity"] == "verified"
    assert body["device_credential_status"] == {"accepted": True, "reason": None}
    session = decode_session(body["token"])
    assert session.identity == "verified" and session.verified_by == "device_credential"
    row = db.session.execute(db.select(DeviceCredential)).scalar_one()
    assert row.last_used_at is not None


def test_launch_without_credential_says_nothing_about_one(client, connection):
    """Without a device credential the answer is as before: asserted, no status key."""
    body = open_session(client, connection)
    assert body["agent"]["identity"] == "asserted"
    assert "device_credential_status" not in body


def test_credential_replayed_for_another_agent_stays_asserted(client, connection, mailbox):
    """Claims altered in the browser: a credential of agent Y never verifies claims of X."""
    credential = verified_credential(client, connection, mailbox, sub="y",
                                     email="y@example.com")
    body = launch_with(client, connection, credential, sub="y", email="lead@example.com")
    assert body["agent"]["identity"] == "asserted"
    assert body["device_credential_status"]["accepted"] is False
    assert body["device_credential_status"]["reason"] == "other_agent"
    assert decode_session(body["token"]).identity == "asserted"


def test_credential_replayed_on_another_connection_stays_asserted(client, connection,
                                                                  other_connection, mailbox):
    """A credential from one connection does nothing on another, even for the same email."""
    credential = verified_credential(client, connection, mailbox)
    body = launch_with(client, other_connection, credential)
    assert body["agent"]["identity"] == "asserted"
    assert body["device_credential_status"]["reason"] == "other_connection"


@pytest.mark.parametrize(("device_id", "reason"), [
    ("another-device-9999", "other_device"),
    (None, "other_device"),
    ("bad id!", "malformed"),
])
def test_credential_from_another_device_stays_asserted(client, connection, mailbox, device_id,
                                                       reason):
    """The credential only works with the device id it was issued to."""
    credential = verified_credential(client, connection, mailbox)
    body = launch_with(client, connection, credential, device_id=device_id)
    assert body["agent"]["identity"] == "asserted"
    assert body["device_credential_status"]["reason"] == reason


def test_credential_issued_without_device_works_without_one(client, connection, mailbox):
    """A bot that gave no device id gets a credential it can present without one."""
    credential = verified_credential(client, connection, mailbox, device_id=None)
    assert launch_with(client, connection, credential, device_id=None)[
        "agent"]["identity"] == "verified"
    assert launch_with(client, connection, credential)["device_credential_status"][
        "reason"] == "other_device"


def test_revoked_credential_stays_asserted(client, runner, connection, mailbox):
    """After `agents revoke` the device must verify again."""
    credential = verified_credential(client, connection, mailbox)
    result = runner.invoke(args=["agents", "revoke", "--connection", connection.public_id])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"revoked": 1}
    body = launch_with(client, connection, credential)
    assert body["agent"]["identity"] == "asserted"
    assert body["device_credential_status"]["reason"] == "revoked"


def test_revoke_by_email_touches_only_that_agent(client, runner, connection, mailbox):
    """`--email` revokes one agent's devices; the others keep working."""
    mine = verified_credential(client, connection, mailbox)
    theirs = verified_credential(client, connection, mailbox, sub="b", email="b@example.com")
    result = runner.invoke(args=["agents", "revoke", "--connection", connection.public_id,
                                 "--email", "B@Example.com"])
    assert json.loads(result.output) == {"revoked": 1}
    assert launch_with(client, connection, mine)["agent"]["identity"] == "verified"
    assert launch_with(client, connection, theirs, sub="b", email="b@example.com")[
        "agent"]["identity"] == "asserted"
    again = runner.invoke(args=["agents", "revoke", "--connection", connection.public_id,
                                "--email", "b@example.com"])
    assert json.loads(again.output) == {"revoked": 0}


@pytest.mark.parametrize("args", [["--connection", "conn_nope"],
                                  ["--connection", "CONN", "--email", "not-an-email"]])
def test_revoke_refuses_unknown_connection_or_bad_email(runner, connection, args):
    """An unknown connection or a malformed email fails with a message, revoking nothing."""
    args = [a.replace("CONN", connection.public_id) for a in args]
    result = runner.invoke(args=["agents", "revoke", *args])
    assert result.exit_code != 0
    assert "Error" in result.output


def test_expired_credential_stays_asserted(client, connection, mailbox):
    """After DEVICE_CREDENTIAL_TTL_DAYS the credential no longer verifies."""
    credential = verified_credential(client, connection, mailbox)
    row = db.session.execute(db.select(DeviceCredential)).scalar_one()
    assert row.expires_at - row.created_at == timedelta(days=30)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert launch_with(client, connection, credential)["device_credential_status"][
        "reason"] == "expired"


def test_credential_lifetime_follows_config(app, client, connection, mailbox):
    """DEVICE_CREDENTIAL_TTL_DAYS sets the lifetime."""
    app.config["DEVICE_CREDENTIAL_TTL_DAYS"] = "7"
    session = open_session(client, connection)
    verify(client, session["token"], method="email")
    body = verify(client, session["token"], method="email",
                  code=mailbox.last_code(AGENT)).get_json()
    assert body["device_credential_expires_in"] == 7 * 24 * 3600


@pytest.mark.parametrize("tamper", [
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # wrong secret
    lambda c: "dc_" + "x" * 16 + "." + c.split(".")[1],  # unknown id
    lambda c: c.replace("dc_", "xx_"),  # malformed
    lambda c: 12345,  # not a string
])
def test_tampered_credential_stays_asserted(client, connection, mailbox, tamper):
    """A forged or damaged credential leaves the session asserted, never an error."""
    credential = verified_credential(client, connection, mailbox)
    body = launch_with(client, connection, tamper(credential))
    assert body["agent"]["identity"] == "asserted"
    assert body["device_credential_status"]["reason"] in {"invalid", "malformed"}


def test_bad_launch_token_with_credential_is_still_401(client, connection, mailbox):
    """A device credential does not rescue a bad launch token."""
    credential = verified_credential(client, connection, mailbox)
    response = client.post("/api/v1/sessions", json={
        "launch_token": launch_token(connection, secret="x" * 40),
        "device_credential": credential, "device_id": DEVICE})
    assert response.status_code == 401


def test_credential_secret_is_stored_only_as_a_hash(client, connection, mailbox):
    """The database keeps the public id and keyed hashes, not the secret or device id."""
    credential = verified_credential(client, connection, mailbox)
    public_id, secret = credential.removeprefix("dc_").split(".")
    row = db.session.execute(db.select(DeviceCredential)).scalar_one()
    assert row.public_id == public_id
    stored = " ".join(str(v) for v in (row.secret_hash, row.device_hash, row.public_id))
    assert secret not in stored and DEVICE not in stored
    assert (row.agent_email, row.connection_id, row.verified_by) == (
        AGENT, connection.id, "email_code")


def test_card_session_upgrades_with_its_stored_credential(client, connection, mailbox):
    """The card (already holding an asserted session) upgrades it with `method: device`."""
    credential = verified_credential(client, connection, mailbox)
    card = open_session(client, connection)
    response = verify(client, card["token"], method="device", device_credential=credential,
                      device_id=DEVICE)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["agent"]["identity"] == "verified" and "device_credential" not in body
    assert decode_session(body["token"]).verified_by == "device_credential"


def test_card_upgrade_with_someone_elses_credential_is_refused(client, connection, mailbox):
    """`method: device` with another agent's credential answers 400 and changes nothing."""
    credential = verified_credential(client, connection, mailbox, sub="y", email="y@example.com")
    card = open_session(client, connection, sub="y", email="lead@example.com")
    response = verify(client, card["token"], method="device", device_credential=credential,
                      device_id=DEVICE)
    assert response.status_code == 400
    assert response.get_json()["reason"] == "other_agent"


def test_disabled_connection_credentials_cannot_be_used(client, connection, mailbox):
    """A credential of a disabled connection is useless: its launches are refused."""
    credential = verified_credential(client, connection, mailbox)
    connection.disabled_at = utcnow()
    db.session.commit()
    response = client.post("/api/v1/sessions", json={
        "launch_token": launch_token(connection), "device_credential": credential})
    assert response.status_code == 401


def test_revoke_helper_counts_only_live_credentials(app, connection):
    """Revoking twice revokes once."""
    for n in range(2):
        device_credentials.issue_credential(connection, email=AGENT, agent_id="a",
                                            device_id=f"device-{n:04d}", verified_by="email_code")
    assert device_credentials.revoke(connection) == 2
    assert device_credentials.revoke(connection) == 0


def test_verification_status_reports_the_session(client, connection):
    """GET /api/v1/sessions/verify says who, how verified, and which methods are on."""
    session = open_session(client, connection)
    response = client.get("/api/v1/sessions/verify", headers=bearer(session["token"]))
    assert response.status_code == 200
    assert response.get_json() == {
        "agent": {"id": "agent-1", "email": AGENT, "name": "Agent One", "identity": "asserted"},
        "verified_by": None, "connection": {"id": connection.public_id, "kind": "zendesk"},
        "methods": {"email": True, "zendesk": True, "device": True}, "demo": False}


def test_gorgias_connection_offers_no_zendesk_sign_in(client, app):
    """Zendesk sign-in is offered only on Zendesk connections."""
    gorgias = make_connection(kind="gorgias", account="shop")
    session = open_session(client, gorgias)
    methods = client.get("/api/v1/sessions/verify",
                         headers=bearer(session["token"])).get_json()["methods"]
    assert methods == {"email": True, "zendesk": False, "device": True}


@pytest.mark.parametrize("body", [{}, {"method": "sms"}, {"method": None}])
def test_unknown_method_is_a_bad_request(client, connection, body):
    """The method must be email, zendesk or device."""
    session = open_session(client, connection)
    response = verify(client, session["token"], **body)
    assert response.status_code == 400
    assert response.get_json()["field"] == "method"


def test_verify_needs_a_session(client, connection):
    """Without a bearer session the verify API answers 401."""
    assert client.post("/api/v1/sessions/verify", json={"method": "email"}).status_code == 401
    assert client.get("/api/v1/sessions/verify").status_code == 401
