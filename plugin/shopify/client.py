"""ShopifyClient: Admin GraphQL calls with pacing, throttle handling and safe retries.

Per call: POST `{SHOPIFY_ADMIN_URL}/admin/api/{version}/graphql.json` with the named document
from `operations/`, on the app's pooled httpx client, with explicit timeouts.

- Pacing: a per-shop estimate of Shopify's leaky bucket shared by the app's clients (from
  every response's `extensions.cost.throttleStatus`); when an operation's last requested
  cost exceeds what the estimate says is available, wait `(cost − available) / restoreRate`
  first (capped).
- THROTTLED in a 200 body (nothing ran): wait `(requested − available) / restoreRate`, retry.
- HTTP 429 (nothing ran): wait `Retry-After`, retry.
- 5xx, timeouts and connection drops after the request may have reached Shopify: retried with
  capped, jittered exponential backoff only when resending cannot act twice: queries, and
  mutations whose document carries `@idempotent` (refundCreate). A failure to connect is
  retried for everything (nothing was sent).
- 401/403 → ShopifyAuthError; other top-level `errors` → ShopifyError; `execute_mutation`
  raises ShopifyUserError with the payload's user errors as Shopify gave them.

Waits that would exceed `max_throttle_wait` are not slept: ShopifyThrottledError carries
`retry_after` instead, so a job can reschedule and a page can answer fast.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from flask import current_app

from plugin.exceptions import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyThrottledError,
    ShopifyTimeoutError,
    ShopifyUserError,
)
from plugin.shopify import operations
from plugin.shopify.auth import fresh_access_token
from plugin.shopify.hmac import normalize_shop
from plugin.shopify.transport import admin_http_client, admin_timeout

log = logging.getLogger("sidecard.shopify")

USER_AGENT = "Sidecard (+https://github.com/sidecard; httpx)"
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 4.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0  # what official clients assume when 429 has no Retry-After
# Failures that happen before a single byte of the request left: always safe to resend.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class ShopifyResult:
    """One successful GraphQL call: `data`, Shopify's `cost` block, `request_id`, `attempts`."""

    data: dict[str, Any]
    cost: dict[str, Any] | None
    request_id: str | None
    attempts: int = 1


@dataclass
class ClientStats:
    """What a client spent: calls, HTTP requests, retries, throttles, cost and time waited."""

    calls: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    requested_cost: int = 0
    actual_cost: int = 0
    waited_seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (for the benchmark)."""
        return asdict(self)


@dataclass
class _Bucket:
    """Shopify's leaky bucket for one shop as last reported, refilled by elapsed time."""

    maximum: float
    available: float
    restore_rate: float
    at: float

    def available_at(self, now: float) -> float:
        """Points available at `now`, assuming nothing else spent any."""
        return min(self.maximum, self.available + max(0.0, now - self.at) * self.restore_rate)


class RateState:
    """Bucket estimates per shop and last requested cost per operation, shared by clients.

    One per app (`rate_state()`), so every request and worker thread of the process paces
    against the same estimate, while separate apps (tests) never see each other's.
    """

    def __init__(self) -> None:
        self.buckets: dict[str, _Bucket] = {}
        self.known_costs: dict[str, int] = {}
        self.lock = threading.Lock()

    def clear(self) -> None:
        """Forget everything."""
        with self.lock:
            self.buckets.clear()
            self.known_costs.clear()


# For clients built outside an app (scripts, tests).
_default_state = RateState()
RATE_STATE_KEY = "shopify_rate_state"


def reset_rate_state() -> None:
    """Forget the default (app-less) bucket estimates and known costs (tests)."""
    _default_state.clear()


def rate_state() -> RateState:
    """The current app's shared RateState (created on first use)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions.setdefault(RATE_STATE_KEY, RateState())


class ShopifyClient:
    """Admin GraphQL client for one shop; the only code that sends GraphQL to Shopify."""

    def __init__(self, shop_domain: str, access_token: str, *, api_version: str,
                 admin_url: str, http_client: httpx.Client | None = None, max_retries: int = 2,
                 max_throttle_wait: float = 10.0, timeout: httpx.Timeout | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random,
                 rate: RateState | None = None) -> None:
        self.shop_domain = normalize_shop(shop_domain)
        self._access_token = access_token
        self.api_version = api_version
        self.endpoint = (admin_url.format(shop=self.shop_domain).rstrip("/")
                         + f"/admin/api/{api_version}/graphql.json")
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=timeout or httpx.Timeout(connect=3.0, read=15.0, write=15.0, pool=3.0))
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.max_throttle_wait = float(max_throttle_wait)
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._rate = rate or _default_state
        self.stats = ClientStats()

    def __repr__(self) -> str:  # never show the token
        return f"<ShopifyClient {self.shop_domain} {self.api_version}>"

    def close(self) -> None:
        """Close the HTTP client if this client created it (the app's pool stays open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- public calls --------------------------------------------------------------------

    def execute(self, operation_name: str, variables: dict[str, Any] | None = None
                ) -> ShopifyResult:
        """Run the named operation with `variables`.

        :raises ShopifyThrottledError: still throttled within the wait budget.
        :raises ShopifyTimeoutError: no answer in time (after safe retries).
        :raises ShopifyAuthError: 401/403 (token expired, revoked, app uninstalled).
        :raises ShopifyError: 5xx after safe retries, other HTTP errors, top-level `errors`.
        """
        op = operations.load(operation_name)
        self.stats.calls += 1
        self.stats.by_operation[op.name] = self.stats.by_operation.get(op.name, 0) + 1
        # Keyword form on purpose: validate_graphql.py (run over plugin/) reads any string
        # literal starting with "query" as a GraphQL document.
        body = dict(query=op.text, variables=variables or {}, operationName=op.name)  # noqa: C408
        attempt, throttle_budget = 0, self.max_throttle_wait
        while True:
            attempt += 1
            if attempt > 1:
                self.stats.retries += 1
            self._pace(op.name)
            response, elapsed_ms = self._send(op, body, attempt)
            if response is None:  # transport failure already judged retryable
                self._wait(self._backoff(attempt))
                continue
            outcome = self._judge(op, response, attempt, elapsed_ms, throttle_budget)
            if isinstance(outcome, ShopifyResult):
                return outcome
            kind, delay = outcome
            if kind == "throttle":
                throttle_budget -= delay
            self._wait(delay)

    def execute_mutation(self, operation_name: str, variables: dict[str, Any] | None = None,
                         payload_field: str | None = None) -> ShopifyResult:
        """Run a mutation and raise ShopifyUserError when its payload carries user errors.

        `payload_field` defaults to the only top-level field of `data`; user errors are every
        non-empty `userErrors` / `*UserErrors` list of that payload, passed on as given.

        :raises ShopifyUserError: Shopify refused the change.
        :raises ShopifyError (and subclasses): as `execute`.
        """
        result = self.execute(operation_name, variables)
        if payload_field is None:
            if len(result.data) != 1:
                raise ValueError(f"{operation_name}: name the payload field")
            payload_field = next(iter(result.data))
        payload = result.data.get(payload_field)
        if not isinstance(payload, dict):
            raise ShopifyError(f"Shopify returned no {payload_field} result",
                               request_id=result.request_id)
        errors = [error for key, value in payload.items()
                  if (key == "userErrors" or key.endswith("UserErrors")) and value
                  for error in value]
        if errors:
            first = errors[0].get("message") if isinstance(errors[0], dict) else None
            log.info("shopify op=%s shop=%s user_errors=%d request_id=%s", operation_name,
                     self.shop_domain, len(errors), result.request_id)
            raise ShopifyUserError(first or "Shopify refused the change", errors=errors,
                                   request_id=result.request_id, status=200)
        return result

    # --- one attempt ---------------------------------------------------------------------

    def _send(self, op: operations.Operation, body: dict[str, Any], attempt: int
              ) -> tuple[httpx.Response | None, int]:
        """POST once. Returns (response, ms), or (None, ms) for a retryable transport failure.

        :raises ShopifyTimeoutError, ShopifyError: a transport failure that must not be retried.
        """
        headers = {"X-Shopify-Access-Token": self._access_token,
                   "Accept": "application/json", "User-Agent": USER_AGENT}
        kwargs: dict[str, Any] = {"json": body, "headers": headers}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        started = time.perf_counter()
        self.stats.requests += 1
        try:
            response = self._http.post(self.endpoint, **kwargs)
        except httpx.TransportError as exc:
            elapsed = int((time.perf_counter() - started) * 1000)
            sent = not isinstance(exc, NOT_SENT_ERRORS)
            log.warning("shopify op=%s shop=%s error=%s sent=%s ms=%d attempt=%d", op.name,
                        self.shop_domain, type(exc).__name__, sent, elapsed, attempt)
            if attempt <= self.max_retries and (not sent or op.retry_safe):
                return None, elapsed
            if isinstance(exc, httpx.TimeoutException):
                raise ShopifyTimeoutError(_uncertain("did not answer in time", op, sent)) from exc
            raise ShopifyError(_uncertain("could not be reached", op, sent)) from exc
        return response, int((time.perf_counter() - started) * 1000)

    def _judge(self, op: operations.Operation, response: httpx.Response, attempt: int,
               elapsed_ms: int, throttle_budget: float
               ) -> ShopifyResult | tuple[str, float]:
        """Turn a response into a result, a (reason, delay) to retry after, or an exception."""
        status = response.status_code
        request_id = response.headers.get("X-Request-Id")
        payload = _json_or_none(response)
        cost = _cost_of(payload)
        self._observe(op.name, cost)
        self._log(op.name, status, cost, elapsed_ms, request_id, attempt)
        can_retry = attempt <= self.max_retries

        if status == 429:  # rate limited before anything ran
            self.stats.throttled += 1
            delay = _retry_after(response)
            if can_retry and delay <= throttle_budget:
                return "throttle", delay
            raise ShopifyThrottledError("Shopify is rate-limiting this shop; try again shortly",
                                        status=429, request_id=request_id, retry_after=delay)
        if status in (401, 403):
            raise ShopifyAuthError("Shopify refused Sidecard's access token", status=status,
                                   request_id=request_id, errors=_messages(payload))
        if status >= 500:
            if can_retry and op.retry_safe:
                return "backoff", self._backoff(attempt)
            raise ShopifyError(_uncertain(f"failed (HTTP {status})", op, True), status=status,
                               request_id=request_id)
        if status != 200 or not isinstance(payload, dict):
            raise ShopifyError(f"Shopify answered HTTP {status}", status=status,
                               request_id=request_id, errors=_messages(payload))

        errors = payload.get("errors")
        if errors:
            if _is_throttled(errors):  # nothing ran: always safe to resend
                self.stats.throttled += 1
                delay = _throttle_delay(cost)
                if can_retry and delay <= throttle_budget:
                    return "throttle", delay
                raise ShopifyThrottledError(
                    "Shopify is throttling this shop; try again shortly", status=status,
                    request_id=request_id, retry_after=round(delay, 3))
            messages = _messages(payload)
            log.warning("shopify op=%s shop=%s errors=%s request_id=%s", op.name,
                        self.shop_domain, [m.get("message") for m in messages][:5], request_id)
            raise ShopifyError("Shopify rejected the request: "
                               + "; ".join(str(m.get("message")) for m in messages[:3]),
                               status=status, request_id=request_id, errors=messages)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ShopifyError("Shopify answered without data", status=status,
                               request_id=request_id)
        return ShopifyResult(data=data, cost=cost, request_id=request_id, attempts=attempt)

    # --- pacing and waiting --------------------------------------------------------------

    def _pace(self, operation_name: str) -> None:
        """Wait until the bucket estimate can pay this operation's last known cost (capped)."""
        with self._rate.lock:
            bucket = self._rate.buckets.get(self.shop_domain)
            cost = self._rate.known_costs.get(operation_name)
            if bucket is None or cost is None or bucket.restore_rate <= 0:
                return
            now = self._clock()
            available = bucket.available_at(now)
            # Reserve the points now so concurrent calls for this shop queue behind us.
            bucket.available, bucket.at = available - cost, now
            if cost <= available or cost > bucket.maximum:  # affordable, or waiting can't help
                return
            delay = min((cost - available) / bucket.restore_rate, self.max_throttle_wait)
        self._wait(delay)

    def _observe(self, operation_name: str, cost: dict[str, Any] | None) -> None:
        """Update the shop's bucket estimate and the operation's known cost from a response."""
        if not cost:
            return
        requested, actual = cost.get("requestedQueryCost"), cost.get("actualQueryCost")
        if isinstance(requested, (int, float)):
            self.stats.requested_cost += int(requested)
        if isinstance(actual, (int, float)):
            self.stats.actual_cost += int(actual)
        status = cost.get("throttleStatus") or {}
        try:
            bucket = _Bucket(maximum=float(status["maximumAvailable"]),
                             available=float(status["currentlyAvailable"]),
                             restore_rate=float(status["restoreRate"]), at=self._clock())
        except (KeyError, TypeError, ValueError):
            return
        with self._rate.lock:
            self._rate.buckets[self.shop_domain] = bucket
            if isinstance(requested, (int, float)):
                self._rate.known_costs[operation_name] = int(requested)

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter (½ to 1× the step)."""
        step = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return step * (0.5 + self._jitter() / 2)

    def _wait(self, seconds: float) -> None:
        """Sleep (through the injectable sleep) and count it."""
        if seconds > 0:
            self.stats.waited_seconds += seconds
            self._sleep(seconds)

    def _log(self, name: str, status: int, cost: dict[str, Any] | None, ms: int,
             request_id: str | None, attempt: int) -> None:
        """One line per HTTP call: operation, status, cost, time, request id; never bodies."""
        requested = cost.get("requestedQueryCost") if cost else None
        actual = cost.get("actualQueryCost") if cost else None
        log.info("shopify op=%s shop=%s status=%s cost=%s/%s ms=%d request_id=%s attempt=%d",
                 name, self.shop_domain, status, actual, requested, ms, request_id, attempt)


def _uncertain(what: str, op: operations.Operation, sent: bool) -> str:
    """An error message that says whether a mutation may have been applied."""
    text = f"Shopify {what}"
    if op.is_mutation and sent and not op.idempotent:
        text += "; the change may or may not have been applied: check the order before retrying"
    return text


def _json_or_none(response: httpx.Response) -> Any:
    """The JSON body, or None when there is none."""
    try:
        return response.json()
    except ValueError:
        return None


def _cost_of(payload: Any) -> dict[str, Any] | None:
    """`extensions.cost` of a GraphQL answer."""
    if isinstance(payload, dict):
        cost = (payload.get("extensions") or {}).get("cost")
        return cost if isinstance(cost, dict) else None
    return None


def _is_throttled(errors: Any) -> bool:
    """True when Shopify's top-level errors say THROTTLED."""
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
        for e in errors)


def _throttle_delay(cost: dict[str, Any] | None) -> float:
    """Seconds until the bucket holds the requested cost: (requested − available) / rate."""
    try:
        status = cost["throttleStatus"]  # type: ignore[index]
        requested = float(cost["requestedQueryCost"])  # type: ignore[index]
        missing = requested - float(status["currentlyAvailable"])
        return max(0.0, missing / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return DEFAULT_RETRY_AFTER_SECONDS


def _retry_after(response: httpx.Response) -> float:
    """Retry-After in seconds (numeric form), or the default."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def _messages(payload: Any) -> list[dict[str, Any]]:
    """Top-level error messages (and codes) only; never the rest of the body."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, str):
        return [{"message": errors}]
    if not isinstance(errors, list):
        return []
    out = []
    for error in errors:
        if isinstance(error, dict):
            item = {"message": error.get("message")}
            code = (error.get("extensions") or {}).get("code")
            if code:
                item["code"] = code
            out.append(item)
        else:
            out.append({"message": str(error)})
    return out


def client_for_shop(shop, **overrides: Any) -> ShopifyClient:
    """A ShopifyClient for an installed shop: fresh token, app config, the pooled client.

    :raises ShopNotInstalledError: no usable token (see `fresh_access_token`).
    """
    config = current_app.config
    options: dict[str, Any] = {
        "api_version": config["SHOPIFY_API_VERSION"],
        "admin_url": config["SHOPIFY_ADMIN_URL"],
        "http_client": admin_http_client(),
        "max_retries": int(config.get("SHOPIFY_MAX_RETRIES", 2)),
        "max_throttle_wait": float(config.get("SHOPIFY_MAX_THROTTLE_WAIT", 10.0)),
        "timeout": admin_timeout(config),
        "rate": rate_state(),
    }
    options.update(overrides)
    return ShopifyClient(shop.domain, fresh_access_token(shop), **options)
