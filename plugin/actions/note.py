"""The `edit_note` action: replace the order's note, or append a line to it (`orderUpdate`).

`mode` is "replace" (default) or "append" (a newline, then the text). An empty note with
"replace" clears it. The resulting note is at most 5,000 characters. Appending reads the
note from the fresh order the service passes in; `orderUpdate` has no compare-and-set, so a
note written in the admin in the same instant could be overwritten — the window is the
length of one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.actions import register
from plugin.actions.base import Action, ActionResult, Availability, agent_label, order_label
from plugin.actions.validation import fail, require_object, string

NOTE_MAX_LENGTH = 5000
MODES = ("replace", "append")


def resulting_note(current: str | None, body: Mapping[str, Any]) -> str:
    """The note after the edit."""
    if body["mode"] == "append" and current:
        return f"{current}\n{body['note']}"
    return body["note"]


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@register
class EditNoteAction(Action):
    """Replace or append to the order's note."""

    name = "edit_note"
    label = "Edit note"
    order = 50
    scopes = frozenset({"read_orders", "write_orders"})

    def validate(self, body: Any) -> dict[str, Any]:
        """`{"note": TEXT, "mode": "replace"|"append"}` (mode optional, default replace).

        :raises ValidationError: unknown keys, a non-string note or one over 5,000
            characters, an unknown mode, an empty note to append.
        """
        data = require_object(body, allowed=("note", "mode"), required=("note",))
        mode = data.get("mode")
        if mode is None:
            mode = "replace"
        elif not isinstance(mode, str) or mode not in MODES:
            raise fail("mode", 'mode must be "replace" or "append".')
        note = string(data["note"], "note", max_length=NOTE_MAX_LENGTH,
                      allow_empty=mode == "replace", multiline=True)
        return {"note": note, "mode": mode}

    def availability(self, order: Mapping[str, Any]) -> Availability:
        """Always: notes change on cancelled and archived orders too."""
        return Availability(True)

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """The resulting note fits Shopify's 5,000 characters.

        :raises ValidationError: appending would make the note too long.
        """
        after = resulting_note(order.get("note"), body)
        if len(after) > NOTE_MAX_LENGTH:
            raise fail("note", f"The note would be {len(after)} characters; at most "
                               f"{NOTE_MAX_LENGTH} fit.")

    def preview(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """The note before and after."""
        return {"mode": body["mode"], "before": order.get("note") or "",
                "after": resulting_note(order.get("note"), body)}

    def perform(self, client, order: Mapping[str, Any], body: Mapping[str, Any], *,
                idempotency_key: str) -> ActionResult:
        """orderUpdate with the new note.

        :raises ShopifyUserError: Shopify refused (422).
        """
        note = resulting_note(order.get("note"), body)
        result = client.execute_mutation("OrderUpdate", {"input": {
            "id": order.get("gid") or f"gid://shopify/Order/{order['id']}", "note": note}})
        saved = ((result.data.get("orderUpdate") or {}).get("order") or {}).get("note")
        return ActionResult(order=None, details={"mode": body["mode"], "note": saved},
                            shopify_request_id=result.request_id)

    def summary(self, order: Mapping[str, Any], body: Mapping[str, Any],
                result: ActionResult | None, agent: Mapping[str, Any]) -> str:
        """`Dana (dana@x.com) added to the note of order #1004: "Call before delivery"`."""
        ask = "" if result is not None else "asked to "
        if not body["note"]:
            return f"{agent_label(agent)} {ask}cleared the note of {order_label(order)}"
        verb = {"append": "add to", "replace": "replace"}[body["mode"]]
        if result is not None:
            verb = {"append": "added to", "replace": "replaced"}[body["mode"]]
        return (f"{agent_label(agent)} {ask}{verb} the note of {order_label(order)}: "
                f"\"{_short(body['note'])}\"")
