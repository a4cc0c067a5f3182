"""Identity on every session: asserted by default, verified only by signals the agent
cannot forge (Zendesk's signed URL, a Gorgias server-to-server call, a proof of identity)."""

from __future__ import annotations

import jwt
import pytest
from factories import (
    launch_claims,
    launch_token,
    make_connection,
    open_session,
    rsa_keypair,
    zendesk_signed_token,
)

from plugin.extensions import db
from plugin.identity.host_signed import PROOF_CLAIM, SOURCE_CLAIM
from plugin.launch import mint_launch_token, verify_zendesk_signed_launch
from plugin.models.audit import AuditEvent
from plugin.models.identity import (
    DeviceCredential,
    VerificationCode,
    VerificationFailure,
    ZendeskOAuthState,
)
from plugin.models.shop import Shop
from plugin.sessions import decode_session, issue_session, reissue_session


def test_launch_token_session_is_asserted(client, connection):
    """A plain launch token (claims maybe composed in the browser) gives an asserted session."""
    body = open_session(client, connection)
    session = decode_session(body["token"])
    assert body["agent"]["identity"] == session.identity == "asserted"
    assert session.verified_by is None and not session.is_verified
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["identity"] == "asserted" and claims["verified_by"] is None


def test_zendesk_signed_url_session_is_verified(app, connection):
    """Zendesk's signed URL naming the agent gives a verified session, `zendesk_signed_url`."""
    connection.zendesk_public_key = rsa_keypair()[1]
    connection.zendesk_installation_id = "42"
    db.session.commit()
    ctx = verify_zendesk_signed_launch(zendesk_signed_token())
    token, _ = issue_session(ctx)
    session = decode_session(token)
    assert (session.identity, session.verified_by, session.email) == (
        "verified", "zendesk_signed_url", "agent@example.com")


def test_gorgias_integration_launch_is_verified(client, app):
    """A launch token Sidecard minted from Gorgias's server-to-server call is verified."""
    gorgias = make_connection(kind="gorgias", account="shop")
    token = mint_launch_token(gorgias, agent_id="5", email="Assignee@Example.com",
                              name="Assignee", conversation="77",
                              verified_by="gorgias_integration")
    response = client.post("/api/v1/sessions", json={"launch_token": token})
    assert response.status_code == 201
    body = response.get_json()
    assert body["agent"]["identity"] == "verified"
    session = decode_session(body["token"])
    assert session.verified_by == "gorgias_integration" and session.conversation == "77"


def test_relay_minted_tokens_stay_asserted(client, app):
    """Tokens minted for browser-composed claims (no `verified_by`) stay asserted."""
    kustomer = make_connection(kind="kustomer", account="acme")
    token = mint_launch_token(kustomer, agent_id="5", email="a@example.com")
    body = client.post("/api/v1/sessions", json={"launch_token": token}).get_json()
    assert body["agent"]["identity"] == "asserted"


def test_forged_proof_claim_stays_asserted(client, connection):
    """A browser (ZAF's JWT option) adding a made-up proof claim gets an asserted session."""
    token = launch_token(connection, **{PROOF_CLAIM: "0" * 64,
                                        SOURCE_CLAIM: "gorgias_integration"})
    body = client.post("/api/v1/sessions", json={"launch_token": token}).get_json()
    assert body["agent"]["identity"] == "asserted"


@pytest.mark.parametrize("change", [{"email": "lead@example.com"}, {"sub": "other"},
                                    {"jti": "fresh-jti-0001"}])
def test_proof_copied_into_other_claims_stays_asserted(client, app, change):
    """A real proof copied into a token for another agent or jti does not verify it."""
    gorgias = make_connection(kind="gorgias", account="shop")
    real = mint_launch_token(gorgias, agent_id="5", email="a@example.com",
                             verified_by="gorgias_integration")
    claims = jwt.decode(real, options={"verify_signature": False})
    forged = jwt.encode({**claims, **change}, gorgias.signing_secret, algorithm="HS256")
    body = client.post("/api/v1/sessions", json={"launch_token": forged}).get_json()
    assert body["agent"]["identity"] == "asserted"


def test_unknown_host_source_cannot_be_minted(app, connection):
    """Only known server-to-server sources can mark a launch verified."""
    with pytest.raises(ValueError, match="unknown"):
        mint_launch_token(connection, agent_id="5", email="a@example.com", verified_by="browser")


def test_reissued_session_keeps_agent_and_conversation(client, connection):
    """A verified re-issue keeps agent, shop, connection, conversation and customer."""
    body = open_session(client, connection, conversation="1001",
                        customer={"email": "buyer@example.com"})
    before = decode_session(body["token"])
    token, expires_in = reissue_session(before, identity="verified", verified_by="email_code")
    after = decode_session(token)
    assert expires_in == 900
    assert (after.identity, after.verified_by) == ("verified", "email_code")
    assert after.jti != before.jti
    for name in ("agent_id", "email", "name", "shop_domain", "connection_id", "conversation",
                 "customer", "kind"):
        assert getattr(after, name) == getattr(before, name)


def test_asserted_token_cannot_claim_a_verifier(client, connection):
    """`verified_by` is dropped from asserted sessions."""
    body = open_session(client, connection)
    token, _ = reissue_session(decode_session(body["token"]), identity="asserted",
                               verified_by="email_code")
    assert decode_session(token).verified_by is None


def test_tampered_identity_claim_is_refused(client, connection):
    """Editing `identity` in a session token breaks its signature: 401."""
    body = open_session(client, connection)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "identity": "verified"}, "x" * 32, algorithm="HS256")
    response = client.get("/api/v1/sessions/verify", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_shop_erasure_deletes_identity_rows(client, connection, mailbox):
    """shop/redact deletes the shop's codes, failures, devices and Zendesk sign-ins."""
    from plugin.webhooks.compliance import SHOP_ERASERS

    session = open_session(client, connection)
    client.post("/api/v1/sessions/verify", json={"method": "email"},
                headers={"Authorization": f"Bearer {session['token']}"})
    client.post("/api/v1/sessions/verify", json={"method": "email", "code": "000000"},
                headers={"Authorization": f"Bearer {session['token']}"})
    client.post("/api/v1/sessions/verify", json={"method": "zendesk"},
                headers={"Authorization": f"Bearer {session['token']}"})
    from plugin.identity.device_credentials import issue_credential

    issue_credential(connection, email="agent@example.com", agent_id="a", device_id=None,
                     verified_by="email_code")
    models = (VerificationCode, VerificationFailure, DeviceCredential, ZendeskOAuthState)
    counts = [db.session.execute(db.select(db.func.count()).select_from(m)).scalar_one()
              for m in models]
    assert all(counts), counts
    shop = db.session.execute(db.select(Shop)).scalar_one()
    deleted = SHOP_ERASERS["agent_identity"](shop.domain, shop.id, None)
    db.session.commit()
    assert deleted == sum(counts)
    assert [db.session.execute(db.select(db.func.count()).select_from(m)).scalar_one()
            for m in models] == [0, 0, 0, 0]


def test_identity_is_in_claims_not_request_body(client, connection):
    """The launch's `identity` claim (if a browser adds one) is ignored."""
    token = launch_token(connection, identity="verified")
    body = client.post("/api/v1/sessions", json={"launch_token": token}).get_json()
    assert body["agent"]["identity"] == "asserted"
    assert "identity" not in launch_claims(connection)
    assert db.session.execute(db.select(AuditEvent)).first() is None
