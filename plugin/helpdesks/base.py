"""The base class every helpdesk adapter extends, and helpers they share."""

from __future__ import annotations

import atexit
import email.utils
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from flask import Flask, current_app

from plugin.exceptions import (
    HelpdeskAuthError,
    HelpdeskNotFoundError,
    HelpdeskRateLimitedError,
    HelpdeskRejectedError,
    HelpdeskUnavailableError,
    ValidationError,
)

if TYPE_CHECKING:
    from plugin.launch import LaunchContext
    from plugin.models.helpdesk import HelpdeskConnection

# A helpdesk account label: subdomain-like, lower-case.
SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Server-to-server helpdesk calls (Gorgias integration, Kustomer command) name their
# connection in this header (or `?connection=`) and send its secret as a bearer token.
CONNECTION_HEADER = "X-Sidecard-Connection"
# Hosts allowed over plain http in `frame-ancestors` (local development only).
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}

# Note calls (plugin/notes): one pooled httpx client per helpdesk kind, kept in
# `app.extensions[HTTP_CLIENTS_KEY]`; when `app.extensions[SANDBOX_KEY]` holds the helpdesk
# stand-in (demo mode, tests; plugin/sandbox/helpdesk.py) the clients send to it in-process.
HTTP_CLIENTS_KEY = "helpdesk_http_clients"
SANDBOX_KEY = "helpdesk_sandbox"
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT = 10.0
# A 429 without Retry-After waits this long; a Retry-After is never followed past the cap.
DEFAULT_RATE_LIMIT_WAIT = 60.0
MAX_RETRY_AFTER_SECONDS = 3600.0
# Error codes from helpdesk bodies are shown in `last_error`: short, plain tokens only.
_ERROR_CODE_RE = re.compile(r"[^A-Za-z0-9 _.:-]+")

_clients_lock = threading.Lock()
_open_clients: weakref.WeakSet[httpx.Client] = weakref.WeakSet()


def _close_open_clients() -> None:
    """Close every helpdesk pool still open when the process exits."""
    for client in list(_open_clients):
        client.close()


atexit.register(_close_open_clients)


@dataclass(frozen=True)
class HelpdeskCredentials:
    """Decrypted API credentials of one connection; build it at the edge of a call only."""

    user: str | None
    token: str | None

    def __repr__(self) -> str:  # never print secrets by accident
        return f"HelpdeskCredentials(user={'set' if self.user else None}, token=***)"


def normalize_origin(value: str) -> str:
    """Check one `frame-ancestors` origin and return it canonical (scheme://host[:port]).

    A leading `*.` label is allowed (`https://*.kustomerapp.com`); `*` alone, paths, queries
    and plain http outside localhost are not.

    :raises ValidationError: the value is not an acceptable origin.
    """
    raw = (value or "").strip()
    if not raw or raw == "*" or any(c.isspace() for c in raw) or ";" in raw or "," in raw:
        raise ValidationError(f"not a frame origin: {value!r}")
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationError(f"frame origin needs https://host: {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValidationError(f"frame origin must be scheme://host[:port] only: {value!r}")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ValidationError(f"frame origin must use https: {value!r}")
    labels = host.split(".")
    if labels[0] == "*":
        labels = labels[1:]
        if len(labels) < 2:
            raise ValidationError(f"wildcard frame origin is too broad: {value!r}")
    if not all(re.fullmatch(r"[a-z0-9-]+", label) for label in labels):
        raise ValidationError(f"frame origin has an invalid host: {value!r}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP date), capped.

    None when the header is absent or unreadable.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def helpdesk_timeout(config: Any, limit: float | None = None) -> httpx.Timeout:
    """Explicit timeouts for helpdesk calls (HELPDESK_CONNECT/READ_TIMEOUT), at most `limit`."""
    connect = float(config.get("HELPDESK_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT))
    read = float(config.get("HELPDESK_READ_TIMEOUT", DEFAULT_READ_TIMEOUT))
    if limit is not None:
        connect, read = min(connect, limit), min(read, limit)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def build_helpdesk_http_client(app: Flask) -> httpx.Client:
    """A pooled client for helpdesk APIs: the in-process stand-in when one is installed."""
    stand_in = app.extensions.get(SANDBOX_KEY)
    transport: httpx.BaseTransport
    if stand_in is not None:
        transport = httpx.WSGITransport(app=stand_in)
    else:
        transport = httpx.HTTPTransport(
            retries=0, limits=httpx.Limits(max_connections=10, max_keepalive_connections=5,
                                           keepalive_expiry=30.0))
    client = httpx.Client(transport=transport, timeout=helpdesk_timeout(app.config),
                          follow_redirects=False)
    _open_clients.add(client)
    return client


def helpdesk_http_client(kind: str) -> httpx.Client:
    """The current app's pooled client for one helpdesk kind (created on first use)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    clients: dict[str, httpx.Client] = app.extensions.setdefault(HTTP_CLIENTS_KEY, {})
    client = clients.get(kind)
    if client is None:
        with _clients_lock:
            client = clients.get(kind)
            if client is None:
                client = clients[kind] = build_helpdesk_http_client(app)
    return client


def _error_code(response: httpx.Response) -> str | None:
    """A short error code from a helpdesk error body (`error`, `code`), never free text."""
    try:
        body = response.json()
    except ValueError:
        return None
    candidates: list[Any] = []
    if isinstance(body, dict):
        candidates += [body.get("error"), body.get("code")]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            candidates += [errors[0].get("code"), errors[0].get("title")]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return _ERROR_CODE_RE.sub("", value.strip())[:60] or None
    return None


def send_request(client: httpx.Client, method: str, url: str, *, helpdesk: str,
                 authorization: str, json: Any = None, params: dict[str, Any] | None = None,
                 timeout: httpx.Timeout | float | None = None) -> httpx.Response:
    """Send one helpdesk API call and return its 2xx response; anything else raises.

    :raises HelpdeskRateLimitedError: 429 (`retry_after` from Retry-After, else a default).
    :raises HelpdeskAuthError: 401/403.
    :raises HelpdeskNotFoundError: 404/410.
    :raises HelpdeskRejectedError: 400/413/422 (the request itself is refused).
    :raises HelpdeskUnavailableError: 5xx, other 4xx, timeouts, connection errors;
        `outcome_unknown` says whether the request may have been acted on.
    """
    headers = {"Authorization": authorization, "Accept": "application/json"}
    try:
        response = client.request(method, url, headers=headers, json=json, params=params,
                                  timeout=httpx.USE_CLIENT_DEFAULT if timeout is None
                                  else timeout)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # Nothing left this process: the helpdesk cannot have acted on it.
        raise HelpdeskUnavailableError(f"{helpdesk} could not be reached ({type(exc).__name__})",
                                       outcome_unknown=False) from exc
    except httpx.TransportError as exc:
        # Sent, but no answer (read timeout, dropped connection): it may have been done.
        raise HelpdeskUnavailableError(f"{helpdesk} did not answer ({type(exc).__name__})",
                                       outcome_unknown=True) from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    code = _error_code(response)
    said = f"{helpdesk} answered {status}" + (f" ({code})" if code else "")
    if status == 429:
        raise HelpdeskRateLimitedError(
            f"{said}: rate limited", status=status,
            retry_after=DEFAULT_RATE_LIMIT_WAIT if retry_after is None else retry_after)
    if status in (401, 403):
        raise HelpdeskAuthError(f"{said}: the connection's API credentials were refused; "
                                "update them (flask --app app helpdesk connect)", status=status)
    if status in (404, 410):
        raise HelpdeskNotFoundError(f"{said}: not found", status=status)
    if status in (400, 413, 422):
        raise HelpdeskRejectedError(f"{said}: request refused", status=status)
    raise HelpdeskUnavailableError(f"{said}", status=status, retry_after=retry_after,
                                   outcome_unknown=status >= 500)


def same_origin_url(base: str, link: Any) -> str | None:
    """`link` (absolute or root-relative) resolved against `base`, if it stays on its origin.

    Pagination links from a helpdesk are followed with the connection's credentials, so they
    must never lead to another host.
    """
    if not isinstance(link, str) or not link:
        return None
    resolved = httpx.URL(base).join(link)
    origin = httpx.URL(base)
    if (resolved.scheme, resolved.host, resolved.port) != (origin.scheme, origin.host,
                                                           origin.port):
        return None
    return str(resolved)


def path_segment(value: str, pattern: re.Pattern[str], what: str) -> str:
    """`value` checked against `pattern` and quoted for a URL path.

    :raises HelpdeskRejectedError: the id cannot be one of this helpdesk's ids.
    """
    text = str(value or "").strip()
    if not pattern.fullmatch(text):
        raise HelpdeskRejectedError(f"not a {what}: {text[:40]!r}")
    return quote(text, safe="")


class HelpdeskAdapter:
    """What Sidecard needs to know about one kind of helpdesk (registry key: `kind`)."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    # What `--account` means for this helpdesk, for help texts and errors.
    account_label: ClassVar[str] = "account"
    # The host suffix people paste with the account (`acme.zendesk.com`), stripped.
    account_host_suffix: ClassVar[str | None] = None

    def normalize_account(self, account: str) -> str:
        """Return the canonical account name (`acme` from `https://acme.zendesk.com/`).

        :raises ValidationError: the account is not a valid name for this helpdesk.
        """
        value = (account or "").strip().lower()
        if "://" in value:
            value = urlsplit(value).hostname or ""
        value = value.rstrip("/")
        suffix = self.account_host_suffix
        if suffix and value.endswith("." + suffix):
            value = value[: -len(suffix) - 1]
        if not SUBDOMAIN_RE.match(value):
            raise ValidationError(f"{self.title} {self.account_label} must look like 'acme'"
                                  f" (letters, digits, hyphens): {account!r}")
        return value

    def default_frame_origins(self, account: str) -> list[str]:
        """Origins that frame the card for this account when none are given (none here)."""
        return []

    def frame_origins(self, connection: HelpdeskConnection) -> list[str]:
        """Origins for the card's `frame-ancestors` (empty: not frameable)."""
        return [o for o in (connection.frame_origins or []) if o and o != "*"]

    def verify_host_launch(self, request: Any, connection: HelpdeskConnection
                           ) -> LaunchContext | None:
        """Verify a launch signed by the helpdesk itself; None when this request has none."""
        return None

    def credentials(self, connection: HelpdeskConnection) -> HelpdeskCredentials:
        """The connection's decrypted API user and token (for the note call)."""
        return HelpdeskCredentials(user=connection.api_user, token=connection.api_token)

    def card_url(self, app_url: str) -> str:
        """Where this helpdesk opens the card: `{APP_URL}/cards/{kind}`."""
        return f"{app_url.rstrip('/')}/cards/{self.kind}"

    # -- conversation notes (plugin/notes) ------------------------------------------------

    # The config key holding this helpdesk's API base URL with `{account}` (CONTRACT §2).
    api_url_setting: ClassVar[str | None] = None

    def api_base(self, connection: HelpdeskConnection) -> str:
        """The API origin of the connection's account, from `{KIND}_API_URL`.

        :raises HelpdeskRejectedError: this kind has no helpdesk API.
        """
        template = current_app.config.get(self.api_url_setting or "") or ""
        if not template:
            raise HelpdeskRejectedError(f"{self.title or self.kind} has no API URL configured")
        return str(template).replace("{account}", quote(connection.account, safe="")).rstrip("/")

    def wants_notes(self, connection: HelpdeskConnection) -> bool:
        """Whether actions taken through this connection leave a note in the conversation."""
        return True

    def http_client(self) -> httpx.Client:
        """The process's pooled httpx client for this helpdesk kind."""
        return helpdesk_http_client(self.kind)

    def post_note(self, connection: HelpdeskConnection, conversation: str, text: str, *,
                  client: httpx.Client, marker: str | None = None,
                  timeout: httpx.Timeout | float | None = None) -> str | None:
        """Write an internal note into the conversation; returns the helpdesk's id for it.

        The id is "" when the helpdesk confirmed the note without naming it, and None when
        this kind has no remote note at all. `marker` also goes into an external-id field
        where the API has one, so `find_note` can recognise the note.

        :raises HelpdeskError: see `send_request` for the subclasses.
        """
        raise NotImplementedError

    def authorization(self, connection: HelpdeskConnection) -> str:
        """The `Authorization` header for the helpdesk's API (kinds that write notes).

        :raises HelpdeskAuthError: the connection has no usable credentials.
        """
        raise NotImplementedError

    def read_pages(self, connection: HelpdeskConnection, path: str, *, client: httpx.Client,
                   params: dict[str, Any] | None, pages: int,
                   next_link: Callable[[dict[str, Any]], Any],
                   timeout: httpx.Timeout | float | None = None) -> Iterator[dict[str, Any]]:
        """The JSON bodies of `GET {api_base}{path}` and of the pages after it, at most `pages`.

        Each next page is the link `next_link(body)` names, followed only on the API's own
        origin (`same_origin_url`) and without `params` (the link carries its own query).

        :raises HelpdeskError: see `send_request` for the subclasses.
        """
        base = self.api_base(connection)
        url: str | None = f"{base}{path}"
        for _ in range(pages):
            if url is None:
                return
            body = send_request(client, "GET", url, helpdesk=self.title,
                                authorization=self.authorization(connection), params=params,
                                timeout=timeout).json() or {}
            yield body
            url = same_origin_url(base, next_link(body))
            params = None

    def find_note(self, connection: HelpdeskConnection, conversation: str, marker: str, *,
                  client: httpx.Client, timeout: httpx.Timeout | float | None = None
                  ) -> str | None:
        """The id of a note in the conversation carrying `marker` ("" when it has no id),
        or None when there is none: the check before re-posting after a lost answer.

        :raises HelpdeskError: see `send_request` for the subclasses.
        """
        return None
