"""Zendesk: a ZAF v2 app in the ticket sidebar; optional RS256 signed-URL launches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plugin.helpdesks import register
from plugin.helpdesks.base import HelpdeskAdapter

if TYPE_CHECKING:
    from plugin.launch import LaunchContext
    from plugin.models.helpdesk import HelpdeskConnection


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
