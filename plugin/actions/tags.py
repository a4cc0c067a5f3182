"""The `edit_tags` action: `tagsAdd` then `tagsRemove`, never an overwrite of the tag list.

Set semantics, case-insensitive as Shopify's: tags someone else adds meanwhile survive, and
repeating the action changes nothing more. Available on any order, cancelled or archived too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.actions import register
from plugin.actions.base import Action, ActionResult, Availability, agent_label, order_label
from plugin.actions.validation import fail, require_object, string, string_list

MAX_TAGS = 250  # Shopify's cap on input arrays and on an order's tags
TAG_MAX_LENGTH = 255


def _tag_list(value: Any, field: str) -> list[str]:
    """Tags as given: strings without commas, trimmed, duplicates (any case) dropped."""
    if value is None:
        return []
    out: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(string_list(value, field, max_items=MAX_TAGS)):
        tag = string(raw, f"{field}[{index}]", max_length=TAG_MAX_LENGTH)
        if "," in tag:
            raise fail(f"{field}[{index}]", f"{field}[{index}] must not contain a comma "
                                            "(give each tag separately).")
        if tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    return out


def resulting_tags(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    """The order's tags after adding and removing (case-insensitive, order kept)."""
    have = {t.lower() for t in current}
    tags = list(current) + [t for t in add if t.lower() not in have]
    drop = {t.lower() for t in remove}
    return [t for t in tags if t.lower() not in drop]


@register
class EditTagsAction(Action):
    """Add and remove order tags without losing the others."""

    name = "edit_tags"
    label = "Edit tags"
    order = 40
    scopes = frozenset({"read_orders", "write_orders"})

    def validate(self, body: Any) -> dict[str, Any]:
        """`{"add": [...], "remove": [...]}`, at least one non-empty, no tag in both.

        :raises ValidationError: unknown keys, non-string or empty tags, commas, tags over 255
            characters, more than 250 tags, nothing to do, a tag both added and removed.
        """
        data = require_object(body, allowed=("add", "remove"))
        add, remove = _tag_list(data.get("add"), "add"), _tag_list(data.get("remove"), "remove")
        if not add and not remove:
            raise fail("body", "Give tags to add or remove.")
        both = sorted({t.lower() for t in add} & {t.lower() for t in remove})
        if both:
            raise fail("remove", f"Tag {both[0]!r} is both added and removed.")
        return {"add": add, "remove": remove}

    def availability(self, order: Mapping[str, Any]) -> Availability:
        """Always: tags change on open, archived and cancelled orders alike."""
        return Availability(True)

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """The order would not end up with more tags than Shopify keeps.

        :raises ValidationError: more than 250 tags after adding.
        """
        after = resulting_tags(list(order.get("tags") or []), body["add"], body["remove"])
        if len(after) > MAX_TAGS:
            raise fail("add", f"An order keeps at most {MAX_TAGS} tags; this would make "
                              f"{len(after)}.")

    def preview(self, client, order: Mapping[str, Any], body: Mapping[str, Any]
                ) -> dict[str, Any]:
        """The tags before and after, and which really change."""
        before = list(order.get("tags") or [])
        have = {t.lower() for t in before}
        return {"before": before,
                "after": resulting_tags(before, body["add"], body["remove"]),
                "added": [t for t in body["add"] if t.lower() not in have],
                "removed": [t for t in before if t.lower() in {r.lower() for r in body["remove"]}]}

    def perform(self, client, order: Mapping[str, Any], body: Mapping[str, Any], *,
                idempotency_key: str) -> ActionResult:
        """tagsAdd, then tagsRemove (each only when asked).

        :raises ShopifyUserError: Shopify refused (422).
        """
        order_gid = order.get("gid") or f"gid://shopify/Order/{order['id']}"
        tags, request_ids = None, []
        for operation, wanted in (("TagsAdd", body["add"]), ("TagsRemove", body["remove"])):
            if not wanted:
                continue
            result = client.execute_mutation(operation, {"id": order_gid, "tags": wanted})
            request_ids.append(result.request_id)
            node = next(iter(result.data.values()), {}) or {}
            tags = (node.get("node") or {}).get("tags", tags)
        return ActionResult(order=None, details={
            "added": body["add"], "removed": body["remove"], "tags": tags,
            "request_ids": request_ids,
        }, shopify_request_id=request_ids[-1] if request_ids else None)

    def summary(self, order: Mapping[str, Any], body: Mapping[str, Any],
                result: ActionResult | None, agent: Mapping[str, Any]) -> str:
        """`Dana (dana@x.com) edited the tags of order #1004: added vip; removed hold`."""
        parts = []
        if body["add"]:
            parts.append("added " + ", ".join(body["add"]))
        if body["remove"]:
            parts.append("removed " + ", ".join(body["remove"]))
        verb = "edited" if result is not None else "asked to edit"
        return f"{agent_label(agent)} {verb} the tags of {order_label(order)}: " \
               + "; ".join(parts)
