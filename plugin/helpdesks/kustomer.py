"""Kustomer: a KView DynamicCard iframe in the insights panel, launched via a command."""

from __future__ import annotations

from plugin.helpdesks import register
from plugin.helpdesks.base import HelpdeskAdapter

LAUNCH_RELAY_PATH = "/api/v1/kustomer/launch"
LAUNCHER_PATH = "/launch/kustomer"


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
