"""One exception root for Sidecard, with the HTTP status and error code each maps to."""

from __future__ import annotations

from typing import Any


class SidecardError(Exception):
    """Root of every error Sidecard raises on purpose."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str = "", **extra: Any) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """The contract's error body: {"error", "message", ...}."""
        return {"error": self.code, "message": self.message, **self.extra}


class ConfigurationError(SidecardError):
    """The app is misconfigured and cannot start."""

    code = "configuration_error"


class ValidationError(SidecardError):
    """The request's input is missing or malformed."""

    http_status = 400
    code = "bad_request"


class AuthenticationError(SidecardError):
    """The request could not be authenticated."""

    http_status = 401
    code = "unauthorized"


class InvalidHmacError(AuthenticationError):
    """A Shopify HMAC signature did not verify."""


class InvalidShopError(ValidationError):
    """The shop domain is not a valid *.myshopify.com domain."""


class PermissionDeniedError(SidecardError):
    """The agent is not permitted to do this."""

    http_status = 403
    code = "forbidden"


class NotFoundError(SidecardError):
    """The resource does not exist."""

    http_status = 404
    code = "not_found"


class ActionUnavailableError(SidecardError):
    """The action is not available for this order."""

    http_status = 409
    code = "not_available"


class IdempotencyConflictError(SidecardError):
    """The Idempotency-Key was already used with another request."""

    http_status = 409
    code = "idempotency_conflict"


class RateLimitedError(SidecardError):
    """Too many requests; try again later."""

    http_status = 429
    code = "rate_limited"


class ShopNotInstalledError(SidecardError):
    """The shop has not installed Sidecard, or uninstalled it."""

    http_status = 401
    code = "shop_not_installed"


class ShopifyError(SidecardError):
    """Shopify answered with an error or could not be used."""

    http_status = 502
    code = "shopify_failed"

    def __init__(self, message: str = "", *, status: int | None = None,
                 request_id: str | None = None, errors: Any = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.status = status
        self.request_id = request_id
        self.errors = errors


class ShopifyTimeoutError(ShopifyError):
    """Shopify did not answer in time."""

    http_status = 504
    code = "shopify_timeout"


class ShopifyThrottledError(ShopifyError):
    """Shopify kept throttling the request past the retry budget."""

    http_status = 502
    code = "shopify_throttled"


class ShopifyAuthError(ShopifyError):
    """Shopify refused the access token (expired, revoked or uninstalled)."""

    http_status = 502
    code = "shopify_unauthorized"


class ShopifyUserError(ShopifyError):
    """Shopify refused a mutation; `errors` are its userErrors as given."""

    http_status = 422
    code = "shopify_refused"

    def to_dict(self) -> dict[str, Any]:
        """Include Shopify's own errors so the agent sees Shopify's message."""
        body = super().to_dict()
        body["errors"] = self.errors or []
        return body


class VerificationFailedError(ValidationError):
    """An identity proof (one-time code, sign-in, device credential) was refused."""

    code = "verification_failed"


class ServiceUnavailableError(SidecardError):
    """A feature is switched off or not configured on this server."""

    http_status = 503
    code = "unavailable"


class MailDeliveryError(SidecardError):
    """The mail server did not accept the message."""

    http_status = 502
    code = "mail_failed"


class HelpdeskError(SidecardError):
    """A helpdesk API (Zendesk, Gorgias, Kustomer) failed or refused a call."""

    http_status = 502
    code = "helpdesk_failed"

    def __init__(self, message: str = "", *, status: int | None = None,
                 retry_after: float | None = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.status = status
        self.retry_after = retry_after


class HelpdeskUnavailableError(HelpdeskError):
    """The helpdesk is down, timed out or answered 5xx; try again later.

    `outcome_unknown` is True when the request may have reached the helpdesk (a read
    timeout, a 5xx), so a retry must first look for what it may have created.
    """

    code = "helpdesk_unavailable"

    def __init__(self, message: str = "", *, outcome_unknown: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.outcome_unknown = outcome_unknown


class HelpdeskRateLimitedError(HelpdeskError):
    """The helpdesk answered 429; `retry_after` says when to try again."""

    code = "helpdesk_rate_limited"


class HelpdeskAuthError(HelpdeskError):
    """The helpdesk refused the connection's credentials (401/403) or none are set."""

    code = "helpdesk_unauthorized"


class HelpdeskNotFoundError(HelpdeskError):
    """The ticket or conversation does not exist (any more) in the helpdesk."""

    code = "helpdesk_not_found"


class HelpdeskRejectedError(HelpdeskError):
    """The helpdesk refused the request itself (400/422): sending it again cannot help."""

    code = "helpdesk_rejected"


class ActionInProgressError(SidecardError):
    """A request with this Idempotency-Key is still running; retry shortly with the same key."""

    http_status = 409
    code = "in_progress"


class UnsupportedMediaTypeError(SidecardError):
    """The request body is not JSON (send `Content-Type: application/json`)."""

    http_status = 415
    code = "unsupported_media_type"
