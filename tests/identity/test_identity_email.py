"""One-time sign-in codes by email, delivered through a real SMTP server on loopback."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from factories import bearer, open_session
from identity_kit import start_smtp, verify

from plugin.exceptions import ConfigurationError, RateLimitedError
from plugin.extensions import db
from plugin.identity import email_codes
from plugin.identity.mailer import parse_smtp_url
from plugin.models.audit import AuditEvent
from plugin.models.base import utcnow
from plugin.models.identity import VerificationCode, VerificationFailure
from plugin.sessions import decode_session

AGENT = "agent@example.com"


def ask_code(client, token):
    """Ask for a code; assert it was accepted."""
    response = verify(client, token, method="email")
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_code_is_mailed_and_verifies_the_session(client, connection, mailbox):
    """The code mailed to the agent turns the session verified and issues a device credential."""
    session = open_session(client, connection)
    assert session["agent"]["identity"] == "asserted"
    sent = ask_code(client, session["token"])
    assert sent == {"status": "sent", "sent_to": "ag***@example.com", "expires_in": 600}
    code = mailbox.last_code(AGENT)

    response = verify(client, session["token"], method="email", code=code,
                      device_id="device-0001")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["agent"] == {"id": "agent-1", "email": AGENT, "name": "Agent One",
                             "identity": "verified"}
    assert body["device_credential"].startswith("dc_")
    assert body["expires_in"] == 900
    upgraded = decode_session(body["token"])
    assert upgraded.identity == "verified" and upgraded.verified_by == "email_code"
    assert upgraded.connection_id == connection.public_id


def test_code_email_goes_from_mail_from_to_the_agent(client, connection, mailbox):
    """The message is addressed to the session agent, from MAIL_FROM, with 6 digits."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["From"] == "Sidecard <sidecard@example.com>"
    assert message["To"] == AGENT
    assert mailbox.envelopes[0][1] == [AGENT]
    code = mailbox.last_code(AGENT)
    assert len(code) == 6 and code in message["Subject"]


def test_code_is_stored_only_as_a_hash(client, connection, mailbox):
    """The database never holds the code itself."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    code = mailbox.last_code(AGENT)
    row = db.session.execute(db.select(VerificationCode)).scalar_one()
    assert code not in (row.code_hash, row.salt)
    assert len(row.code_hash) == 64
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_wrong_code_is_refused_with_tries_left(client, connection, mailbox):
    """A wrong code answers 400 and says how many tries are left."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    wrong = f"{(int(mailbox.last_code(AGENT)) + 1) % 1_000_000:06d}"
    response = verify(client, session["token"], method="email", code=wrong)
    assert response.status_code == 400
    assert response.get_json() | {"message": ""} == {
        "error": "verification_failed", "message": "", "reason": "wrong_code",
        "attempts_left": 4}


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", 123456, None])
def test_malformed_code_is_a_bad_request_and_costs_no_try(client, connection, mailbox, code):
    """Anything but 6 digits is 400 without spending a try."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    response = verify(client, session["token"], method="email", code=code)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert db.session.execute(db.select(VerificationCode.attempts)).scalar_one() == 0


def test_expired_code_is_refused(client, connection, mailbox):
    """A code older than 10 minutes answers 400 `expired`, even when right."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    row = db.session.execute(db.select(VerificationCode)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = verify(client, session["token"], method="email", code=mailbox.last_code(AGENT))
    assert response.status_code == 400
    assert response.get_json()["reason"] == "expired"


def test_reused_code_is_refused(client, connection, mailbox):
    """A code works once: the second use answers 400 `used`."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    code = mailbox.last_code(AGENT)
    assert verify(client, session["token"], method="email", code=code).status_code == 200
    again = open_session(client, connection)
    response = verify(client, again["token"], method="email", code=code)
    assert response.status_code == 400
    assert response.get_json()["reason"] == "used"


def test_code_without_asking_is_refused(client, connection):
    """Sending a code before asking for one answers 400 `no_code`."""
    session = open_session(client, connection)
    response = verify(client, session["token"], method="email", code="123456")
    assert response.status_code == 400
    assert response.get_json()["reason"] == "no_code"


def test_five_wrong_tries_lock_the_code(client, connection, mailbox):
    """After 5 tries the code is locked (429), even for the right code."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    code = mailbox.last_code(AGENT)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    statuses = [verify(client, session["token"], method="email", code=wrong).status_code
                for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    response = verify(client, session["token"], method="email", code=code)
    assert response.status_code == 429
    assert response.get_json()["reason"] == "locked"
    assert decode_session(session["token"]).identity == "asserted"


def test_new_code_after_a_lock_works(client, connection, mailbox):
    """A locked agent may ask for a new code (within the send limit) and use it."""
    session = open_session(client, connection)
    ask_code(client, session["token"])
    wrong = f"{(int(mailbox.last_code(AGENT)) + 3) % 1_000_000:06d}"
    for _ in range(5):
        verify(client, session["token"], method="email", code=wrong)
    ask_code(client, session["token"])
    response = verify(client, session["token"], method="email", code=mailbox.last_code(AGENT))
    assert response.status_code == 200


def test_agent_may_ask_three_codes_per_ten_minutes(client, connection, mailbox):
    """The fourth code within 10 minutes answers 429 with Retry-After."""
    session = open_session(client, connection)
    for _ in range(3):
        ask_code(client, session["token"])
    response = verify(client, session["token"], method="email")
    assert response.status_code == 429
    assert response.get_json()["reason"] == "too_many_codes"
    assert 0 < int(response.headers["Retry-After"]) <= 600
    assert len(mailbox.messages) == 3


def test_sends_are_capped_per_connection(client, connection, mailbox):
    """After 20 codes in 10 minutes on one connection, nobody there gets another."""
    now = utcnow()
    for n in range(20):
        db.session.add(VerificationCode(
            connection_id=connection.id, agent_email=f"agent{n}@example.com", agent_id=str(n),
            code_hash="0" * 64, salt="0" * 32, created_at=now - timedelta(seconds=n),
            expires_at=now + timedelta(minutes=5)))
    db.session.commit()
    session = open_session(client, connection)
    response = verify(client, session["token"], method="email")
    assert response.status_code == 429
    assert response.get_json()["reason"] == "connection_busy"
    assert "Retry-After" in response.headers
    assert mailbox.messages == []


def test_failed_tries_are_slowed_per_connection(client, connection, mailbox, monkeypatch):
    """Many wrong codes across agents slow every try on the connection, right ones too."""
    # The clock stands still: 10 failures slow the next try for only 1 s, which a loaded
    # machine can outlast between the last wrong code and the right one.
    frozen = utcnow()
    monkeypatch.setattr(email_codes, "utcnow", lambda: frozen)
    for n in range(2):
        guesser = open_session(client, connection, sub=f"g{n}", email=f"g{n}@example.com")
        ask_code(client, guesser["token"])
        wrong = f"{(int(mailbox.last_code(f'g{n}@example.com')) + 1) % 1_000_000:06d}"
        for _ in range(5):
            verify(client, guesser["token"], method="email", code=wrong)
    session = open_session(client, connection)
    ask_code(client, session["token"])
    code = mailbox.last_code(AGENT)

    slowed = verify(client, session["token"], method="email", code=code)
    assert slowed.status_code == 429
    assert slowed.get_json()["reason"] == "slowed"
    assert int(slowed.headers["Retry-After"]) >= 1
    assert db.session.execute(
        db.select(VerificationCode.attempts).where(VerificationCode.agent_email == AGENT)
    ).scalar_one() == 0  # a slowed try is not counted against the agent

    for failure in db.session.execute(db.select(VerificationFailure)).scalars():
        failure.created_at -= timedelta(seconds=5)  # the agent waited
    db.session.commit()
    assert verify(client, session["token"], method="email", code=code).status_code == 200


def test_slowing_grows_with_failures(app, connection):
    """Each failure past the threshold doubles the wait."""
    now = utcnow()
    for _ in range(14):
        db.session.add(VerificationFailure(connection_id=connection.id,
                                           agent_email="x@example.com", created_at=now))
    db.session.commit()
    with pytest.raises(RateLimitedError) as caught:
        email_codes.check_code(connection, email=AGENT, code="123456", now=now)
    assert caught.value.extra == {"reason": "slowed", "retry_after": 16}


def test_code_of_one_agent_does_not_verify_another(client, connection, mailbox):
    """Claims altered in the browser: a session claiming the lead cannot use its own code."""
    attacker = open_session(client, connection, sub="a", email="attacker@example.com")
    ask_code(client, attacker["token"])
    own_code = mailbox.last_code("attacker@example.com")
    forged = open_session(client, connection, sub="a", email="lead@example.com")
    ask_code(client, forged["token"])  # goes to the lead's inbox, not the attacker's
    assert mailbox.codes_for("attacker@example.com") == [own_code]
    response = verify(client, forged["token"], method="email", code=own_code)
    assert response.status_code == 400
    assert decode_session(forged["token"]).identity == "asserted"


def test_code_of_one_connection_does_not_verify_another(client, connection, other_connection,
                                                        mailbox):
    """The same agent on another connection needs that connection's code."""
    first = open_session(client, connection)
    ask_code(client, first["token"])
    code = mailbox.last_code(AGENT)
    second = open_session(client, other_connection)
    response = verify(client, second["token"], method="email", code=code)
    assert response.status_code == 400
    assert response.get_json()["reason"] == "no_code"


def test_verification_is_audited(client, connection, mailbox):
    """A verification leaves an `identity.verified` audit row with the identity."""
    session = open_session(client, connection, conversation="1001")
    ask_code(client, session["token"])
    verify(client, session["token"], method="email", code=mailbox.last_code(AGENT))
    event = db.session.execute(db.select(AuditEvent)).scalar_one()
    assert (event.event, event.status, event.agent_email, event.agent_identity,
            event.connection_id, event.conversation) == (
        "identity.verified", "email_code", AGENT, "verified", connection.public_id, "1001")


def test_codes_and_tokens_are_never_logged(client, connection, mailbox, caplog):
    """Neither the code, the tokens nor the full email address reach the logs."""
    caplog.set_level(logging.DEBUG)
    session = open_session(client, connection)
    ask_code(client, session["token"])
    code = mailbox.last_code(AGENT)
    verify(client, session["token"], method="email", code="000000" if code != "000000"
           else "111111")
    body = verify(client, session["token"], method="email", code=code).get_json()
    # mail.log is the test SMTP server's own log of what it received, not Sidecard's.
    text = "\n".join(record.getMessage() for record in caplog.records
                     if not record.name.startswith("mail.log"))
    assert "code accepted" in text
    for secret in (code, session["token"], body["token"], body["device_credential"], AGENT):
        assert secret not in text


def test_email_method_is_off_without_smtp(app, client, connection):
    """Without SMTP_URL (and not in demo mode) asking for a code answers 503."""
    app.config["SMTP_URL"] = None
    session = open_session(client, connection)
    response = verify(client, session["token"], method="email")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "unavailable" and body["reason"] == "email_disabled"
    assert "SMTP_URL" in body["message"]
    status = client.get("/api/v1/sessions/verify", headers=bearer(session["token"]))
    assert status.get_json()["methods"]["email"] is False


def test_unreachable_mail_server_answers_502_and_keeps_no_code(app, client, connection):
    """A mail server that cannot be reached is a 502, and no code row is left behind."""
    from identity_kit import free_port

    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    session = open_session(client, connection)
    response = verify(client, session["token"], method="email")
    assert response.status_code == 502
    assert response.get_json()["error"] == "mail_failed"
    assert db.session.execute(db.select(VerificationCode)).first() is None


def test_smtp_credentials_from_the_url_are_used(app, client, connection):
    """`smtp://user:pass@host:port` logs in before sending."""
    server = start_smtp(credentials=("mailer", "p@ss word"))
    try:
        app.config["SMTP_URL"] = f"smtp://mailer:p%40ss%20word@127.0.0.1:{server.port}"
        session = open_session(client, connection)
        ask_code(client, session["token"])
        assert server.sink.codes_for(AGENT)
    finally:
        server.controller.stop()


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", ("smtp", "mail.example.com", 25, None, None)),
    ("smtp://u:p@mail.example.com:587", ("smtp", "mail.example.com", 587, "u", "p")),
    ("smtps://a%40b.com:s%2Fecret@smtp.example.com", ("smtps", "smtp.example.com", 465,
                                                     "a@b.com", "s/ecret")),
])
def test_smtp_url_is_parsed(url, expected):
    """Scheme, host, port (defaults 25/465) and url-encoded credentials."""
    settings = parse_smtp_url(url)
    assert (settings.scheme, settings.host, settings.port, settings.username,
            settings.password) == expected


def test_smtp_password_is_not_in_the_repr():
    """Settings print without their password."""
    assert "hunter2" not in repr(parse_smtp_url("smtp://me:hunter2@mail.example.com"))


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtp://host:notaport"])
def test_bad_smtp_url_is_refused(url):
    """Other schemes, no host or a bad port are configuration errors."""
    with pytest.raises(ConfigurationError):
        parse_smtp_url(url)


def test_bad_smtp_url_stops_start_up():
    """A malformed SMTP_URL stops the app at start-up, naming the variable."""
    from cryptography.fernet import Fernet

    from plugin import create_app

    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        create_app({"TESTING": True, "DOTENV_PATH": None, "DATABASE_URL": "sqlite://",
                    "SHOPIFY_API_KEY": "test-key", "SHOPIFY_API_SECRET": "test-secret",
                    "SECRET_KEY": "test-secret-key-for-sidecard-only",
                    "ENCRYPTION_KEY": Fernet.generate_key().decode(),
                    "SMTP_URL": "mailto:nobody"})


@pytest.mark.postgres_only
def test_parallel_guesses_never_exceed_five_tries(app, client, connection, mailbox):
    """Concurrent wrong guesses spend at most the 5 tries; the rest are refused as locked."""
    from concurrent.futures import ThreadPoolExecutor

    from plugin.exceptions import VerificationFailedError

    session = open_session(client, connection)
    ask_code(client, session["token"])
    wrong = f"{(int(mailbox.last_code(AGENT)) + 5) % 1_000_000:06d}"
    connection_id = connection.id

    def guess(_):
        with app.app_context():
            from plugin.models.helpdesk import HelpdeskConnection

            conn = db.session.get(HelpdeskConnection, connection_id)
            try:
                email_codes.check_code(conn, email=AGENT, code=wrong)
            except RateLimitedError as exc:
                return exc.extra["reason"]
            except VerificationFailedError as exc:
                return exc.extra["reason"]
            finally:
                db.session.remove()
            return "accepted"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(16)))
    assert "accepted" not in outcomes
    assert outcomes.count("wrong_code") <= 4
    db.session.expire_all()
    assert db.session.execute(db.select(VerificationCode.attempts)).scalar_one() == 5


def test_verifying_answers_the_permissions_of_verified_only_sets(client, connection, mailbox):
    """Once verified, the answer carries the set that requires a verified identity."""
    from plugin.permissions import store_permissions

    store_permissions(connection.shop_id, {
        "enabled_actions": ["refund", "edit_tags"], "default": "Tier 1",
        "permission_sets": [
            {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
             "require_verified_identity": True, "agents": [AGENT]},
            {"name": "Tier 1", "actions": ["edit_tags"], "refund_limit": "0.00",
             "can_approve": False, "agents": ["*@example.com"]}]})
    db.session.commit()
    session = open_session(client, connection)
    assert session["permissions"]["set"] == "Tier 1"
    ask_code(client, session["token"])
    response = verify(client, session["token"], method="email",
                      code=mailbox.last_code(AGENT), device_id="device-0002")
    assert response.status_code == 200, response.get_json()
    permissions = response.get_json()["permissions"]
    assert permissions["set"] == "Leads" and permissions["can_approve"] is True
    assert permissions["actions"] == ["refund", "edit_tags"]
