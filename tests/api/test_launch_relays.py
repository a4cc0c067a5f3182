"""Launch relays for Zendesk (proxy-signed) and Kustomer (command), and Kustomer's launcher."""

from __future__ import annotations

import jwt
import pytest
from factories import bearer, launch_token, make_connection

from plugin.launch import verify_launch_token


@pytest.fixture
def zendesk(app):
    """A Zendesk connection."""
    return make_connection()


@pytest.fixture
def kustomer(app):
    """A Kustomer connection on the same shop."""
    return make_connection(kind="kustomer", account="acme")


def test_zendesk_relay_trades_a_proxy_signed_token_for_a_one_time_token(client, zendesk):
    """The relay spends the proxied token and answers a fresh token for the card POST."""
    proxied = launch_token(zendesk, conversation="1001", customer={"email": "b@example.com"})
    response = client.post("/api/v1/zendesk/launch", headers=bearer(proxied), json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["card_url"] == "http://127.0.0.1:5000/cards/zendesk"
    assert body["expires_in"] == 120
    claims = jwt.decode(body["launch_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120
    ctx = verify_launch_token(body["launch_token"])
    assert (ctx.agent.email, ctx.conversation, ctx.customer) == (
        "agent@example.com", "1001", {"email": "b@example.com"})
    assert ctx.identity == "asserted"
    again = client.post("/api/v1/zendesk/launch", headers=bearer(proxied))
    assert again.status_code == 401


def test_zendesk_relay_accepts_the_token_in_the_query(client, zendesk):
    """`?token=` works for proxies that put `{{jwt.token}}` in the URL."""
    response = client.post("/api/v1/zendesk/launch?token=" + launch_token(zendesk))
    assert response.status_code == 200


@pytest.mark.parametrize("case", ["missing", "bad", "other_kind"])
def test_zendesk_relay_refusals_are_401(client, app, case):
    """No token, a bad token, or a non-Zendesk connection's token is a 401."""
    other = make_connection(kind="api", account="bots")
    headers = {"missing": {}, "bad": bearer("nope"),
               "other_kind": bearer(launch_token(other))}[case]
    response = client.post("/api/v1/zendesk/launch", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def _kustomer_call(client, connection, secret=None, **body):
    payload = {"agent": {"id": "u1", "email": "Kim@Example.com", "name": "Kim"},
               "conversation": "c-9", "customer": {"email": "buyer@example.com"}, **body}
    return client.post(f"/api/v1/kustomer/launch?connection={connection.public_id}",
                       headers=bearer(secret or connection.signing_secret), json=payload)


def test_kustomer_command_gets_a_launch_token(client, kustomer):
    """A command carrying the secret gets a launch token for the named agent."""
    response = _kustomer_call(client, kustomer)
    assert response.status_code == 200
    body = response.get_json()
    assert body["card_url"].endswith("/cards/kustomer")
    ctx = verify_launch_token(body["launch_token"])
    assert (ctx.agent.id, ctx.agent.email, ctx.conversation) == ("u1", "kim@example.com", "c-9")
    assert ctx.connection.id == kustomer.id and ctx.identity == "asserted"


def test_kustomer_command_may_name_the_connection_in_a_header(client, kustomer):
    """`X-Sidecard-Connection` works as well as `?connection=`."""
    response = client.post("/api/v1/kustomer/launch", json={
        "agent": {"id": "u1", "email": "kim@example.com"}},
        headers={**bearer(kustomer.signing_secret),
                 "X-Sidecard-Connection": kustomer.public_id})
    assert response.status_code == 200


def test_kustomer_command_with_a_wrong_secret_is_401(client, kustomer):
    """A wrong secret is refused."""
    assert _kustomer_call(client, kustomer, secret="w" * 43).status_code == 401


def test_kustomer_relay_refuses_other_kinds(client, zendesk):
    """A Zendesk connection's secret does not open the Kustomer relay."""
    assert _kustomer_call(client, zendesk).status_code == 401


@pytest.mark.parametrize("body", [{"agent": None}, {"agent": {"id": "u1", "email": "nope"}},
                                  {"agent": {"id": "", "email": "a@example.com"}},
                                  {"customer": "buyer@example.com"}])
def test_kustomer_command_with_bad_input_is_400(client, kustomer, body):
    """Missing or malformed agent/customer fields are a 400."""
    response = _kustomer_call(client, kustomer, **body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_kustomer_launcher_is_framed_only_by_the_org(client, kustomer):
    """The launcher page allows exactly the connection's origins and carries no secret."""
    response = client.get(f"/launch/kustomer?connection={kustomer.public_id}")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.endswith("; frame-ancestors https://acme.kustomerapp.com")
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f"script-src 'nonce-{nonce}' https://cdn.kustomerapp.com;" in policy
    assert "unsafe-inline" not in policy
    page = response.get_data(as_text=True)
    assert "Kustomer.initialize" in page and kustomer.public_id in page
    assert page.count(f'nonce="{nonce}"') == 2  # the SDK and the page's own script
    assert "sidecard_acme.app.launch" in page
    assert kustomer.signing_secret not in page
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("query", ["", "?connection=conn_nope", "zendesk"])
def test_kustomer_launcher_for_unknown_connections_is_404(client, zendesk, query):
    """Unknown ids and non-Kustomer connections get a 404."""
    if query == "zendesk":
        query = f"?connection={zendesk.public_id}"
    assert client.get("/launch/kustomer" + query).status_code == 404
