"""A stand-in for the helpdesks' note APIs (Zendesk, Gorgias, Kustomer): demo mode and tests.

A small WSGI app answering the calls Sidecard's adapters make, at the same paths:

    PUT  /api/v2/tickets/{id}.json                 Zendesk private comment (`ticket.comment`)
    GET  /api/v2/tickets/{id}/comments[.json]      Zendesk comments (`sort_order`, `page`)
    POST /api/tickets/{id}/messages                Gorgias message (`channel: internal-note`)
    GET  /api/tickets/{id}/messages, /api/messages?ticket_id=   Gorgias messages (`cursor`)
    POST /v1/notes                                 Kustomer note
    GET  /v1/conversations/{id}/notes              Kustomer notes (`page`, `pageSize`)
    GET  /_control/notes   POST /_control/faults   POST /_control/recover   POST /_control/reset

The account is the first label of the Host (`acme.zendesk.com`), or a `/{kind}/{account}`
prefix when served on a loopback port (`ZENDESK_API_URL=http://127.0.0.1:8002/zendesk/{account}`).
Faults (`fail`, `lose_next_response`) simulate a helpdesk that is down, rate limiting, or
that did the write but whose answer was lost; `recover` ends them.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from plugin.helpdesks.base import SANDBOX_KEY
from plugin.sandbox.wire import json_response as _json

__all__ = ["MOUNT_PATH", "Fault", "HelpdeskStandIn", "StoredNote", "install_stand_in"]

MOUNT_PATH = "/_helpdesk"
KINDS = ("zendesk", "gorgias", "kustomer")
PAGE_SIZE = 100
_TAG_RE = re.compile(r"<[^>]+>")

URLS = Map([
    Rule("/api/v2/tickets/<ticket>.json", endpoint="zendesk_update", methods=["PUT"]),
    Rule("/api/v2/tickets/<ticket>/comments", endpoint="zendesk_comments", methods=["GET"]),
    Rule("/api/v2/tickets/<ticket>/comments.json", endpoint="zendesk_comments",
         methods=["GET"]),
    Rule("/api/tickets/<ticket>/messages", endpoint="gorgias_create", methods=["POST"]),
    Rule("/api/tickets/<ticket>/messages", endpoint="gorgias_list", methods=["GET"]),
    Rule("/api/messages", endpoint="gorgias_list", methods=["GET"]),
    Rule("/v1/notes", endpoint="kustomer_create", methods=["POST"]),
    Rule("/v1/conversations/<conversation>/notes", endpoint="kustomer_list", methods=["GET"]),
    Rule("/_control/notes", endpoint="control_notes", methods=["GET"]),
    Rule("/_control/faults", endpoint="control_faults", methods=["GET", "POST"]),
    Rule("/_control/recover", endpoint="control_recover", methods=["POST"]),
    Rule("/_control/reset", endpoint="control_reset", methods=["POST"]),
], strict_slashes=False)


@dataclass
class Fault:
    """One simulated failure: answer `status` (with Retry-After when set) `times` times.

    `times` None lasts until `recover()`. With `lose_response` the write is done first and
    only the answer fails (a proxy timing out after the helpdesk acted). Lookups (GET) pass
    unless `writes_only` is False.
    """

    status: int = 503
    retry_after: float | None = None
    times: int | None = None
    kind: str | None = None
    lose_response: bool = False
    writes_only: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The fault as JSON."""
        return asdict(self)


@dataclass
class StoredNote:
    """A note as the stand-in holds it."""

    id: str
    kind: str
    account: str
    conversation: str
    body: str
    html: str | None = None
    public: bool | None = None
    channel: str | None = None
    external_id: str | None = None
    auth: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        """The note as JSON."""
        return asdict(self)


def _error_body(kind: str, status: int, text: str) -> dict[str, Any]:
    """An error body shaped like the helpdesk's own."""
    if kind == "zendesk":
        return {"error": {401: "Couldn't authenticate you", 404: "RecordNotFound",
                          429: "APIRateLimitExceeded"}.get(status, "ServiceUnavailable"),
                "description": text}
    if kind == "kustomer":
        return {"errors": [{"status": status, "code": f"http_{status}", "title": text}]}
    return {"error": {"msg": text}, "status": status}


class HelpdeskStandIn:
    """WSGI callable holding the notes it received; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self.notes: list[StoredNote] = []
        self.faults: list[Fault] = []
        self.gone: set[tuple[str, str, str]] = set()
        self.tokens: dict[tuple[str, str], str] = {}
        # (kind, method, path) of every API request, faults included.
        self.requests: list[tuple[str, str, str]] = []

    # -- controls ---------------------------------------------------------------------------

    def fail(self, status: int = 503, *, retry_after: float | None = None,
             times: int | None = None, kind: str | None = None, lose_response: bool = False,
             writes_only: bool = True) -> Fault:
        """Answer `status` until `recover()` (or `times` times); see `Fault`."""
        fault = Fault(status=status, retry_after=retry_after, times=times, kind=kind,
                      lose_response=lose_response, writes_only=writes_only)
        with self._lock:
            self.faults.append(fault)
        return fault

    def lose_next_response(self, *, kind: str | None = None, status: int = 504,
                           times: int = 1) -> Fault:
        """Store the next note(s), then answer `status` as if the answer was lost."""
        return self.fail(status, times=times, kind=kind, lose_response=True)

    def recover(self) -> None:
        """End every fault: the helpdesk is back."""
        with self._lock:
            self.faults.clear()

    def remove_conversation(self, kind: str, account: str, conversation: str) -> None:
        """Make a ticket/conversation disappear: its calls answer 404."""
        with self._lock:
            self.gone.add((kind, account, str(conversation)))

    def require_token(self, kind: str, account: str, token: str) -> None:
        """Accept only `token` for that account (others get 401)."""
        with self._lock:
            self.tokens[(kind, account)] = token

    def reset(self) -> None:
        """Forget notes, faults, removed conversations, tokens and the request log."""
        with self._lock:
            self.notes.clear()
            self.faults.clear()
            self.gone.clear()
            self.tokens.clear()
            self.requests.clear()

    def notes_for(self, kind: str | None = None, account: str | None = None,
                  conversation: str | None = None) -> list[StoredNote]:
        """The notes received, oldest first, optionally filtered."""
        with self._lock:
            return [n for n in self.notes
                    if (kind is None or n.kind == kind)
                    and (account is None or n.account == account)
                    and (conversation is None or n.conversation == str(conversation))]

    def writes(self, kind: str | None = None) -> int:
        """How many note writes (PUT/POST) reached the stand-in, failed ones included."""
        with self._lock:
            return sum(1 for k, method, _ in self.requests
                       if method in ("PUT", "POST") and (kind is None or k == kind))

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = _json({"error": exc.name}, exc.code or 500)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request (after taking off a `/{kind}/{account}` prefix)."""
        segments = request.path.strip("/").split("/")
        prefix, account = "", None
        if len(segments) > 2 and segments[0] in KINDS:
            prefix = f"{request.script_root}/{segments[0]}/{segments[1]}"
            account = segments[1]
            path = "/" + "/".join(segments[2:])
        else:
            prefix = request.script_root
            path = request.path
        if account is None:
            account = (request.host or "").split(":")[0].split(".")[0]
        endpoint, values = URLS.bind("stand-in").match(path, method=request.method)
        if endpoint.startswith("control_"):
            return getattr(self, endpoint)(request)
        kind = endpoint.split("_")[0]
        with self._lock:
            self.requests.append((kind, request.method, path))
            fault = self._take_fault(kind, request.method)
        if fault is not None and not fault.lose_response:
            return self._fault_response(kind, fault)
        token = self._token(kind, request.headers.get("Authorization", ""))
        expected = self.tokens.get((kind, account))
        if not token or (expected is not None and token != expected):
            return _json(_error_body(kind, 401, "invalid credentials"), 401)
        conversation = str(values.get("ticket") or values.get("conversation")
                           or request.args.get("ticket_id") or "")
        if (kind, account, conversation) in self.gone:
            return _json(_error_body(kind, 404, "not found"), 404)
        response = getattr(self, endpoint)(request, account=account, prefix=prefix,
                                           token=token, **values)
        if fault is not None:  # the write happened; its answer is lost
            return self._fault_response(kind, fault)
        return response

    def _take_fault(self, kind: str, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind not in (None, kind) or (fault.writes_only and method == "GET"):
                continue
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            return fault
        return None

    @staticmethod
    def _fault_response(kind: str, fault: Fault) -> Response:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after))
        return _json(_error_body(kind, fault.status, "simulated failure"), fault.status, headers)

    @staticmethod
    def _token(kind: str, header: str) -> str | None:
        """The API token in an Authorization header (Bearer, or Basic as each helpdesk uses)."""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() or None
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if kind == "zendesk" and "/token" in user:  # `{email}/token:{api_token}`
            return password or None
        return password if user and password else None

    def _store(self, **fields: Any) -> StoredNote:
        with self._lock:
            note = StoredNote(id=str(next(self._ids)), **fields)
            self.notes.append(note)
            return note

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}

    # -- Zendesk ----------------------------------------------------------------------------

    def zendesk_update(self, request: Request, *, account: str, prefix: str, token: str,
                       ticket: str) -> Response:
        """Update a ticket: a `comment` becomes a (private) comment."""
        if not ticket.isdigit():
            return _json(_error_body("zendesk", 404, "not found"), 404)
        comment = (self._body(request).get("ticket") or {}).get("comment")
        if not isinstance(comment, dict) or not (comment.get("body") or comment.get("html_body")):
            return _json({"error": "RecordInvalid", "description": "Comment: cannot be blank"},
                         422)
        body = str(comment.get("body") or _TAG_RE.sub("", str(comment.get("html_body"))))
        note = self._store(kind="zendesk", account=account, conversation=ticket, body=body,
                           html=comment.get("html_body"), public=comment.get("public", True),
                           auth=request.headers.get("Authorization", "").split(" ")[0])
        audit_id = int(note.id) + 500000
        return _json({"ticket": {"id": int(ticket), "url": f"{prefix}/api/v2/tickets/"
                                 f"{ticket}.json"},
                      "audit": {"id": audit_id, "ticket_id": int(ticket),
                                "events": [{"id": int(note.id), "type": "Comment",
                                            "body": body, "public": note.public}]}})

    def zendesk_comments(self, request: Request, *, account: str, prefix: str, token: str,
                         ticket: str) -> Response:
        """List a ticket's comments (`sort_order`, offset `page`)."""
        notes = self.notes_for("zendesk", account, ticket)
        if request.args.get("sort_order") == "desc":
            notes.reverse()
        page = max(int(request.args.get("page", "1") or 1), 1)
        chunk = notes[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        more = len(notes) > page * PAGE_SIZE
        next_page = (f"{request.host_url.rstrip('/')}{prefix}/api/v2/tickets/{ticket}/comments"
                     f"?sort_order={request.args.get('sort_order', 'asc')}&page={page + 1}"
                     if more else None)
        return _json({"comments": [{"id": int(n.id), "type": "Comment", "body": n.body,
                                    "plain_body": n.body,
                                    "html_body": n.html or f"<p>{html.escape(n.body)}</p>",
                                    "public": n.public, "created_at": n.created_at}
                                   for n in chunk],
                      "next_page": next_page, "previous_page": None, "count": len(notes)})

    # -- Gorgias ----------------------------------------------------------------------------

    def _gorgias_message(self, note: StoredNote) -> dict[str, Any]:
        return {"id": int(note.id), "ticket_id": int(note.conversation), "channel": note.channel,
                "via": "api", "from_agent": True, "public": False, "body_text": note.body,
                "body_html": note.html, "external_id": note.external_id,
                "created_datetime": note.created_at}

    def gorgias_create(self, request: Request, *, account: str, prefix: str, token: str,
                       ticket: str) -> Response:
        """Create a message; `channel: internal-note` makes it an internal note."""
        if not ticket.isdigit():
            return _json(_error_body("gorgias", 404, "not found"), 404)
        body = self._body(request)
        missing = [f for f in ("channel", "from_agent") if body.get(f) in (None, "")]
        if not (body.get("body_text") or body.get("body_html")):
            missing.append("body_text")
        if missing:
            return _json({"error": {"msg": "validation error",
                                    "data": {f: ["Missing data for required field."]
                                             for f in missing}}}, 400)
        note = self._store(kind="gorgias", account=account, conversation=ticket,
                           body=str(body.get("body_text") or ""), html=body.get("body_html"),
                           channel=str(body["channel"]), external_id=body.get("external_id"),
                           public=body["channel"] != "internal-note",
                           auth=request.headers.get("Authorization", "").split(" ")[0])
        return _json(self._gorgias_message(note), 201)

    def gorgias_list(self, request: Request, *, account: str, prefix: str, token: str,
                     ticket: str | None = None) -> Response:
        """List a ticket's messages, newest first by default (`cursor`, `limit`)."""
        ticket = ticket or request.args.get("ticket_id") or ""
        notes = self.notes_for("gorgias", account, ticket)
        if request.args.get("order_by", "created_datetime:desc").endswith(":desc"):
            notes.reverse()
        limit = min(max(int(request.args.get("limit", "30") or 30), 1), 100)
        start = int(request.args.get("cursor", "0") or 0)
        chunk = notes[start:start + limit]
        more = len(notes) > start + limit
        return _json({"object": "list", "data": [self._gorgias_message(n) for n in chunk],
                      "meta": {"next_cursor": str(start + limit) if more else None,
                               "prev_cursor": None}})

    # -- Kustomer ---------------------------------------------------------------------------

    @staticmethod
    def _kustomer_note(note: StoredNote) -> dict[str, Any]:
        return {"type": "note", "id": note.id,
                "attributes": {"body": note.body, "externalId": note.external_id,
                               "createdAt": note.created_at},
                "relationships": {"conversation": {"data": {"type": "conversation",
                                                            "id": note.conversation}}}}

    def kustomer_create(self, request: Request, *, account: str, prefix: str,
                        token: str) -> Response:
        """Create a note on a conversation."""
        body = self._body(request)
        conversation, text = str(body.get("conversation") or ""), body.get("body")
        if not conversation or not isinstance(text, str) or not 1 <= len(text) <= 10240:
            return _json(_error_body("kustomer", 400, "conversation and body (1-10240 "
                                                      "characters) are required"), 400)
        if ("kustomer", account, conversation) in self.gone:
            return _json(_error_body("kustomer", 404, "conversation not found"), 404)
        note = self._store(kind="kustomer", account=account, conversation=conversation,
                           body=text, external_id=body.get("externalId"), public=False,
                           auth=request.headers.get("Authorization", "").split(" ")[0])
        return _json({"data": self._kustomer_note(note)}, 201)

    def kustomer_list(self, request: Request, *, account: str, prefix: str, token: str,
                      conversation: str) -> Response:
        """List a conversation's notes (`page`, `pageSize`)."""
        notes = self.notes_for("kustomer", account, conversation)
        size = min(max(int(request.args.get("pageSize", "100") or 100), 1), 100)
        page = max(int(request.args.get("page", "1") or 1), 1)
        chunk = notes[(page - 1) * size: page * size]
        more = len(notes) > page * size
        base = f"{prefix}/v1/conversations/{conversation}/notes"
        return _json({"data": [self._kustomer_note(n) for n in chunk],
                      "links": {"self": f"{base}?page={page}&pageSize={size}",
                                "next": f"{base}?page={page + 1}&pageSize={size}"
                                if more else None}})

    # -- control ----------------------------------------------------------------------------

    def control_notes(self, request: Request) -> Response:
        """The notes received (`kind`, `account`, `conversation` filters)."""
        notes = self.notes_for(request.args.get("kind"), request.args.get("account"),
                               request.args.get("conversation"))
        return _json({"notes": [n.to_dict() for n in notes], "writes": self.writes()})

    def control_faults(self, request: Request) -> Response:
        """GET: the active faults; POST {status, retry_after, times, kind, lose_response}."""
        if request.method == "POST":
            body = self._body(request)
            fault = self.fail(int(body.get("status", 503)), retry_after=body.get("retry_after"),
                              times=body.get("times"), kind=body.get("kind"),
                              lose_response=bool(body.get("lose_response")),
                              writes_only=bool(body.get("writes_only", True)))
            return _json(fault.to_dict(), 201)
        with self._lock:
            return _json({"faults": [f.to_dict() for f in self.faults]})

    def control_recover(self, request: Request) -> Response:
        """End every fault."""
        self.recover()
        return _json({"ok": True})

    def control_reset(self, request: Request) -> Response:
        """Forget everything."""
        self.reset()
        return _json({"ok": True})


def install_stand_in(app: Flask) -> HelpdeskStandIn | None:
    """Send the app's helpdesk calls to a stand-in when HELPDESK_SANDBOX asks for one.

    HELPDESK_SANDBOX: a `HelpdeskStandIn` (use it), True (build one), False (real helpdesks);
    unset means True in demo mode and in tests (TESTING), so neither ever reaches a real
    helpdesk by accident. In demo mode it is also served at `/_helpdesk` (its `_control`
    pages show the notes the tickets received).
    """
    setting = app.config.get("HELPDESK_SANDBOX")
    if setting is None:
        setting = bool(app.config.get("DEMO_MODE") or app.config.get("TESTING"))
    if setting is False:
        return None
    stand_in = setting if isinstance(setting, HelpdeskStandIn) else HelpdeskStandIn()
    app.extensions[SANDBOX_KEY] = stand_in
    if app.config.get("DEMO_MODE"):
        app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, {MOUNT_PATH: stand_in})
    return stand_in
