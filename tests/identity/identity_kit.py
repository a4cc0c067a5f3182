"""Test stand-ins for agent identity: a real SMTP server and a Zendesk OAuth server.

Both run on loopback in background threads: `aiosmtpd` for mail, and a werkzeug server (via
`serve_sandbox`) for Zendesk's `/oauth/authorizations/new`, `/oauth/tokens`,
`/api/v2/users/me` and `DELETE /api/v2/oauth/tokens/current.json`, under
`/{account}/...` so that `ZENDESK_API_URL=http://127.0.0.1:<port>/{account}`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask import Flask, abort, jsonify, redirect, request

from plugin.sandbox.server import serve_sandbox

CLIENT_ID = "sidecard_test_client"
CLIENT_SECRET = "zendesk-client-secret-for-tests"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailSink:
    """An aiosmtpd handler that keeps every delivered message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd hook)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        """Forget what was delivered."""
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()

    def codes_for(self, address: str) -> list[str]:
        """The sign-in codes mailed to `address`, oldest first."""
        with self.lock:
            found = []
            for message in self.messages:
                if message["To"] != address:
                    continue
                body = message.get_payload(decode=True).decode()
                match = re.search(r"\b(\d{6})\b", body)
                if match:
                    found.append(match.group(1))
            return found

    def last_code(self, address: str) -> str:
        """The newest code mailed to `address`."""
        codes = self.codes_for(address)
        assert codes, f"no code was mailed to {address}"
        return codes[-1]


@dataclass
class SmtpServer:
    """A running aiosmtpd server."""

    sink: MailSink
    controller: Controller
    port: int

    @property
    def url(self) -> str:
        """SMTP_URL for this server."""
        return f"smtp://127.0.0.1:{self.port}"


def start_smtp(*, credentials: tuple[str, str] | None = None) -> SmtpServer:
    """Start a real SMTP server on a free loopback port (with AUTH when `credentials`)."""
    sink = MailSink()
    port = free_port()
    options: dict[str, Any] = {}
    if credentials is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode(), auth_data.password.decode()) == credentials
            return AuthResult(success=ok)

        options = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return SmtpServer(sink=sink, controller=controller, port=port)


# -- Zendesk ------------------------------------------------------------------------------


@dataclass
class ZendeskUser:
    """A user of one Zendesk account."""

    id: int
    email: str
    account: str
    name: str = "Agent"
    role: str = "agent"
    active: bool = True
    suspended: bool = False
    shared_agent: bool = False


@dataclass
class ZendeskState:
    """What the stand-in knows: signed-in users per account, codes and tokens issued."""

    base_url: str = ""
    signed_in: dict[str, ZendeskUser] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        """Back to nobody signed in."""
        self.signed_in.clear()
        self.codes.clear()
        self.tokens.clear()
        self.revoked.clear()
        self.token_requests.clear()

    def sign_in(self, user: ZendeskUser, account: str | None = None) -> None:
        """`user` is signed in to Zendesk at `account` (default: their own) in the popup."""
        self.signed_in[account or user.account] = user


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
        .rstrip(b"=").decode()


def create_zendesk_app(state: ZendeskState) -> Flask:
    """A Zendesk stand-in serving every account under `/{account}`."""
    app = Flask("zendesk_standin")

    @app.get("/<account>/oauth/authorizations/new")
    def authorize(account: str):
        args = request.args
        if (args.get("response_type") != "code" or args.get("client_id") != CLIENT_ID
                or args.get("code_challenge_method") != "S256"
                or not args.get("code_challenge") or not args.get("redirect_uri")):
            abort(400)
        user = state.signed_in.get(account)
        if user is None:
            abort(403)
        code = secrets.token_urlsafe(16)
        state.codes[code] = {"account": account, "user": user,
                             "challenge": args["code_challenge"],
                             "redirect_uri": args["redirect_uri"]}
        query = urlencode({"code": code, "state": args.get("state", "")})
        return redirect(f"{args['redirect_uri']}?{query}")

    @app.post("/<account>/oauth/tokens")
    def tokens(account: str):
        body = request.get_json(silent=True) or {}
        state.token_requests.append({"account": account, **body})
        issued = state.codes.pop(body.get("code") or "", None)
        if (body.get("grant_type") != "authorization_code" or issued is None
                or body.get("client_id") != CLIENT_ID
                or body.get("client_secret") != CLIENT_SECRET
                or issued["account"] != account
                or issued["redirect_uri"] != body.get("redirect_uri")
                or _challenge(body.get("code_verifier") or "") != issued["challenge"]):
            return jsonify({"error": "invalid_grant",
                            "error_description": "The provided authorization grant is "
                                                 "invalid"}), 400
        token = secrets.token_urlsafe(24)
        state.tokens[token] = {"account": account, "user": issued["user"]}
        return jsonify({"access_token": token, "token_type": "bearer",
                        "scope": body.get("scope", "read")})

    def _token_user(account: str) -> tuple[str, ZendeskUser] | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        held = state.tokens.get(token)
        if held is None or held["account"] != account:
            return None
        return token, held["user"]

    @app.get("/<account>/api/v2/users/me")
    def me(account: str):
        found = _token_user(account)
        if found is None:
            return jsonify({"error": "invalid_token"}), 401
        user = found[1]
        return jsonify({"user": {
            "id": user.id, "url": f"{state.base_url}/{user.account}/api/v2/users/{user.id}.json",
            "name": user.name, "email": user.email, "role": user.role, "active": user.active,
            "suspended": user.suspended, "shared_agent": user.shared_agent,
            "verified": True}})

    @app.delete("/<account>/api/v2/oauth/tokens/current.json")
    def revoke(account: str):
        found = _token_user(account)
        if found is None:
            return jsonify({"error": "invalid_token"}), 401
        state.tokens.pop(found[0], None)
        state.revoked.append(found[0])
        return "", 204

    return app


def start_zendesk() -> tuple[ZendeskState, Any]:
    """Serve the Zendesk stand-in over real HTTP; returns (state, stop)."""
    state = ZendeskState()
    base_url, stop = serve_sandbox(create_zendesk_app(state))
    state.base_url = base_url
    return state, stop


def callback_query(location: str) -> str:
    """The path and query of Zendesk's redirect to our callback."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def query_value(url: str, name: str) -> str | None:
    """One query parameter of a URL."""
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def popup_message(html: str) -> dict[str, Any]:
    """The message the callback page posts to the card."""
    import json

    match = re.search(r'<script type="application/json" id="sidecard-sign-in">(.*?)</script>',
                      html, re.S)
    assert match, "the callback page carries no message"
    return json.loads(match.group(1))


def verify(client, token: str, **body: Any):
    """POST /api/v1/sessions/verify with the session as bearer."""
    return client.post("/api/v1/sessions/verify", json=body,
                       headers={"Authorization": f"Bearer {token}"})
