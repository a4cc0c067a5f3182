"""Sign in with Zendesk: OAuth in a popup against a Zendesk stand-in served over real HTTP."""

from __future__ import annotations

import logging

import httpx
import pytest
from factories import bearer, make_connection, open_session
from identity_kit import (
    CLIENT_ID,
    ZendeskUser,
    callback_query,
    popup_message,
    query_value,
    verify,
)

from plugin.extensions import db
from plugin.models.identity import ZendeskOAuthState
from plugin.sessions import decode_session

AGENT = "agent@example.com"


def start(client, token):
    """Start the sign-in; returns the 202 body."""
    response = verify(client, token, method="zendesk")
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def authorize(authorize_url, *, account_url=None):
    """What the popup does at Zendesk: open the authorize URL; returns the callback path.

    `account_url` replaces the account's base (an agent who signs in at another account).
    """
    url = authorize_url if account_url is None else account_url + "/oauth/authorizations/new?" \
        + authorize_url.split("?", 1)[1]
    response = httpx.get(url, follow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return callback_query(response.headers["Location"])


def sign_in(client, session_token, zendesk, user, **kwargs):
    """Run the popup flow for `user`; returns (callback response, popup message)."""
    zendesk.sign_in(user, kwargs.pop("signed_in_at", None))
    started = start(client, session_token)
    callback = client.get(authorize(started["authorize_url"], **kwargs))
    return callback, popup_message(callback.get_data(as_text=True))


def test_sign_in_with_zendesk_verifies_the_matching_agent(client, connection, zendesk):
    """users/me naming the session's agent on the connection's account → verified session."""
    session = open_session(client, connection)
    callback, message = sign_in(client, session["token"], zendesk,
                                ZendeskUser(id=7, email="Agent@Example.com", account="acme"))
    assert callback.status_code == 200
    assert callback.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert message["type"] == "sidecard:zendesk-sign-in" and message["ok"] is True
    response = verify(client, session["token"], method="zendesk", result=message["result"],
                      device_id="device-0001")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["agent"]["identity"] == "verified" and body["device_credential"]
    upgraded = decode_session(body["token"])
    assert upgraded.identity == "verified" and upgraded.verified_by == "zendesk_oauth"
    assert db.session.execute(db.select(ZendeskOAuthState.zendesk_user_id)).scalar_one() == "7"


def test_authorize_url_uses_pkce_state_and_the_account(client, connection, zendesk):
    """The authorize URL is the account's, with client id, redirect URI, state and S256."""
    session = open_session(client, connection)
    started = start(client, session["token"])
    url = started["authorize_url"]
    assert url.startswith(f"{zendesk.base_url}/acme/oauth/authorizations/new?")
    assert query_value(url, "client_id") == CLIENT_ID
    assert query_value(url, "redirect_uri") == "http://127.0.0.1:5000/identity/zendesk/callback"
    assert query_value(url, "state") == started["state"]
    assert query_value(url, "code_challenge_method") == "S256"
    assert query_value(url, "response_type") == "code"
    row = db.session.execute(db.select(ZendeskOAuthState)).scalar_one()
    assert started["state"] not in row.state_hash  # stored hashed


def test_token_exchange_sends_code_verifier_and_revokes_the_token(client, connection, zendesk):
    """The code is exchanged with the PKCE verifier, and the access token revoked after."""
    session = open_session(client, connection)
    sign_in(client, session["token"], zendesk, ZendeskUser(id=7, email=AGENT, account="acme"))
    (request,) = zendesk.token_requests
    assert request["grant_type"] == "authorization_code" and request["code_verifier"]
    assert request["client_secret"] and request["account"] == "acme"
    assert len(zendesk.revoked) == 1 and zendesk.tokens == {}


def test_zendesk_user_with_another_email_is_refused(client, connection, zendesk):
    """Claims altered in the browser: the card claims the lead, Zendesk says it's someone else."""
    session = open_session(client, connection, sub="7", email="lead@example.com")
    zendesk.sign_in(ZendeskUser(id=7, email="attacker@example.com", account="acme"))
    started = start(client, session["token"])
    callback = client.get(authorize(started["authorize_url"]))
    assert callback.status_code == 400
    assert popup_message(callback.get_data(as_text=True)) == {
        "type": "sidecard:zendesk-sign-in", "ok": False, "reason": "other_agent"}
    response = verify(client, session["token"], method="zendesk", state=started["state"])
    assert response.status_code == 400
    assert response.get_json()["reason"] == "other_agent"
    assert decode_session(session["token"]).identity == "asserted"


def test_code_from_another_zendesk_account_is_refused(client, connection, zendesk):
    """Signing in at another account: the connection's account refuses that code."""
    session = open_session(client, connection)
    callback, message = sign_in(client, session["token"], zendesk,
                                ZendeskUser(id=9, email=AGENT, account="evil"),
                                signed_in_at="evil", account_url=f"{zendesk.base_url}/evil")
    assert callback.status_code == 400
    assert message["reason"] == "code_refused"
    assert zendesk.token_requests[0]["account"] == "acme"


@pytest.mark.parametrize("user", [
    ZendeskUser(id=9, email=AGENT, account="other"),  # users/me says: another account
    ZendeskUser(id=9, email=AGENT, account="acme", shared_agent=True),  # a shared agent
])
def test_user_of_another_account_is_refused(client, connection, zendesk, user):
    """A Zendesk user who does not belong to the connection's account is refused."""
    session = open_session(client, connection)
    callback, message = sign_in(client, session["token"], zendesk, user, signed_in_at="acme")
    assert callback.status_code == 400
    assert message["reason"] == "other_account"


@pytest.mark.parametrize("user", [
    ZendeskUser(id=9, email=AGENT, account="acme", role="end-user"),
    ZendeskUser(id=9, email=AGENT, account="acme", suspended=True),
    ZendeskUser(id=9, email=AGENT, account="acme", active=False),
])
def test_end_users_and_suspended_agents_are_refused(client, connection, zendesk, user):
    """Only active agents and admins are accepted."""
    session = open_session(client, connection)
    callback, message = sign_in(client, session["token"], zendesk, user)
    assert message["reason"] == "not_agent"


def test_unknown_state_is_refused(client, connection, zendesk):
    """A callback whose state was never issued is refused, and nothing is exchanged."""
    response = client.get("/identity/zendesk/callback?code=abc&state=forged-state")
    assert response.status_code == 400
    assert popup_message(response.get_data(as_text=True))["reason"] == "state_mismatch"
    assert zendesk.token_requests == []


def test_state_is_single_use(client, connection, zendesk):
    """Replaying Zendesk's redirect is refused."""
    session = open_session(client, connection)
    zendesk.sign_in(ZendeskUser(id=7, email=AGENT, account="acme"))
    path = authorize(start(client, session["token"])["authorize_url"])
    assert client.get(path).status_code == 200
    replay = client.get(path)
    assert replay.status_code == 400
    assert popup_message(replay.get_data(as_text=True))["reason"] == "state_used"


def test_state_of_another_session_does_not_verify_this_one(client, connection, zendesk):
    """A result (or state) is redeemable only by the session that started the sign-in."""
    victim = open_session(client, connection)
    zendesk.sign_in(ZendeskUser(id=7, email=AGENT, account="acme"))
    started = start(client, victim["token"])
    message = popup_message(client.get(authorize(started["authorize_url"])).get_data(
        as_text=True))
    thief = open_session(client, connection)  # same agent claims, another session
    for body in ({"result": message["result"]}, {"state": started["state"]}):
        response = verify(client, thief["token"], method="zendesk", **body)
        assert response.status_code == 400
        assert response.get_json()["reason"] == "state_mismatch"
    assert verify(client, victim["token"], method="zendesk",
                  result=message["result"]).status_code == 200


def test_result_is_single_use(client, connection, zendesk):
    """The popup's result verifies once."""
    session = open_session(client, connection)
    _, message = sign_in(client, session["token"], zendesk,
                         ZendeskUser(id=7, email=AGENT, account="acme"))
    assert verify(client, session["token"], method="zendesk",
                  result=message["result"]).status_code == 200
    again = verify(client, session["token"], method="zendesk", result=message["result"])
    assert again.status_code == 400 and again.get_json()["reason"] == "used"


def test_state_fallback_when_the_popup_cannot_message(client, connection, zendesk):
    """When the popup lost its opener, the card redeems with the state it started with."""
    session = open_session(client, connection)
    zendesk.sign_in(ZendeskUser(id=7, email=AGENT, account="acme"))
    started = start(client, session["token"])
    pending = verify(client, session["token"], method="zendesk", state=started["state"])
    assert pending.status_code == 400 and pending.get_json()["reason"] == "pending"
    client.get(authorize(started["authorize_url"]))
    response = verify(client, session["token"], method="zendesk", state=started["state"])
    assert response.status_code == 200


def test_expired_state_is_refused(client, connection, zendesk):
    """A sign-in finished after 10 minutes is refused."""
    from datetime import timedelta

    session = open_session(client, connection)
    zendesk.sign_in(ZendeskUser(id=7, email=AGENT, account="acme"))
    path = authorize(start(client, session["token"])["authorize_url"])
    row = db.session.execute(db.select(ZendeskOAuthState)).scalar_one()
    row.expires_at -= timedelta(minutes=11)
    db.session.commit()
    response = client.get(path)
    assert popup_message(response.get_data(as_text=True))["reason"] == "state_expired"


def test_denied_authorization_is_refused(client, connection, zendesk):
    """Zendesk's `error=access_denied` redirect is refused."""
    session = open_session(client, connection)
    started = start(client, session["token"])
    response = client.get(f"/identity/zendesk/callback?error=access_denied"
                          f"&state={started['state']}")
    assert popup_message(response.get_data(as_text=True))["reason"] == "denied"


def test_sign_in_is_off_without_an_oauth_client(app, client, connection):
    """Without ZENDESK_OAUTH_CLIENT_ID/SECRET the method answers 503 and is not offered."""
    app.config["ZENDESK_OAUTH_CLIENT_ID"] = None
    session = open_session(client, connection)
    response = verify(client, session["token"], method="zendesk")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "zendesk_disabled"
    status = client.get("/api/v1/sessions/verify", headers=bearer(session["token"])).get_json()
    assert status["methods"]["zendesk"] is False


def test_sign_in_is_only_for_zendesk_connections(client, app):
    """A Kustomer card cannot sign in with Zendesk."""
    kustomer = make_connection(kind="kustomer", account="acme")
    session = open_session(client, kustomer)
    response = verify(client, session["token"], method="zendesk")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "not_zendesk"


def test_zendesk_unreachable_is_refused_cleanly(app, client, connection, zendesk):
    """When Zendesk cannot be reached the popup says so; no session is verified."""
    from identity_kit import free_port

    session = open_session(client, connection)
    zendesk.sign_in(ZendeskUser(id=7, email=AGENT, account="acme"))
    path = authorize(start(client, session["token"])["authorize_url"])
    app.config["ZENDESK_API_URL"] = f"http://127.0.0.1:{free_port()}/{{account}}"
    response = client.get(path)
    assert popup_message(response.get_data(as_text=True))["reason"] == "zendesk_unreachable"


def test_no_code_or_token_is_logged(client, connection, zendesk, caplog):
    """The OAuth code, state, access token and result stay out of the logs."""
    caplog.set_level(logging.DEBUG)
    session = open_session(client, connection)
    zendesk.sign_in(ZendeskUser(id=7, email=AGENT, account="acme"))
    started = start(client, session["token"])
    path = authorize(started["authorize_url"])
    message = popup_message(client.get(path).get_data(as_text=True))
    verify(client, session["token"], method="zendesk", result=message["result"])
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sidecard"))
    assert "zendesk sign-in matched" in text
    code = query_value("http://x" + path, "code")
    for secret in (code, started["state"], message["result"], AGENT, *zendesk.revoked):
        assert secret not in text
