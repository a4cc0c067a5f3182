"""POST /api/v1/sessions, session tokens and the `require_session` decorator."""

from __future__ import annotations

import time

import jwt
import pytest
from factories import (
    bearer,
    launch_claims,
    launch_token,
    make_connection,
    make_shop,
    open_session,
    rsa_keypair,
)
from flask import jsonify

from plugin.api.auth import require_same_shop, require_session
from plugin.extensions import db
from plugin.models.base import utcnow
from plugin.sessions import SESSION_AUDIENCE, decode_session, session_key

WHOAMI = "/api/v1/_test/whoami"


@pytest.fixture
def connection(app):
    """A Zendesk connection on an installed shop, plus a session-protected test route."""

    @require_session
    def whoami():
        from flask import g, request

        session = g.agent_session
        if request.args.get("shop"):
            require_same_shop(request.args["shop"])
        return jsonify({**session.agent_dict(), "shop": session.shop_domain,
                        "connection": session.connection_id,
                        "conversation": session.conversation, "customer": session.customer})

    app.add_url_rule(WHOAMI, "test_whoami", whoami)
    return make_connection()


def assert_unauthorized(response, code="unauthorized"):
    """A 401 with the contract's JSON error body."""
    assert response.status_code == 401, response.get_json()
    body = response.get_json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]
    return body


def test_good_launch_token_opens_a_session(client, connection):
    """A good launch token answers 201 with token, agent, shop and permissions."""
    response = client.post("/api/v1/sessions", json={"launch_token": launch_token(
        connection, conversation="1001", customer={"email": "buyer@example.com"})})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= {"token", "expires_in", "agent", "shop", "permissions"}
    assert body["expires_in"] == 900
    assert body["agent"] == {"id": "agent-1", "email": "agent@example.com",
                             "name": "Agent One", "identity": "asserted"}
    assert body["shop"] == {"domain": "acme.myshopify.com"}
    # No permission sets imported: the built-in default set (see plugin/permissions.py).
    assert body["permissions"]["set"] == "Everyone (no permission sets imported yet)"
    assert body["permissions"]["refund_limit"] == "0.00"
    assert body["permissions"]["can_approve"] is False


def test_session_token_authenticates_api_calls(client, connection):
    """The session token works as a bearer token on protected routes."""
    session = open_session(client, connection, conversation=55,
                           customer={"phone": "+15550000000"})
    response = client.get(WHOAMI, headers=bearer(session["token"]))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": "agent-1", "email": "agent@example.com", "name": "Agent One",
        "identity": "asserted", "shop": "acme.myshopify.com",
        "connection": connection.public_id, "conversation": "55",
        "customer": {"phone": "+15550000000"}}


def test_api_sets_no_cookie_and_is_not_cached(client, connection):
    """Session and API answers never set a cookie and are marked no-store."""
    created = client.post("/api/v1/sessions", json={"launch_token": launch_token(connection)})
    used = client.get(WHOAMI, headers=bearer(created.get_json()["token"]))
    refused = client.post("/api/v1/sessions", json={"launch_token": "nope"})
    for response in (created, used, refused):
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def test_session_ttl_is_configurable(app, client, connection):
    """SESSION_TTL_SECONDS sets expires_in and the token's exp."""
    app.config["SESSION_TTL_SECONDS"] = 60
    body = open_session(client, connection)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert body["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60
    assert claims["aud"] == SESSION_AUDIENCE


NOW = int(time.time())


@pytest.mark.parametrize("case", [
    "expired", "tampered", "reused", "wrong_audience", "wrong_secret", "other_connection",
    "missing_email", "lifetime_over_10_min", "future_iat", "alg_none", "alg_rs256",
    "unknown_connection", "garbage",
])
def test_bad_launch_tokens_are_401(client, connection, case):
    """Every bad launch token is refused with 401 and the contract's error body."""
    other = make_connection(account="other")
    now = int(time.time())
    tokens = {
        "expired": lambda: launch_token(connection, iat=now - 400, exp=now - 100),
        "tampered": lambda: _tamper(launch_token(connection), email="boss@example.com"),
        "wrong_audience": lambda: launch_token(connection, aud="sidecard-session"),
        "wrong_secret": lambda: launch_token(connection, "s" * 43),
        "other_connection": lambda: launch_token(connection, other.signing_secret),
        "missing_email": lambda: launch_token(connection, email=None),
        "lifetime_over_10_min": lambda: launch_token(connection, iat=now, exp=now + 601),
        "future_iat": lambda: launch_token(connection, iat=now + 300, exp=now + 500),
        "alg_none": lambda: jwt.encode(launch_claims(connection), None, algorithm="none"),
        "alg_rs256": lambda: jwt.encode(launch_claims(connection), rsa_keypair()[0],
                                        algorithm="RS256"),
        "unknown_connection": lambda: launch_token(connection, iss="conn_unknown"),
        "garbage": lambda: "not-a-jwt",
    }
    if case == "reused":
        token = launch_token(connection)
        assert client.post("/api/v1/sessions", json={"launch_token": token}).status_code == 201
    else:
        token = tokens[case]()
    response = client.post("/api/v1/sessions", json={"launch_token": token})
    body = assert_unauthorized(response)
    if case == "reused":
        assert body["message"] == "launch token already used"


def _tamper(token: str, **claims) -> str:
    """Swap the payload of a signed token, keeping the original signature."""
    header, _, signature = token.split(".")
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(claims)
    body = jwt.utils.base64url_encode(jwt.api_jwt.json.dumps(payload).encode()).decode()
    return f"{header}.{body}.{signature}"


@pytest.mark.parametrize(("data", "content_type"), [
    ("{not json", "application/json"),
    ("[]", "application/json"),
    ('"launch"', "application/json"),
    ("{}", "application/json"),
    ('{"launch_token": 42}', "application/json"),
    ('{"launch_token": ""}', "application/json"),
])
def test_malformed_session_requests_are_400(client, connection, data, content_type):
    """A body that is not a JSON object with a launch_token string is a 400."""
    response = client.post("/api/v1/sessions", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_uninstalled_shop_launch_is_401_shop_not_installed(client, app):
    """A launch for an uninstalled shop answers 401 with code shop_not_installed."""
    connection = make_connection(make_shop("gone.myshopify.com", installed=False),
                                 account="gone")
    response = client.post("/api/v1/sessions", json={"launch_token": launch_token(connection)})
    assert_unauthorized(response, "shop_not_installed")


def test_disabled_connection_launch_is_401(client, app):
    """A disabled connection cannot open sessions."""
    connection = make_connection(disabled=True)
    response = client.post("/api/v1/sessions", json={"launch_token": launch_token(connection)})
    assert_unauthorized(response)


# --- session tokens -------------------------------------------------------------------------

def _session_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("case", ["missing", "not_bearer", "garbage", "tampered", "expired",
                                  "wrong_audience", "shopify_secret", "launch_token"])
def test_bad_session_tokens_are_401(app, client, connection, case):
    """Protected routes refuse missing, forged, expired or foreign session tokens."""
    good = open_session(client, connection)["token"]
    claims = _session_claims(good)
    now = int(time.time())
    headers = {
        "missing": {},
        "not_bearer": {"Authorization": f"Basic {good}"},
        "garbage": bearer("garbage"),
        "tampered": bearer(_tamper(good, email="lead@example.com")),
        "expired": bearer(jwt.encode({**claims, "iat": now - 1000, "exp": now - 60},
                                     session_key(), algorithm="HS256")),
        "wrong_audience": bearer(jwt.encode({**claims, "aud": "sidecard"}, session_key(),
                                            algorithm="HS256")),
        "shopify_secret": bearer(jwt.encode(claims, app.config["SHOPIFY_API_SECRET"] * 4,
                                            algorithm="HS256")),
        "launch_token": bearer(launch_token(connection)),
    }[case]
    assert_unauthorized(client.get(WHOAMI, headers=headers))


def test_session_key_is_derived_not_the_raw_secrets(app):
    """The session key is neither SECRET_KEY nor the Shopify secret."""
    key = session_key()
    assert len(key) == 32
    assert key not in (app.config["SECRET_KEY"].encode(),
                       app.config["SHOPIFY_API_SECRET"].encode())


def test_session_for_another_shop_is_403(client, connection):
    """A session used on another shop's resources is refused."""
    token = open_session(client, connection)["token"]
    assert client.get(WHOAMI + "?shop=acme.myshopify.com",
                      headers=bearer(token)).status_code == 200
    response = client.get(WHOAMI + "?shop=other.myshopify.com", headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_session_dies_with_its_connection(client, connection):
    """Disabling the connection ends its sessions."""
    token = open_session(client, connection)["token"]
    connection.disabled_at = utcnow()
    db.session.commit()
    assert_unauthorized(client.get(WHOAMI, headers=bearer(token)))


def test_session_dies_with_the_install(client, connection):
    """Uninstalling the shop ends its sessions (shop_not_installed)."""
    token = open_session(client, connection)["token"]
    connection.shop.clear_tokens()
    connection.shop.uninstalled_at = utcnow()
    db.session.commit()
    assert_unauthorized(client.get(WHOAMI, headers=bearer(token)), "shop_not_installed")


def test_session_bound_to_its_connections_shop(client, app, connection):
    """A token whose shop claim differs from its connection's shop is refused."""
    make_shop("other.myshopify.com")
    claims = _session_claims(open_session(client, connection)["token"])
    forged = jwt.encode({**claims, "shop": "other.myshopify.com"}, session_key(),
                        algorithm="HS256")
    assert_unauthorized(client.get(WHOAMI, headers=bearer(forged)))


def test_decode_session_returns_agent_session(client, connection):
    """decode_session gives the agent, shop, connection and rows."""
    body = open_session(client, connection, conversation="12")
    session = decode_session(body["token"])
    assert (session.agent_id, session.email, session.identity) == (
        "agent-1", "agent@example.com", "asserted")
    assert session.shop.domain == session.shop_domain == "acme.myshopify.com"
    assert session.connection.id == connection.id and session.kind == "zendesk"
    assert session.conversation == "12" and not session.is_verified
    assert session.expires_at > session.issued_at
