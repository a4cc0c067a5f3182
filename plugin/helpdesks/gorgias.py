"""Gorgias: no sidebar iframe; an HTTP integration feeds a widget that links to the card."""

from __future__ import annotations

import base64
import html
import re
from typing import TYPE_CHECKING, Any

import httpx

from plugin.exceptions import HelpdeskAuthError
from plugin.helpdesks import register
from plugin.helpdesks.base import (
    CONNECTION_HEADER,
    HelpdeskAdapter,
    path_segment,
    send_request,
)

if TYPE_CHECKING:
    from plugin.models.helpdesk import HelpdeskConnection

__all__ = ["CONNECTION_HEADER", "WIDGET_PATH", "GorgiasAdapter"]

# The Gorgias HTTP integration calls this (server to server) with CONNECTION_HEADER and
# `Authorization: Bearer <signing secret>`, both configured in Gorgias; the card helper
# serves it behind `plugin.api.auth.require_integration("gorgias")`.
WIDGET_PATH = "/api/v1/gorgias/widget"

TICKET_ID_RE = re.compile(r"[0-9]{1,20}")
# Pages of messages read (newest first) when looking for a note after a lost answer.
FIND_NOTE_PAGES = 3


@register
class GorgiasAdapter(HelpdeskAdapter):
    """Gorgias: the card opens in a top-level tab, so nothing may frame it."""

    kind = "gorgias"
    title = "Gorgias"
    account_label = "domain"
    account_host_suffix = "gorgias.com"

    # -- conversation notes -----------------------------------------------------------------

    api_url_setting = "GORGIAS_API_URL"

    def authorization(self, connection: HelpdeskConnection) -> str:
        """`Basic email:API key` (private app), or `Bearer <OAuth2 token>` without a user.

        :raises HelpdeskAuthError: the connection has no API key or token.
        """
        creds = self.credentials(connection)
        if not creds.token:
            raise HelpdeskAuthError("the Gorgias connection has no API key; set --api-user "
                                    "(the user's email) and --api-token with flask --app app "
                                    "helpdesk connect")
        if creds.user:
            raw = f"{creds.user}:{creds.token}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return f"Bearer {creds.token}"

    def post_note(self, connection: HelpdeskConnection, conversation: str, text: str, *,
                  client: httpx.Client, marker: str | None = None,
                  timeout: httpx.Timeout | float | None = None) -> str | None:
        """Add an internal-note message: `POST /api/tickets/{id}/messages`; returns its id."""
        ticket = path_segment(conversation, TICKET_ID_RE, "Gorgias ticket id")
        payload: dict[str, Any] = {
            "channel": "internal-note",
            "via": "api",
            "from_agent": True,
            "body_text": text,
            # The note is plain text: escaped so nothing in it can become markup.
            "body_html": f"<p>{html.escape(text)}</p>",
        }
        user = self.credentials(connection).user
        if user:
            # The API key's user writes the note (the agent is named in the text).
            payload["sender"] = {"email": user}
            payload["source"] = {"type": "internal-note", "from": {"address": user}}
        if marker:
            payload["external_id"] = marker
        response = send_request(
            client, "POST", f"{self.api_base(connection)}/api/tickets/{ticket}/messages",
            helpdesk=self.title, authorization=self.authorization(connection), json=payload,
            timeout=timeout)
        try:
            message_id = (response.json() or {}).get("id")
        except (ValueError, AttributeError):
            return ""
        return str(message_id) if message_id is not None else ""

    def find_note(self, connection: HelpdeskConnection, conversation: str, marker: str, *,
                  client: httpx.Client, timeout: httpx.Timeout | float | None = None
                  ) -> str | None:
        """Look for the marker (external id or text) in the ticket's messages, newest first.

        Uses `GET /api/messages?ticket_id=` (Gorgias deprecated the unpaginated
        `GET /api/tickets/{id}/messages` in its favour).
        """
        ticket = path_segment(conversation, TICKET_ID_RE, "Gorgias ticket id")
        url = f"{self.api_base(connection)}/api/messages"
        params: dict[str, Any] = {"ticket_id": ticket, "order_by": "created_datetime:desc",
                                  "limit": 100}
        for _ in range(FIND_NOTE_PAGES):
            body = send_request(client, "GET", url, helpdesk=self.title,
                                authorization=self.authorization(connection), params=params,
                                timeout=timeout).json() or {}
            for message in body.get("data") or []:
                if message.get("external_id") == marker or \
                        marker in str(message.get("body_text") or ""):
                    return str(message.get("id") or "")
            cursor = (body.get("meta") or {}).get("next_cursor")
            if not cursor:
                break
            params = {**params, "cursor": cursor}
        return None

