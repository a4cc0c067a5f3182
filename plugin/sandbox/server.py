"""Serve a WSGI app (the sandbox) on a loopback port in a daemon thread, for end-to-end tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import make_server


def serve_sandbox(wsgi_app: Any, host: str = "127.0.0.1",
                  port: int = 0) -> tuple[str, Callable[[], None]]:
    """Start `wsgi_app` on `host` (a free port by default); returns (base_url, stop)."""
    server = make_server(host, port, wsgi_app, threaded=True)
    # A short poll interval makes stop() quick (tests start and stop servers often).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="sandbox-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", stop
