"""Sign-in codes by email: SMTP through the standard library, or the demo outbox.

`SMTP_URL` is `smtp://[user:pass@]host[:port]` (STARTTLS whenever the server offers it) or
`smtps://[user:pass@]host[:port]` (TLS from the first byte). Without `SMTP_URL` the email
method is off, except in demo mode, where codes go to an in-memory outbox that only the
demo page shows.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app

from plugin.exceptions import ConfigurationError, MailDeliveryError
from plugin.identity.keys import redact_email

log = logging.getLogger("sidecard.identity")

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SMTP_TIMEOUT_SECONDS = 10.0
# Hosts where credentials may travel without TLS (a local relay or a test server).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
DEMO_OUTBOX_KEY = "sidecard_demo_outbox"
DEMO_OUTBOX_SIZE = 20


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail, parsed from SMTP_URL."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print the password by accident
        return (f"SmtpSettings({self.scheme}://{'user@' if self.username else ''}"
                f"{self.host}:{self.port})")


def parse_smtp_url(url: str) -> SmtpSettings:
    """Parse `smtp://[user:pass@]host[:port]` or `smtps://...`.

    :raises ConfigurationError: another scheme, no host, or a bad port.
    """
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ConfigurationError("SMTP_URL must start with smtp:// or smtps://")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ConfigurationError("SMTP_URL has an invalid port") from exc
    if not parts.hostname:
        raise ConfigurationError("SMTP_URL names no host")
    return SmtpSettings(scheme=scheme, host=parts.hostname, port=port,
                        username=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password else None)


def smtp_settings() -> SmtpSettings | None:
    """The app's SMTP settings, or None when SMTP_URL is unset."""
    url = current_app.config.get("SMTP_URL")
    return parse_smtp_url(url) if url else None


def email_available() -> bool:
    """True when sign-in codes can be delivered: SMTP_URL set, or demo mode."""
    return bool(current_app.config.get("SMTP_URL")) or bool(current_app.config.get("DEMO_MODE"))


def mail_from() -> str:
    """The sender: MAIL_FROM, else no-reply at APP_URL's host."""
    configured = current_app.config.get("MAIL_FROM")
    if configured:
        return str(configured)
    host = urlsplit(str(current_app.config.get("APP_URL") or "")).hostname or "localhost"
    return f"Sidecard <no-reply@{host}>"


def code_message(to: str, code: str, *, where: str, minutes: int) -> EmailMessage:
    """The sign-in email: the code in subject and body, nothing else of value."""
    message = EmailMessage()
    message["From"] = mail_from()
    message["To"] = to
    message["Subject"] = f"Your Sidecard sign-in code: {code}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="sidecard")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"Your Sidecard sign-in code is {code}\n\n"
        f"Enter it in the order card in {where} within {minutes} minutes to confirm it's you.\n"
        "If you didn't ask for it, ignore this email: nobody can sign in without the code.\n")
    return message


def send_message(settings: SmtpSettings, message: EmailMessage, *,
                 timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
    """Deliver one message through the SMTP server.

    :raises MailDeliveryError: the server could not be reached or refused the message.
    """
    context = ssl.create_default_context()
    try:
        if settings.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                  timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            secure = settings.scheme == "smtps"
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                secure = True
            if settings.username:
                if not secure and settings.host not in LOOPBACK_HOSTS:
                    # Never send the password in the clear to a remote server.
                    raise MailDeliveryError("the mail server offers no TLS; refusing to log in")
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail delivery failed host=%s error=%s", settings.host,
                    type(exc).__name__)
        raise MailDeliveryError("the sign-in code could not be sent; try again later") from exc


def send_sign_in_code(to: str, code: str, *, where: str, minutes: int) -> None:
    """Send a sign-in code by SMTP, or into the demo outbox when SMTP_URL is unset in demo mode.

    :raises MailDeliveryError: SMTP failed.
    """
    settings = smtp_settings()
    if settings is None:
        if not current_app.config.get("DEMO_MODE"):
            raise MailDeliveryError("sign-in by email is not configured (SMTP_URL)")
        demo_outbox_append(to, code, where=where)
        log.info("sign-in code for %s put in the demo outbox", redact_email(to))
        return
    send_message(settings, code_message(to, code, where=where, minutes=minutes))
    log.info("sign-in code mailed to %s", redact_email(to))


def demo_outbox_append(to: str, code: str, *, where: str) -> None:
    """Keep a code for the demo page (demo mode only; never in production)."""
    from plugin.models.base import utcnow

    outbox = current_app.extensions.setdefault(DEMO_OUTBOX_KEY, deque(maxlen=DEMO_OUTBOX_SIZE))
    outbox.appendleft({"to": to, "code": code, "where": where, "at": utcnow()})


def demo_outbox() -> list[dict[str, Any]]:
    """The codes sent in demo mode, newest first (empty outside demo mode)."""
    if not current_app.config.get("DEMO_MODE"):
        return []
    return list(current_app.extensions.get(DEMO_OUTBOX_KEY) or [])


def init_app(app: Flask) -> None:
    """Check SMTP_URL at start-up, so a typo stops the app instead of the first sign-in.

    :raises ConfigurationError: SMTP_URL is set but malformed.
    """
    if app.config.get("SMTP_URL"):
        parse_smtp_url(app.config["SMTP_URL"])
