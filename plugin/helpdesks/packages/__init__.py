"""What each helpdesk installs: generated app packages, one builder per kind.

`build_package(connection)` returns the files as {relative path: text}; `write_package`
puts them in a directory. No file ever contains the signing secret or API credentials:
secrets are typed into the helpdesk's own secret settings (Zendesk secure setting,
Kustomer `secret` setting, Gorgias integration header).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from plugin.exceptions import ValidationError
from plugin.helpdesks import get_adapter
from plugin.models.helpdesk import HelpdeskConnection

PACKAGE_VERSION = "1.0.0"
DEFAULT_AUTHOR_EMAIL = "support@sidecard.example"


@dataclass(frozen=True)
class PackageContext:
    """Values every package template needs."""

    connection: HelpdeskConnection
    app_url: str
    card_url: str
    author_email: str

    @property
    def connection_id(self) -> str:
        """The connection's public id."""
        return self.connection.public_id

    @property
    def app_host(self) -> str:
        """APP_URL's host name (for allow-lists)."""
        return urlsplit(self.app_url).hostname or ""

    @property
    def shop_domain(self) -> str:
        """The connection's shop."""
        return self.connection.shop.domain


def package_context(connection: HelpdeskConnection) -> PackageContext:
    """Collect the app URL, card URL and author details for a connection's package."""
    app_url = str(current_app.config["APP_URL"]).rstrip("/")
    return PackageContext(
        connection=connection, app_url=app_url,
        card_url=get_adapter(connection.kind).card_url(app_url),
        author_email=current_app.config.get("MAIL_FROM") or DEFAULT_AUTHOR_EMAIL)


def _builders() -> dict[str, Callable[[PackageContext], dict[str, str]]]:
    from plugin.helpdesks.packages import api, gorgias, kustomer, zendesk

    return {"zendesk": zendesk.build, "gorgias": gorgias.build,
            "kustomer": kustomer.build, "api": api.build}


def build_package(connection: HelpdeskConnection) -> dict[str, str]:
    """The files a helpdesk installs for this connection, as {relative path: text}.

    :raises ValidationError: no package exists for the connection's kind.
    """
    builder = _builders().get(connection.kind)
    if builder is None:
        raise ValidationError(f"no package for helpdesk kind {connection.kind!r}")
    return builder(package_context(connection))


def write_package(connection: HelpdeskConnection, out_dir: str | Path) -> list[Path]:
    """Write the package under `out_dir` (created if needed); returns the written paths."""
    root = Path(out_dir)
    written = []
    for relative, text in sorted(build_package(connection).items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
