"""Helpdesk adapters (Zendesk, Gorgias, Kustomer, API bots), keyed by the contract's `kind`."""

from __future__ import annotations

import importlib

from flask import Flask

from plugin.exceptions import ValidationError
from plugin.helpdesks.base import HelpdeskAdapter

ADAPTERS: dict[str, type[HelpdeskAdapter]] = {}

# Modules that register the built-in adapters when imported.
BUILTIN_ADAPTER_MODULES = ("zendesk", "gorgias", "kustomer", "api")


def register(cls: type[HelpdeskAdapter]) -> type[HelpdeskAdapter]:
    """Class decorator: add an adapter to ADAPTERS under its `kind`."""
    if not cls.kind:
        raise TypeError(f"{cls.__name__} has no kind")
    existing = ADAPTERS.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"helpdesk kind {cls.kind!r} is already registered by "
                         f"{existing.__name__}")
    ADAPTERS[cls.kind] = cls
    return cls


def load_adapters() -> dict[str, type[HelpdeskAdapter]]:
    """Import the built-in adapter modules (idempotent) and return the registry."""
    for name in BUILTIN_ADAPTER_MODULES:
        importlib.import_module(f"plugin.helpdesks.{name}")
    return ADAPTERS


def get_adapter(kind: str) -> HelpdeskAdapter:
    """The adapter for a helpdesk kind.

    :raises ValidationError: no adapter has that kind.
    """
    load_adapters()
    try:
        return ADAPTERS[kind]()
    except KeyError:
        raise ValidationError(f"unknown helpdesk kind {kind!r}; expected one of "
                              + ", ".join(sorted(ADAPTERS))) from None


def init_app(app: Flask) -> None:
    """Load the adapters, register the `helpdesk` CLI group and the launcher pages."""
    load_adapters()
    from plugin.helpdesks.cli import helpdesk_cli
    from plugin.helpdesks.views import bp

    app.cli.add_command(helpdesk_cli)
    app.register_blueprint(bp)
