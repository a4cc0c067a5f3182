"""The base class every helpdesk adapter extends, and helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from plugin.exceptions import ValidationError

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
