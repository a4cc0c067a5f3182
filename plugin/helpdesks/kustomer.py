"""Kustomer: a KView DynamicCard iframe in the insights panel, launched via a command."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx

from plugin.exceptions import HelpdeskAuthError
from plugin.helpdesks import register
from plugin.helpdesks.base import HelpdeskAdapter, path_segment, send_request

if TYPE_CHECKING:
    from plugin.models.helpdesk import HelpdeskConnection

LAUNCH_RELAY_PATH = "/api/v1/kustomer/launch"
LAUNCHER_PATH = "/launch/kustomer"

# Kustomer ids are 24-hex object ids; allow any short url-safe id.
CONVERSATION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Pages of notes read when looking for a note after a lost answer.
FIND_NOTE_PAGES = 5


@register
class KustomerAdapter(HelpdeskAdapter):
    """Kustomer: the org's `https://{org}.kustomerapp.com` frames the card."""

    kind = "kustomer"
    title = "Kustomer"
    account_label = "organization name"
    account_host_suffix = "kustomerapp.com"

    def default_frame_origins(self, account: str) -> list[str]:
        """The org's Kustomer origin; Kustomer's docs suggest `https://*.kustomerapp.com`
        when the agent UI is served from another host (pass it with --frame-origin)."""
        return [f"https://{account}.kustomerapp.com"]

    # -- conversation notes -----------------------------------------------------------------

    api_url_setting = "KUSTOMER_API_URL"

    def authorization(self, connection: HelpdeskConnection) -> str:
        """`Bearer <API key>` (role org.permission.note.create).

        :raises HelpdeskAuthError: the connection has no API key.
        """
        token = self.credentials(connection).token
        if not token:
            raise HelpdeskAuthError("the Kustomer connection has no API key; set --api-token "
                                    "with flask --app app helpdesk connect")
        return f"Bearer {token}"

    def post_note(self, connection: HelpdeskConnection, conversation: str, text: str, *,
                  client: httpx.Client, marker: str | None = None,
                  timeout: httpx.Timeout | float | None = None) -> str | None:
        """Create a note: `POST /v1/notes {conversation, body, externalId}`; returns its id."""
        conversation_id = path_segment(conversation, CONVERSATION_ID_RE,
                                       "Kustomer conversation id")
        payload: dict[str, Any] = {"conversation": conversation_id, "body": text}
        if marker:
            payload["externalId"] = marker
        response = send_request(
            client, "POST", f"{self.api_base(connection)}/v1/notes", helpdesk=self.title,
            authorization=self.authorization(connection), json=payload, timeout=timeout)
        try:
            note_id = ((response.json() or {}).get("data") or {}).get("id")
        except (ValueError, AttributeError):
            return ""
        return str(note_id) if note_id is not None else ""

    def find_note(self, connection: HelpdeskConnection, conversation: str, marker: str, *,
                  client: httpx.Client, timeout: httpx.Timeout | float | None = None
                  ) -> str | None:
        """Look for the marker (externalId or text) in `GET /v1/conversations/{id}/notes`."""
        conversation_id = path_segment(conversation, CONVERSATION_ID_RE,
                                       "Kustomer conversation id")
        for body in self.read_pages(
                connection, f"/v1/conversations/{conversation_id}/notes", client=client,
                params={"pageSize": 100}, pages=FIND_NOTE_PAGES, timeout=timeout,
                next_link=lambda body: (body.get("links") or {}).get("next")):
            for note in body.get("data") or []:
                attributes = note.get("attributes") or {}
                if attributes.get("externalId") == marker or \
                        marker in str(attributes.get("body") or ""):
                    return str(note.get("id") or "")
        return None

