"""Gorgias: no sidebar iframe; an HTTP integration feeds a widget that links to the card."""

from __future__ import annotations

from plugin.helpdesks import register
from plugin.helpdesks.base import CONNECTION_HEADER, HelpdeskAdapter

__all__ = ["CONNECTION_HEADER", "WIDGET_PATH", "GorgiasAdapter"]

# The Gorgias HTTP integration calls this (server to server) with CONNECTION_HEADER and
# `Authorization: Bearer <signing secret>`, both configured in Gorgias; the card helper
# serves it behind `plugin.api.auth.require_integration("gorgias")`.
WIDGET_PATH = "/api/v1/gorgias/widget"


@register
class GorgiasAdapter(HelpdeskAdapter):
    """Gorgias: the card opens in a top-level tab, so nothing may frame it."""

    kind = "gorgias"
    title = "Gorgias"
    account_label = "domain"
    account_host_suffix = "gorgias.com"
