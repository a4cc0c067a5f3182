"""API bots: a script or bot signs its own launch tokens; nothing frames the card."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from plugin.exceptions import ValidationError
from plugin.helpdesks import register
from plugin.helpdesks.base import HelpdeskAdapter

if TYPE_CHECKING:
    from plugin.models.helpdesk import HelpdeskConnection

BOT_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,254}$")


@register
class ApiAdapter(HelpdeskAdapter):
    """A bot of kind `api`: `account` names who runs it (a team, a service, an email)."""

    kind = "api"
    title = "API"
    account_label = "bot owner"

    def normalize_account(self, account: str) -> str:
        """Keep the owner's label as given (trimmed); it is shown, never used in URLs.

        :raises ValidationError: empty or unusual characters.
        """
        value = (account or "").strip()
        if not BOT_OWNER_RE.match(value):
            raise ValidationError("API bot owner must be 1-255 letters, digits, spaces or "
                                  f"._@+- characters: {account!r}")
        return value

    # -- conversation notes -----------------------------------------------------------------

    def wants_notes(self, connection: HelpdeskConnection) -> bool:
        """Bots have no conversation to write into: they read the audit API instead."""
        return False

    def post_note(self, connection: HelpdeskConnection, conversation: str, text: str, *,
                  client: httpx.Client, marker: str | None = None,
                  timeout: httpx.Timeout | float | None = None) -> str | None:
        """No remote note for bots: always None (the note is skipped, "api connection")."""
        return None

