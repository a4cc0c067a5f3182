"""Launch-token and Zendesk signed-URL verification (plugin/launch.py)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from factories import (
    launch_claims,
    launch_token,
    make_connection,
    make_shop,
    rsa_keypair,
    zendesk_signed_token,
)

from plugin.exceptions import AuthenticationError, ShopNotInstalledError
from plugin.extensions import db
from plugin.launch import (
    IDENTITY_ASSERTED,
    IDENTITY_VERIFIED,
    authenticate_connection_secret,
    mint_launch_token,
    verify_card_launch,
    verify_launch_token,
    verify_zendesk_signed_launch,
)
from plugin.models.base import utcnow
from plugin.models.helpdesk import UsedLaunchToken


@pytest.fixture
def connection(app):
    """A Zendesk connection on an installed shop."""
    return make_connection()


def test_good_launch_token_names_connection_shop_and_agent(connection):
    """A good token yields the connection, shop, agent and an asserted identity."""
    ctx = verify_launch_token(launch_token(
        connection, conversation=1001, name="Jane Agent", email="Jane@Example.com",
        customer={"email": "buyer@example.com", "phone": "+15551234567", "extra": "x"}))
    assert ctx.connection.id == connection.id
    assert ctx.shop_domain == "acme.myshopify.com"
    assert (ctx.agent.id, ctx.agent.email, ctx.agent.name) == ("agent-1", "jane@example.com",
                                                                "Jane Agent")
    assert ctx.identity == IDENTITY_ASSERTED
    assert ctx.conversation == "1001"
    assert ctx.customer == {"email": "buyer@example.com", "phone": "+15551234567"}
    assert ctx.kind == "zendesk" and ctx.source == "launch_token"


def test_jti_is_spent_in_the_database(connection):
    """Verifying stores the jti; the same token a second time is refused as reused."""
    token = launch_token(connection, jti="once")
    verify_launch_token(token)
    assert db.session.execute(db.select(UsedLaunchToken.jti)).scalars().all() == ["once"]
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(token)
    assert caught.value.extra["reason"] == "reused"
    assert caught.value.message == "launch token already used"


def test_same_jti_on_another_connection_is_independent(connection):
    """Single use is per connection: another connection may use the same jti."""
    other = make_connection(account="other")
    verify_launch_token(launch_token(connection, jti="shared"))
    assert verify_launch_token(launch_token(other, jti="shared")).connection.id == other.id


def test_expired_used_tokens_are_purged(connection):
    """Rows of tokens that can no longer verify are deleted when a new token is spent."""
    db.session.add(UsedLaunchToken(connection_id=connection.id, jti="old",
                                   expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    verify_launch_token(launch_token(connection, jti="new"))
    assert db.session.execute(db.select(UsedLaunchToken.jti)).scalars().all() == ["new"]


@pytest.mark.parametrize(("claims", "reason"), [
    (lambda now: {"exp": now - 120, "iat": now - 400}, "expired"),
    ({"aud": "someone-else"}, "wrong_audience"),
    ({"email": None}, "missing_claim"),
    ({"jti": None}, "missing_claim"),
    ({"sub": None}, "missing_claim"),
    (lambda now: {"iat": now, "exp": now + 601}, "lifetime"),
    (lambda now: {"iat": now + 120, "exp": now + 300}, "not_yet_valid"),
    ({"email": "not-an-email"}, "bad_claim"),
    ({"sub": 12345}, "invalid"),
    ({"customer": "buyer@example.com"}, "bad_claim"),
    ({"customer": {"email": ["a@example.com"]}}, "bad_claim"),
    ({"conversation": {"id": 1}}, "bad_claim"),
    ({"conversation": True}, "bad_claim"),
    ({"name": 7}, "bad_claim"),
])
def test_bad_claims_are_refused_with_a_reason(connection, claims, reason):
    """Each malformed or mis-addressed claim set is a 401 with its reason."""
    # Times are taken when the test runs, not at collection: a long run must not age them.
    if callable(claims):
        claims = claims(int(time.time()))
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(launch_token(connection, **claims))
    assert caught.value.http_status == 401
    assert caught.value.extra["reason"] == reason


def test_clock_skew_within_leeway_is_accepted(connection):
    """An iat up to 30 s in the future (helpdesk clock ahead) still verifies."""
    now = int(time.time())
    assert verify_launch_token(launch_token(connection, iat=now + 20, exp=now + 320))


def test_wrong_secret_is_refused(connection):
    """A token signed with another secret fails the signature check."""
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(launch_token(connection, "x" * 43))
    assert caught.value.extra["reason"] == "bad_signature"


def test_token_signed_with_another_connections_secret_is_refused(connection):
    """A token naming connection A signed with connection B's secret is refused."""
    other = make_connection(account="other")
    with pytest.raises(AuthenticationError):
        verify_launch_token(launch_token(connection, other.signing_secret))


def test_unknown_connection_is_refused(app):
    """An `iss` that names no connection is a 401."""
    connection = make_connection()
    token = jwt.encode(launch_claims(connection, iss="conn_nope"),
                       connection.signing_secret, algorithm="HS256")
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(token)
    assert caught.value.extra["reason"] == "unknown_connection"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", None, 42, "x" * 9000])
def test_non_tokens_are_refused(app, token):
    """Anything that is not a JWT is a 401, never a crash."""
    with pytest.raises(AuthenticationError):
        verify_launch_token(token)


def test_alg_none_is_refused(connection):
    """An unsigned token (alg none) is refused."""
    token = jwt.encode(launch_claims(connection), None, algorithm="none")
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(token)
    assert caught.value.extra["reason"] == "bad_algorithm"


def test_rs256_launch_token_is_refused(connection):
    """Launch tokens are HS256 only; an RS256 token is refused before any key is used."""
    token = jwt.encode(launch_claims(connection), rsa_keypair()[0], algorithm="RS256")
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(token)
    assert caught.value.extra["reason"] == "bad_algorithm"


def test_disabled_connection_is_refused(app):
    """A disabled connection's tokens are refused."""
    connection = make_connection(disabled=True)
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(launch_token(connection))
    assert caught.value.extra["reason"] == "connection_disabled"


def test_uninstalled_shop_is_refused_with_its_code(app):
    """A launch for an uninstalled shop is a 401 with code shop_not_installed."""
    connection = make_connection(make_shop(installed=False))
    with pytest.raises(ShopNotInstalledError) as caught:
        verify_launch_token(launch_token(connection))
    assert (caught.value.http_status, caught.value.code) == (401, "shop_not_installed")


def test_refused_tokens_are_logged_without_the_token(connection, caplog):
    """Logs carry the connection id and the reason, never the token."""
    token = launch_token(connection, aud="nope")
    with caplog.at_level(logging.INFO, logger="sidecard.launch"), \
            pytest.raises(AuthenticationError):
        verify_launch_token(token)
    assert connection.public_id in caplog.text and "wrong_audience" in caplog.text
    assert token not in caplog.text and token.split(".")[2] not in caplog.text


def test_minted_token_verifies_once(connection):
    """mint_launch_token signs a short-lived token that verify_launch_token accepts."""
    token = mint_launch_token(connection, agent_id="a1", email="a@example.com",
                              conversation="9", customer={"email": "b@example.com"},
                              ttl_seconds=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    assert verify_launch_token(token).customer == {"email": "b@example.com"}
    with pytest.raises(AuthenticationError):
        verify_launch_token(token)


def test_connection_secret_authenticates_server_calls(connection):
    """The right id and secret authenticate; a wrong secret or kind does not."""
    secret = connection.signing_secret
    assert authenticate_connection_secret(connection.public_id, secret).id == connection.id
    for public_id, presented, kind in [(connection.public_id, "wrong", None),
                                       ("conn_nope", secret, None),
                                       (connection.public_id, None, None),
                                       (connection.public_id, secret, "gorgias")]:
        with pytest.raises(AuthenticationError):
            authenticate_connection_secret(public_id, presented, kind=kind)


# --- Zendesk signed URLs -------------------------------------------------------------------

@pytest.fixture
def signed_connection(app):
    """A Zendesk connection configured for signed URLs (installation 42)."""
    return make_connection(zendesk_public_key=rsa_keypair()[1], zendesk_app_id="9",
                           zendesk_installation_id="42")


def test_zendesk_signed_url_naming_the_agent_is_verified(signed_connection):
    """A good RS256 token naming the agent gives a verified identity and the ticket."""
    ctx = verify_zendesk_signed_launch(zendesk_signed_token(), signed_connection)
    assert ctx.identity == IDENTITY_VERIFIED
    assert (ctx.agent.id, ctx.agent.email) == ("7", "agent@example.com")
    assert ctx.conversation == "1001" and ctx.source == "zendesk_signed_url"


def test_zendesk_signed_url_finds_its_connection(signed_connection):
    """Without a connection given, iss and aud pick the matching connection."""
    make_connection(account="other", zendesk_public_key=rsa_keypair()[1],
                    zendesk_installation_id="43")
    ctx = verify_zendesk_signed_launch(zendesk_signed_token())
    assert ctx.connection.id == signed_connection.id


def test_zendesk_issuer_may_carry_https(signed_connection):
    """`iss` is accepted with or without https://."""
    token = zendesk_signed_token(iss="https://acme.zendesk.com")
    assert verify_zendesk_signed_launch(token, signed_connection).identity == "verified"


@pytest.mark.parametrize(("claims", "reason"), [
    ({"aud": "https://acme.zendesk.com/api/v2/apps/installations/99.json"}, "wrong_audience"),
    ({"iss": "evil.zendesk.com"}, "wrong_issuer"),
    ({"context": {"product": "support", "location": "nav_bar",
                  "user": {"id": 7, "email": "a@example.com"}}}, "wrong_location"),
    ({"context": {"product": "chat", "location": "ticket_sidebar",
                  "user": {"id": 7, "email": "a@example.com"}}}, "wrong_location"),
    ({"context": {"product": "support", "location": "ticket_sidebar"}}, "agent_not_named"),
    ({"exp": int(time.time()) - 100, "iat": int(time.time()) - 400}, "expired"),
    ({"exp": None}, "missing_claim"),
])
def test_zendesk_signed_url_checks(signed_connection, claims, reason):
    """Audience, issuer, location, agent and expiry are all enforced."""
    with pytest.raises(AuthenticationError) as caught:
        verify_zendesk_signed_launch(zendesk_signed_token(**claims), signed_connection)
    assert caught.value.extra["reason"] == reason


def test_zendesk_signed_url_with_another_key_is_refused(signed_connection):
    """A token signed by another RSA key fails the signature check."""
    with pytest.raises(AuthenticationError) as caught:
        verify_zendesk_signed_launch(zendesk_signed_token(key_index=1), signed_connection)
    assert caught.value.extra["reason"] == "bad_signature"


def test_zendesk_alg_confusion_with_public_key_as_hmac_secret_is_refused(signed_connection):
    """HS256 signed with the public PEM (key confusion) is refused: RS256 only."""
    claims = jwt.decode(zendesk_signed_token(), options={"verify_signature": False})
    pem = rsa_keypair()[0].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    body = jwt.utils.base64url_encode(jwt.api_jwt.json.dumps(claims).encode())
    import hashlib
    import hmac

    signature = jwt.utils.base64url_encode(
        hmac.new(pem, header + b"." + body, hashlib.sha256).digest())
    forged = b".".join([header, body, signature]).decode()
    with pytest.raises(AuthenticationError) as caught:
        verify_zendesk_signed_launch(forged, signed_connection)
    assert caught.value.extra["reason"] == "bad_algorithm"


def test_zendesk_signed_url_needs_a_configured_key(connection):
    """A connection without a public key does not accept signed URLs."""
    with pytest.raises(AuthenticationError) as caught:
        verify_zendesk_signed_launch(zendesk_signed_token(), connection)
    assert caught.value.extra["reason"] == "not_configured"


def test_zendesk_signed_url_without_installation_id_checks_the_account(app):
    """With no installation id stored, any installation of this account is accepted."""
    connection = make_connection(zendesk_public_key=rsa_keypair()[1])
    assert verify_zendesk_signed_launch(zendesk_signed_token(installation_id="77"),
                                        connection).identity == "verified"
    other_account = zendesk_signed_token(
        aud="https://evil.zendesk.com/api/v2/apps/installations/77.json")
    with pytest.raises(AuthenticationError):
        verify_zendesk_signed_launch(other_account, connection)


def test_zendesk_signed_jti_is_single_use(signed_connection):
    """When Zendesk sends a jti, it is spent like a launch token's."""
    token = zendesk_signed_token(jti="z1")
    verify_zendesk_signed_launch(token, signed_connection)
    with pytest.raises(AuthenticationError) as caught:
        verify_zendesk_signed_launch(token, signed_connection)
    assert caught.value.extra["reason"] == "reused"


@pytest.mark.postgres_only
def test_concurrent_uses_of_one_token_let_exactly_one_through(app, connection):
    """Two workers racing on the same token: the database lets exactly one win."""
    import threading

    token = launch_token(connection)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def use() -> None:
        with app.app_context():
            barrier.wait()
            try:
                verify_launch_token(token)
                outcomes.append("ok")
            except AuthenticationError as exc:
                outcomes.append(exc.extra["reason"])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok", "reused"]


def test_kind_mismatch_is_refused_before_the_jti_is_spent(connection):
    """With kind=..., another kind's token is refused and stays unspent."""
    token = launch_token(connection)
    with pytest.raises(AuthenticationError) as caught:
        verify_launch_token(token, kind="kustomer")
    assert caught.value.extra["reason"] == "wrong_kind"
    assert verify_launch_token(token, kind="zendesk").kind == "zendesk"


def test_card_launch_takes_a_launch_token_or_a_zendesk_signed_token(app):
    """verify_card_launch accepts `launch_token`, or Zendesk's `token`, else refuses."""
    signed = make_connection(zendesk_public_key=rsa_keypair()[1],
                             zendesk_installation_id="42")
    assert verify_card_launch("zendesk", {"launch_token": launch_token(signed)}).identity == (
        IDENTITY_ASSERTED)
    assert verify_card_launch("zendesk", {"token": zendesk_signed_token()}).identity == (
        IDENTITY_VERIFIED)
    for kind, params in [("zendesk", {}), ("kustomer", {"token": zendesk_signed_token()})]:
        with pytest.raises(AuthenticationError) as caught:
            verify_card_launch(kind, params)
        assert caught.value.extra["reason"] == "missing"
