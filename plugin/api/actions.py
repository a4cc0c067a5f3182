"""`POST /api/v1/orders/{order_id}/actions/{action}` (and `/preview`): card actions.

The views parse the request strictly and hand it to `plugin.actions.service`, which holds the
permission checks, the idempotency record, Shopify and the audit trail.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request

from plugin.actions.service import preview_action, refuse_request, run_action
from plugin.api import bp
from plugin.api.auth import current_session, require_session
from plugin.exceptions import ValidationError

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _no_constants(value: str) -> Any:
    raise ValueError(f"{value} is not JSON")


def json_body(*, empty: Any = None) -> Any:
    """The request body parsed strictly as JSON (an object is required by the callers).

    An empty body gives `empty` when that is not None. Bodies over MAX_CONTENT_LENGTH are
    refused with 413 before they are read.

    :raises ValidationError: malformed JSON, NaN/Infinity, or not an object (400).
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if empty is not None:
            return empty
        raise ValidationError("The body must be a JSON object.", reason="empty_body")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError("The body is not valid JSON.", reason="malformed_json") from exc
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object.", reason="not_an_object")
    return body


@bp.post("/orders/<path:order_id>/actions/<string:action>/preview")
@require_session
def preview(order_id: str, action: str) -> Response:
    """What the action would do, changing nothing (no Idempotency-Key needed): the action's
    preview plus `amount`, `currency`, `within_limit`, `requires_approval`, `allowed`.

    :raise 400: malformed JSON, non-object or invalid body, malformed order id.
    :raise 401: no valid session.
    :raise 403: the action is not enabled for the shop or not in the agent's set.
    :raise 404: unknown action or order.
    :raise 409: the order does not allow the action now (`reason`).
    :raise 413: body too large.
    :raise 502/504: Shopify failed or timed out.
    """
    return jsonify(preview_action(current_session(), order_id, action, json_body()))


@bp.post("/orders/<path:order_id>/actions/<string:action>")
@require_session
def act(order_id: str, action: str) -> Response:
    """Run the action once per `Idempotency-Key`: 200 succeeded, 202 pending_approval.

    The same key with the same body replays the first answer (header
    `Idempotent-Replayed: true`); with another body it is 409 `idempotency_conflict`; while
    the first is still running, 409 `in_progress`.

    :raise 400: missing/invalid Idempotency-Key, malformed JSON, invalid body.
    :raise 401: no valid session.
    :raise 403: not permitted (not enabled, not in the set, above the limit).
    :raise 404: unknown action or order.
    :raise 409: not available for this order (`reason`), key conflict, in progress.
    :raise 413: body too large.
    :raise 422: Shopify refused (`errors` as Shopify gave them).
    :raise 502/504: Shopify failed or timed out; retry with the same key.
    """
    session = current_session()
    key = request.headers.get(IDEMPOTENCY_HEADER)
    try:
        body = json_body()
    except ValidationError as exc:
        refuse_request(session, exc, action=action, order_id=order_id)  # audited, like all
        raise
    outcome = run_action(session, order_id, action, body, key)
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response

