"""The app's one pooled httpx client for Shopify, pointed at SHOPIFY_ADMIN_URL.

`shopifyapp` posts to fixed `https://{shop}.myshopify.com/...` endpoints; the transport here
rewrites those to `SHOPIFY_ADMIN_URL` (tests, local sandbox) so that every Shopify call honours
it, and in demo mode hands them to the in-process sandbox store through `httpx.WSGITransport`.
"""

from __future__ import annotations

import atexit
import contextvars
import re
import threading
import weakref

import httpx
from flask import Flask, current_app

from plugin.shopify.hmac import SHOP_DOMAIN_RE

EXTENSION_KEY = "shopify_http_client"
# Host the demo transport puts on rewritten URLs; WSGITransport ignores it, logs show it.
SANDBOX_ORIGIN = "http://sandbox.invalid"

# The last transport failure in this context, so callers that only get a library's
# "network_error" (shopifyapp swallows httpx exceptions) can still tell a timeout apart.
last_transport_error: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar(
    "shopify_last_transport_error", default=None)

_lock = threading.Lock()
_open_clients: weakref.WeakSet[httpx.Client] = weakref.WeakSet()


def _close_open_clients() -> None:
    """Close every pool still open when the process exits."""
    for client in list(_open_clients):
        client.close()


atexit.register(_close_open_clients)


def _template_pattern(admin_url: str) -> re.Pattern[str]:
    """A regex matching URLs built from SHOPIFY_ADMIN_URL, capturing the shop and the rest."""
    prefix = re.escape(admin_url.rstrip("/")).replace(re.escape("{shop}"), "(?P<shop>[^/?#]+)")
    return re.compile(prefix + r"(?P<rest>(?:[/?#].*)?)\Z")


class AdminUrlTransport(httpx.BaseTransport):
    """Rewrite `https://<shop>.myshopify.com/<path>` to SHOPIFY_ADMIN_URL, then send."""

    def __init__(self, admin_url: str, inner: httpx.BaseTransport) -> None:
        self.admin_url = admin_url.rstrip("/")
        self.inner = inner

    def target(self, url: httpx.URL) -> httpx.URL:
        """Where a request for `url` really goes (unchanged unless it is a shop's admin)."""
        host = url.host or ""
        if url.scheme != "https" or not SHOP_DOMAIN_RE.fullmatch(host) or url.port:
            return url
        base = self.admin_url.format(shop=host.lower())
        return httpx.URL(base + url.raw_path.decode("ascii"))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the (rewritten) request, remembering a transport failure for the caller."""
        target = self.target(request.url)
        if target != request.url:
            request = _retarget(request, target)
        last_transport_error.set(None)
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError as exc:
            last_transport_error.set(exc)
            raise

    def close(self) -> None:
        """Close the wrapped transport's connections."""
        self.inner.close()


class SandboxTransport(AdminUrlTransport):
    """Demo mode: every Shopify URL goes to the in-process sandbox store as `/{shop}/<path>`."""

    def __init__(self, admin_url: str, sandbox_wsgi) -> None:
        super().__init__(SANDBOX_ORIGIN + "/{shop}", httpx.WSGITransport(app=sandbox_wsgi))
        # URLs built from the configured SHOPIFY_ADMIN_URL (e.g. the app's /_sandbox/{shop}
        # mount) are mapped onto the bare sandbox app too.
        self.configured = _template_pattern(admin_url)

    def target(self, url: httpx.URL) -> httpx.URL:
        """Map a shop admin URL or a SHOPIFY_ADMIN_URL-built URL onto the sandbox app."""
        rewritten = super().target(url)
        if rewritten != url:
            return rewritten
        match = self.configured.match(str(url))
        if match and SHOP_DOMAIN_RE.fullmatch(match["shop"]):
            return httpx.URL(f"{SANDBOX_ORIGIN}/{match['shop'].lower()}{match['rest']}")
        return url


def _retarget(request: httpx.Request, url: httpx.URL) -> httpx.Request:
    """A copy of `request` aimed at `url`, with a matching Host header."""
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
    headers.insert(0, ("Host", url.netloc.decode("ascii")))
    return httpx.Request(request.method, url, headers=headers, stream=request.stream,
                         extensions=request.extensions)


def admin_timeout(config) -> httpx.Timeout:
    """Explicit timeouts for every Shopify call, from SHOPIFY_CONNECT/READ_TIMEOUT."""
    connect = float(config.get("SHOPIFY_CONNECT_TIMEOUT", 3.0))
    read = float(config.get("SHOPIFY_READ_TIMEOUT", 15.0))
    # Bodies are small: writing one takes no longer than reading the answer; waiting for a
    # free pooled connection counts like connecting.
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def build_admin_http_client(app: Flask) -> httpx.Client:
    """Build the pooled client for `app` (see `admin_http_client`)."""
    admin_url = app.config["SHOPIFY_ADMIN_URL"]
    sandbox = app.extensions.get("sandbox_wsgi")
    if sandbox is not None:
        transport: httpx.BaseTransport = SandboxTransport(admin_url, sandbox)
    else:
        limits = httpx.Limits(max_connections=int(app.config.get("SHOPIFY_MAX_CONNECTIONS", 20)),
                              max_keepalive_connections=10, keepalive_expiry=30.0)
        transport = AdminUrlTransport(admin_url, httpx.HTTPTransport(limits=limits, retries=0))
    client = httpx.Client(transport=transport, timeout=admin_timeout(app.config),
                          follow_redirects=False)
    _open_clients.add(client)
    return client


def admin_http_client() -> httpx.Client:
    """The current app's one pooled Shopify client (created on first use, closed at exit)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get(EXTENSION_KEY)
    if client is None:
        with _lock:
            client = app.extensions.get(EXTENSION_KEY)
            if client is None:
                client = build_admin_http_client(app)
                app.extensions[EXTENSION_KEY] = client
    return client
