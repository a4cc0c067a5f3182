"""Zendesk: a ZAF v2 app in the ticket sidebar; optional RS256 signed-URL launches."""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

import httpx

from plugin.exceptions import HelpdeskAuthError
from plugin.helpdesks import register
from plugin.helpdesks.base import HelpdeskAdapter, path_segment, send_request

if TYPE_CHECKING:
    from plugin.launch import LaunchContext
    from plugin.models.helpdesk import HelpdeskConnection


TICKET_ID_RE = re.compile(r"[0-9]{1,20}")
# Pages of comments read (newest first) when looking for a note after a lost answer.
FIND_NOTE_PAGES = 3


@register
class ZendeskAdapter(HelpdeskAdapter):
    """Zendesk Support: `https://{subdomain}.zendesk.com` frames the card."""

    kind = "zendesk"
    title = "Zendesk"
    account_label = "subdomain"
    account_host_suffix = "zendesk.com"

    def default_frame_origins(self, account: str) -> list[str]:
        """The account's own Zendesk origin (marketplace apps would need `*.zendesk.com`)."""
        return [f"https://{account}.zendesk.com"]

    def verify_host_launch(self, request: Any, connection: HelpdeskConnection
                           ) -> LaunchContext | None:
        """Verify Zendesk's signed-URL POST (form field `token`, RS256) when present.

        :raises AuthenticationError: a `token` was posted but does not verify.
        """
        token = request.form.get("token") if request.method == "POST" else None
        if not token:
            return None
        from plugin.launch import verify_zendesk_signed_launch

        return verify_zendesk_signed_launch(token, connection)

    # -- conversation notes -----------------------------------------------------------------

    api_url_setting = "ZENDESK_API_URL"

    def authorization(self, connection: HelpdeskConnection) -> str:
        """`Bearer <OAuth token>`; `Basic {email}/token:{api token}` for a legacy API token.

        :raises HelpdeskAuthError: the connection has no token.
        """
        creds = self.credentials(connection)
        if not creds.token:
            raise HelpdeskAuthError("the Zendesk connection has no API token (OAuth access "
                                    "token); set one with flask --app app helpdesk connect")
        if creds.user:
            # Legacy API tokens (api_user set) work until Zendesk retires them on 2027-04-30.
            raw = f"{creds.user}/token:{creds.token}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return f"Bearer {creds.token}"

    def post_note(self, connection: HelpdeskConnection, conversation: str, text: str, *,
                  client: httpx.Client, marker: str | None = None,
                  timeout: httpx.Timeout | float | None = None) -> str | None:
        """Add a private comment: `PUT /api/v2/tickets/{id}.json`; returns the comment id."""
        ticket = path_segment(conversation, TICKET_ID_RE, "Zendesk ticket id")
        response = send_request(
            client, "PUT", f"{self.api_base(connection)}/api/v2/tickets/{ticket}.json",
            helpdesk=self.title, authorization=self.authorization(connection),
            json={"ticket": {"comment": {"body": text, "public": False}}}, timeout=timeout)
        try:
            audit = (response.json() or {}).get("audit") or {}
        except (ValueError, AttributeError):
            return ""
        for event in audit.get("events") or []:
            if isinstance(event, dict) and event.get("type") == "Comment" and event.get("id"):
                return str(event["id"])
        return f"audit:{audit['id']}" if audit.get("id") else ""

    def find_note(self, connection: HelpdeskConnection, conversation: str, marker: str, *,
                  client: httpx.Client, timeout: httpx.Timeout | float | None = None
                  ) -> str | None:
        """Look for the marker in the ticket's comments, newest first."""
        ticket = path_segment(conversation, TICKET_ID_RE, "Zendesk ticket id")
        for body in self.read_pages(
                connection, f"/api/v2/tickets/{ticket}/comments", client=client,
                params={"sort_order": "desc"}, pages=FIND_NOTE_PAGES, timeout=timeout,
                next_link=_next_comments_link):
            for comment in body.get("comments") or []:
                texts = (str(comment.get(field) or "")
                         for field in ("body", "plain_body", "html_body"))
                if any(marker in text for text in texts):
                    return str(comment.get("id") or "")
        return None


def _next_comments_link(body: dict[str, Any]) -> str | None:
    """The next page of comments: offset (`next_page`) or cursor (`links.next`) pagination."""
    has_more = body.get("next_page") or (body.get("meta") or {}).get("has_more")
    return (body.get("next_page") or (body.get("links") or {}).get("next")) if has_more else None

