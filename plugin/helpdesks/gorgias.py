"""Gorgias: no sidebar iframe; an HTTP integration feeds a widget that links to the card."""

from __future__ import annotations

from plugin.helpdesks import register
from plugin.helpdesks.base import HelpdeskAdapter

# Headers the Gorgias HTTP integration sends on every call to Sidecard (configured in
# Gorgias, server to server): which connection, and its signing secret as a bearer token.
CONNECTION_HEADER = "X-Sidecard-Connection"
WIDGET_PATH = "/api/v1/gorgias/widget"


@register
class GorgiasAdapter(HelpdeskAdapter):
    """Gorgias: the card opens in a top-level tab, so nothing may frame it."""

    kind = "gorgias"
    title = "Gorgias"
    account_label = "domain"
    account_host_suffix = "gorgias.com"
