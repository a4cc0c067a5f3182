"""Permission sets (CONTRACT §5): parsing the merchant's document, and pure predicates.

The document names which actions exist for the shop (`enabled_actions`), and sets of agents
with what they may do: `actions`, `refund_limit`, whether above the limit becomes an approval
request, `can_approve`, and `require_verified_identity`. An agent gets the first set whose
`agents` match its email (exact, or `*@domain`; case-insensitive), skipping sets that need a
verified identity when the session's is asserted; else the `default` set; else nothing.

The predicates here are pure (no database, no Flask); `shop_permissions` and
`store_permissions` read and write the shop's stored document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.exceptions import ValidationError

IDENTITY_VERIFIED = "verified"  # plugin.launch.IDENTITY_VERIFIED (not imported: stays pure)
ALL = "*"
MAX_SETS = 100
MAX_AGENTS_PER_SET = 1000
MAX_NAME_LENGTH = 100
MONEY_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")

TOP_KEYS = frozenset({"enabled_actions", "default", "permission_sets"})
SET_KEYS = frozenset({"name", "actions", "refund_limit", "request_approval_above_limit",
                      "can_approve", "agents", "require_verified_identity"})

# Why a shop that never imported a configuration gets this one: agents can do everything
# that moves no money right away (the merchant installed Sidecard for that), while every
# refund — however small — becomes an approval request instead of money leaving the shop.
# Nobody can approve until the merchant imports sets naming approvers, so pending requests
# wait (and expire) rather than run. Nothing is ever refused outright, and nothing is paid
# out without someone the merchant chose.
DEFAULT_SET_NAME = "Everyone (no permission sets imported yet)"
DEFAULT_DOCUMENT: dict[str, Any] = {
    "default": DEFAULT_SET_NAME,
    "permission_sets": [
        {"name": DEFAULT_SET_NAME, "actions": [ALL], "refund_limit": "0.00",
         "request_approval_above_limit": True, "can_approve": False, "agents": [],
         "require_verified_identity": False},
    ],
}

# Refusal reasons (the `reason` of 403s and of unavailable actions in the card).
NOT_ENABLED = "not_enabled"
NOT_IN_SET = "not_in_permission_set"
NO_SET = "no_permission_set"
ABOVE_LIMIT = "above_limit"


@dataclass(frozen=True)
class PermissionSet:
    """One named set of agents and what they may do."""

    name: str
    actions: frozenset[str] | None  # None: every action ("*")
    refund_limit: Decimal | None  # None: no cap
    request_approval_above_limit: bool = False
    can_approve: bool = False
    agents: tuple[str, ...] = ()
    require_verified_identity: bool = False

    def allows(self, action: str) -> bool:
        """True when the set lists the action (or every action)."""
        return self.actions is None or action in self.actions

    def to_dict(self) -> dict[str, Any]:
        """The set in the §5 format."""
        return {
            "name": self.name,
            "actions": [ALL] if self.actions is None else sorted(self.actions),
            "refund_limit": money_string(self.refund_limit),
            "request_approval_above_limit": self.request_approval_above_limit,
            "can_approve": self.can_approve,
            "agents": list(self.agents),
            "require_verified_identity": self.require_verified_identity,
        }


@dataclass(frozen=True)
class ShopPermissions:
    """A shop's whole configuration: action switches, sets in order, the default set."""

    enabled_actions: frozenset[str] | None  # None: every action
    sets: tuple[PermissionSet, ...]
    default: str | None = None
    # True when the shop never imported a document and runs on DEFAULT_DOCUMENT.
    built_in: bool = False

    def is_enabled(self, action: str) -> bool:
        """The shop-wide switch for an action."""
        return self.enabled_actions is None or action in self.enabled_actions

    def set_named(self, name: str | None) -> PermissionSet | None:
        """The set called `name`, if any."""
        return next((s for s in self.sets if s.name == name), None)

    def to_document(self) -> dict[str, Any]:
        """The configuration in the §5 format (what `permissions export` prints)."""
        document: dict[str, Any] = {}
        if self.enabled_actions is not None:
            document["enabled_actions"] = sorted(self.enabled_actions)
        document["default"] = self.default
        document["permission_sets"] = [s.to_dict() for s in self.sets]
        return document


@dataclass(frozen=True)
class Decision:
    """Whether an agent may take an action, and why not (`reason` code, `message`)."""

    allowed: bool
    reason: str | None = None
    message: str | None = None


# -- parsing ---------------------------------------------------------------------------------


def money_string(value: Decimal | None) -> str | None:
    """A limit as the contract's decimal string (two places), or None."""
    return None if value is None else f"{value:.2f}"


def parse_money(value: Any, where: str) -> Decimal | None:
    """A `refund_limit`: a non-negative decimal string ("50.00") or null.

    :raises ValidationError: a float, a negative or malformed amount.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not MONEY_RE.match(value.strip()):
        raise ValidationError(f'{where}: refund_limit must be a decimal string like "50.00" '
                              f"or null, not {value!r}", field="refund_limit")
    try:
        return Decimal(value.strip())
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes these
        raise ValidationError(f"{where}: refund_limit {value!r} is not a number",
                              field="refund_limit") from exc


def _bool(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(f"{where}: {key} must be true or false, not {value!r}", field=key)
    return value


def _actions(value: Any, known: frozenset[str], where: str, key: str
             ) -> frozenset[str] | None:
    """A list of action names, or ["*"] for all; unknown names are refused."""
    if value == ALL:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{where}: {key} must be a list of action names", field=key)
    if ALL in value:
        if len(value) > 1:
            raise ValidationError(f'{where}: {key} lists "*" and other names; "*" means every '
                                  "action", field=key)
        return None
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValidationError(f"{where}: unknown action(s) " + ", ".join(map(repr, unknown))
                              + " in " + key + "; known actions: " + ", ".join(sorted(known)),
                              field=key)
    return frozenset(value)


def normalize_agent_pattern(value: Any, where: str) -> str:
    """An `agents` entry: an exact email or `*@domain`, lower-cased.

    :raises ValidationError: anything else (e.g. `*`, `*.example.com`, a bare name).
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: agents entries must be emails or *@domain",
                              field="agents")
    pattern = value.strip().lower()
    if pattern.startswith("*@"):
        if not DOMAIN_RE.match(pattern[2:]):
            raise ValidationError(f"{where}: agents entry {value!r} is not *@domain",
                                  field="agents")
    elif "*" in pattern or not EMAIL_RE.match(pattern):
        raise ValidationError(f"{where}: agents entry {value!r} is neither an email nor "
                              "*@domain", field="agents")
    return pattern


def _parse_set(data: Any, index: int, known: frozenset[str]) -> PermissionSet:
    where = f"permission_sets[{index}]"
    if not isinstance(data, dict):
        raise ValidationError(f"{where} must be an object", field="permission_sets")
    unknown = sorted(set(data) - SET_KEYS)
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) " + ", ".join(map(repr, unknown)),
                              field="permission_sets")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"{where}: name must be a non-empty string of at most "
                              f"{MAX_NAME_LENGTH} characters", field="name")
    where = f"permission set {name!r}"
    if "actions" not in data:
        raise ValidationError(f'{where}: actions is required (a list of names, or ["*"])',
                              field="actions")
    agents = data.get("agents", [])
    if not isinstance(agents, list) or len(agents) > MAX_AGENTS_PER_SET:
        raise ValidationError(f"{where}: agents must be a list of at most "
                              f"{MAX_AGENTS_PER_SET} entries", field="agents")
    return PermissionSet(
        name=name.strip(),
        actions=_actions(data["actions"], known, where, "actions"),
        refund_limit=parse_money(data.get("refund_limit"), where),
        request_approval_above_limit=_bool(data, "request_approval_above_limit", where),
        can_approve=_bool(data, "can_approve", where),
        agents=tuple(dict.fromkeys(normalize_agent_pattern(a, where) for a in agents)),
        require_verified_identity=_bool(data, "require_verified_identity", where),
    )


def parse_permissions(document: Any, known_actions: Iterable[str]) -> ShopPermissions:
    """Validate a §5 document against the registered actions and return it parsed.

    :raises ValidationError: naming the problem — not an object, unknown keys or action names,
        bad money, duplicate set names, a default naming a missing set.
    """
    known = frozenset(known_actions)
    if not isinstance(document, dict):
        raise ValidationError("the permissions document must be a JSON object")
    unknown = sorted(set(document) - TOP_KEYS)
    if unknown:
        raise ValidationError("unknown top-level key(s) " + ", ".join(map(repr, unknown))
                              + "; expected enabled_actions, default, permission_sets")
    enabled = None
    if "enabled_actions" in document and document["enabled_actions"] is not None:
        enabled = _actions(document["enabled_actions"], known, "enabled_actions",
                           "enabled_actions")
    raw_sets = document.get("permission_sets", [])
    if not isinstance(raw_sets, list):
        raise ValidationError("permission_sets must be a list", field="permission_sets")
    if len(raw_sets) > MAX_SETS:
        raise ValidationError(f"at most {MAX_SETS} permission sets", field="permission_sets")
    sets = tuple(_parse_set(data, i, known) for i, data in enumerate(raw_sets))
    seen: set[str] = set()
    for permission_set in sets:
        folded = permission_set.name.casefold()
        if folded in seen:
            raise ValidationError(f"duplicate permission set name {permission_set.name!r}",
                                  field="name")
        seen.add(folded)
    default = document.get("default")
    if default is not None:
        if not isinstance(default, str):
            raise ValidationError("default must be the name of a permission set, or null",
                                  field="default")
        default = default.strip()
        if not any(s.name == default for s in sets):
            raise ValidationError(f"default names {default!r}, but no permission set has "
                                  "that name", field="default")
    return ShopPermissions(enabled_actions=enabled, sets=sets, default=default)


def built_in_permissions(known_actions: Iterable[str]) -> ShopPermissions:
    """The configuration of a shop that never imported one (see DEFAULT_DOCUMENT)."""
    parsed = parse_permissions(DEFAULT_DOCUMENT, known_actions)
    return ShopPermissions(enabled_actions=parsed.enabled_actions, sets=parsed.sets,
                           default=parsed.default, built_in=True)


# -- predicates ------------------------------------------------------------------------------


def agent_matches(pattern: str, email: str | None) -> bool:
    """True when an `agents` entry (exact email or `*@domain`) names this email."""
    if not email:
        return False
    email = email.strip().lower()
    pattern = pattern.strip().lower()
    if pattern.startswith("*@"):
        return email.rpartition("@")[2] == pattern[2:]
    return email == pattern


def resolve_set(config: ShopPermissions, email: str | None, identity: str | None
                ) -> PermissionSet | None:
    """The agent's set: the first match (verified-only sets skipped for asserted sessions),
    else the default set, else None (no actions at all)."""
    verified = identity == IDENTITY_VERIFIED
    for permission_set in config.sets:
        if permission_set.require_verified_identity and not verified:
            continue
        if any(agent_matches(p, email) for p in permission_set.agents):
            return permission_set
    return config.set_named(config.default)


def may_use(config: ShopPermissions, permission_set: PermissionSet | None, action: str,
            label: str | None = None) -> Decision:
    """Whether the shop's switches and the agent's set allow an action (amounts aside)."""
    what = label or action
    if not config.is_enabled(action):
        return Decision(False, NOT_ENABLED, f"{what} is not enabled for this shop.")
    if permission_set is None:
        return Decision(False, NO_SET, "No permission set applies to you, so you cannot take "
                                       "actions; ask the shop's admin to add you to one.")
    if not permission_set.allows(action):
        return Decision(False, NOT_IN_SET, f"Your permission set ({permission_set.name}) "
                                           f"does not include {what.lower()}.")
    return Decision(True)


def within_limit(permission_set: PermissionSet, amount: Decimal | None) -> bool:
    """True when the amount is not capped by the set's `refund_limit`."""
    if amount is None or permission_set.refund_limit is None:
        return True
    return amount <= permission_set.refund_limit


def limit_note(permission_set: PermissionSet | None, currency: str | None = None
               ) -> str | None:
    """What the card says about the set's limit (e.g. "Refunds above 50.00 need approval.")."""
    if permission_set is None or permission_set.refund_limit is None:
        return None
    limit = money_string(permission_set.refund_limit)
    if currency:
        limit = f"{limit} {currency}"
    if permission_set.request_approval_above_limit:
        return f"Refunds above {limit} need approval."
    return f"Refunds above {limit} are not allowed for your permission set."


# Verifications that prove whom the helpdesk named, not who is at the keyboard: a Gorgias link
# minted for the ticket's assignee can be clicked by anyone who sees the ticket. Enough to act
# within the assignee's own limits, not to approve someone else's money.
NOT_ENOUGH_TO_APPROVE = frozenset({"gorgias_integration"})


def approval_refusal(permission_set: PermissionSet | None, *, identity: str | None,
                     approver_email: str | None, requester_email: str | None,
                     amount: Decimal | None, verified_by: str | None = None) -> Decision:
    """Whether this agent may approve a request for `amount` made by `requester_email`."""
    if permission_set is None or not permission_set.can_approve:
        return Decision(False, "cannot_approve", "Your permission set cannot approve requests.")
    if identity != IDENTITY_VERIFIED:
        return Decision(False, "unverified_identity", "Approving needs a verified identity; "
                                                      "verify who you are first.")
    if verified_by in NOT_ENOUGH_TO_APPROVE:
        return Decision(False, "unverified_identity",
                        "Approving needs you to verify yourself (a sign-in code or your "
                        "helpdesk's sign-in); a link from the ticket is not enough.")
    if (approver_email or "").strip().lower() == (requester_email or "").strip().lower():
        return Decision(False, "own_request", "You cannot approve your own request.")
    if not within_limit(permission_set, amount):
        return Decision(False, "approver_limit",
                        f"Your refund limit ({money_string(permission_set.refund_limit)}) "
                        f"does not cover {money_string(amount)}.")
    return Decision(True)


def summary_dict(permission_set: PermissionSet | None) -> dict[str, Any]:
    """The session's permissions: `{set, actions, refund_limit, request_approval_above_limit,
    can_approve}` (actions resolved against the switches by the caller)."""
    if permission_set is None:
        return {"set": None, "actions": [], "refund_limit": None,
                "request_approval_above_limit": False, "can_approve": False}
    return {"set": permission_set.name,
            "actions": [ALL] if permission_set.actions is None else sorted(permission_set.actions),
            "refund_limit": money_string(permission_set.refund_limit),
            "request_approval_above_limit": permission_set.request_approval_above_limit,
            "can_approve": permission_set.can_approve}


# -- storage ---------------------------------------------------------------------------------


def known_action_names() -> list[str]:
    """The names of every registered action."""
    from plugin.actions import ACTIONS, load_actions

    load_actions()
    return sorted(ACTIONS)


def shop_permissions(shop_id: int) -> ShopPermissions:
    """The shop's stored configuration, or the built-in one when none was imported.

    A stored document naming an action that no longer exists keeps working: unknown names
    are dropped rather than locking every agent out.
    """
    from plugin.extensions import db
    from plugin.models.permissions import PermissionConfig

    known = known_action_names()
    row = db.session.execute(
        db.select(PermissionConfig).where(PermissionConfig.shop_id == shop_id)
    ).scalar_one_or_none()
    if row is None:
        return built_in_permissions(known)
    return parse_permissions(_drop_unknown_actions(row.document, set(known)), known)


def _drop_unknown_actions(document: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    def keep(names: Any) -> Any:
        return [n for n in names if n == ALL or n in known] if isinstance(names, list) else names

    document = dict(document)
    if isinstance(document.get("enabled_actions"), list):
        document["enabled_actions"] = keep(document["enabled_actions"])
    document["permission_sets"] = [
        {**s, "actions": keep(s.get("actions"))} if isinstance(s, dict) else s
        for s in document.get("permission_sets") or []]
    return document


def store_permissions(shop_id: int, document: Any, *, updated_by: str | None = None
                      ) -> ShopPermissions:
    """Validate and save a shop's document (replacing the old one); commits.

    :raises ValidationError: the document is invalid; nothing is changed.
    """
    from plugin.extensions import db
    from plugin.models.permissions import PermissionConfig

    parsed = parse_permissions(document, known_action_names())
    row = db.session.execute(
        db.select(PermissionConfig).where(PermissionConfig.shop_id == shop_id)
    ).scalar_one_or_none()
    if row is None:
        row = PermissionConfig(shop_id=shop_id)
        db.session.add(row)
    row.document = parsed.to_document()
    row.updated_by = updated_by
    db.session.commit()
    return parsed
