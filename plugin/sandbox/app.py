"""The sandbox's WSGI app: Shopify's OAuth and Admin GraphQL paths, plus test controls.

Paths (each also answers without the `/{shop}` prefix when the Host header is the shop, which is
what an httpx transport pointed at `https://{shop}` sends):

    GET  /{shop}/admin/oauth/authorize            auto-approve, 302 to redirect_uri
    POST /{shop}/admin/oauth/access_token         code grant, token exchange, refresh
    POST /{shop}/admin/api/{version}/graphql.json Admin GraphQL (X-Shopify-Access-Token)
    POST /_control/faults, POST /_control/reset, POST /_control/advance, GET /_control/stats
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from plugin.sandbox.executor import run_graphql
from plugin.sandbox.oauth import OAuthError, authorize_redirect, token_endpoint
from plugin.sandbox.schema import load_schema
from plugin.sandbox.store import Fault, SandboxStore
from plugin.sandbox.wire import QUERY_KEY
from plugin.sandbox.wire import json_response as _json

SHOP_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
INVALID_TOKEN = (
    "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105
)
DEFAULT_TIMEOUT_SLEEP = 20.0

FAULT_RESPONSES = {
    "http_429": (429, {"errors": "Exceeded 2 calls per second for api client. Reduce request "
                                 "rates to resume uninterrupted service."}),
    "http_500": (500, {"errors": "Internal Server Error"}),
    "http_503": (503, {"errors": "Service Unavailable"}),
}

URLS = Map([
    Rule("/_control/faults", endpoint="faults", methods=["POST", "GET"]),
    Rule("/_control/reset", endpoint="reset", methods=["POST"]),
    Rule("/_control/advance", endpoint="advance", methods=["POST"]),
    Rule("/_control/stats", endpoint="stats", methods=["GET"]),
    Rule("/<shop>/admin/oauth/authorize", endpoint="authorize", methods=["GET"]),
    Rule("/<shop>/admin/oauth/access_token", endpoint="access_token", methods=["POST"]),
    Rule("/<shop>/admin/api/<version>/graphql.json", endpoint="graphql", methods=["POST"]),
    Rule("/admin/oauth/authorize", endpoint="authorize", methods=["GET"]),
    Rule("/admin/oauth/access_token", endpoint="access_token", methods=["POST"]),
    Rule("/admin/api/<version>/graphql.json", endpoint="graphql", methods=["POST"]),
], strict_slashes=False)


class SandboxApp:
    """WSGI callable answering like Shopify for the shops a `SandboxStore` hosts."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = _json({"errors": exc.name}, exc.code or 500)
        response.headers["X-Request-Id"] = request_id
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request."""
        adapter = URLS.bind_to_environ(request.environ)
        endpoint, values = adapter.match()
        if endpoint in {"faults", "reset", "advance", "stats"}:
            return getattr(self, f"control_{endpoint}")(request)
        shop = self._shop(request, values.get("shop"))
        return getattr(self, endpoint)(request, shop, values)

    def _shop(self, request: Request, from_path: str | None) -> str:
        """The shop from the path, or from the Host header when the path has none.

        :raises NotFound: not a myshopify domain the store hosts.
        """
        candidate = (from_path or request.host.split(":")[0]).lower()
        if not SHOP_RE.match(candidate) or self.store.shop(candidate) is None:
            raise NotFound()
        return candidate

    # -- OAuth ---------------------------------------------------------------------------
    def authorize(self, request: Request, shop: str, values: dict[str, Any]) -> Response:
        """Auto-approve and redirect back with a code."""
        try:
            location = authorize_redirect(self.store, shop, request.args,
                                          request.args.getlist("grant_options[]"))
        except OAuthError as exc:
            return Response(f"Oauth error {exc.body['error']}: "
                            f"{exc.body.get('error_description', '')}", status=exc.status,
                            content_type="text/plain; charset=utf-8")
        return Response("", status=302, headers={"Location": location})

    def access_token(self, request: Request, shop: str, values: dict[str, Any]) -> Response:
        """Grant tokens (JSON or form body)."""
        failed, _ = self._apply_faults(shop, "oauth")
        if failed is not None:
            return failed
        params: dict[str, Any]
        if request.is_json:
            params = request.get_json(silent=True) or {}
        else:
            params = request.form.to_dict()
        try:
            return _json(token_endpoint(self.store, shop, params))
        except OAuthError as exc:
            return _json(exc.body, exc.status)

    # -- GraphQL -------------------------------------------------------------------------
    def graphql(self, request: Request, shop: str, values: dict[str, Any]) -> Response:
        """Admin GraphQL with auth, fault switches, throttling and cost."""
        if values.get("version") != self.store.api_version:
            raise NotFound()
        failed, fault = self._apply_faults(shop, "graphql")
        if failed is not None:
            return failed
        token = request.headers.get("X-Shopify-Access-Token")
        if not self.store.token_valid(shop, token):
            return _json({"errors": INVALID_TOKEN}, 401)
        payload = self._graphql_payload(request)
        if payload is None:
            return _json({"errors": {QUERY_KEY: "Required parameter missing or invalid"}}, 400)
        throttle = fault is not None and fault.kind == "throttle"
        body = run_graphql(self.store, shop, payload, force_throttle=throttle)
        return _json(body, headers={"X-Shopify-API-Version": self.store.api_version})

    def _apply_faults(self, shop: str, target: str) -> tuple[Response | None, Fault | None]:
        """Sleep for latency/timeout faults; (the failure response to send, the fault taken)."""
        delay, fault = self.store.take_faults(shop, target)
        if fault is not None and fault.kind == "timeout":
            delay += fault.seconds if fault.seconds is not None else DEFAULT_TIMEOUT_SLEEP
        if delay:
            time.sleep(delay)
        if fault is None or fault.kind not in FAULT_RESPONSES:
            return None, fault
        status, body = FAULT_RESPONSES[fault.kind]
        headers = ({"Retry-After": str(fault.seconds if fault.seconds is not None else 1.0)}
                   if fault.kind in {"http_429", "http_503"} else {})
        return _json(body, status, headers), fault

    @staticmethod
    def _graphql_payload(request: Request) -> dict[str, Any] | None:
        if request.mimetype == "application/graphql":
            return {QUERY_KEY: request.get_data(as_text=True)}
        payload = request.get_json(silent=True, force=True)
        if not isinstance(payload, dict) or not isinstance(payload.get(QUERY_KEY), str):
            return None
        if payload.get("variables") is not None and not isinstance(payload["variables"], dict):
            return None
        return payload

    # -- controls ------------------------------------------------------------------------
    def control_faults(self, request: Request) -> Response:
        """POST {"kind", "shop"?, "times"?, "seconds"?, "target"?} injects; GET lists them."""
        if request.method == "GET":
            return _json({"faults": [f.to_dict() for f in self.store.faults]})
        data = request.get_json(silent=True, force=True) or {}
        try:
            fault = self.store.inject(shop=data.get("shop"), kind=data.get("kind", "throttle"),
                                      times=data.get("times", 1), seconds=data.get("seconds"),
                                      target=data.get("target", "graphql"))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"fault": fault.to_dict()}, 201)

    def control_reset(self, request: Request) -> Response:
        """Clear faults and counters (`{"reseed": true}` also reloads the seed data)."""
        data = request.get_json(silent=True, force=True) or {}
        self.store.reset(reseed=bool(data.get("reseed")))
        return _json({"reset": True})

    def control_advance(self, request: Request) -> Response:
        """Move the store clock forward `{"seconds": N}`."""
        data = request.get_json(silent=True, force=True) or {}
        self.store.advance(float(data.get("seconds", 0)))
        return _json({"advanced": float(data.get("seconds", 0))})

    def control_stats(self, request: Request) -> Response:
        """Calls and cost per shop (`?shop=` for one)."""
        shop = request.args.get("shop")
        return _json({"stats": self.store.stats(shop), "summary": self.store.summary(),
                      "unmodelled_fields": sorted(self.store.unmodelled_fields)})


def create_sandbox_app(*, api_key: str, api_secret: str,
                       store: SandboxStore | None = None) -> SandboxApp:
    """A WSGI app serving `store` (a fresh seeded one by default) to the app with these keys."""
    load_schema()  # fail fast (and warm the cache) if the schema file is missing
    store = store if store is not None else SandboxStore.seeded()
    store.bind_app(api_key, api_secret)
    return SandboxApp(store)
