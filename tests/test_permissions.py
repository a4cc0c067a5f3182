"""Permission sets (CONTRACT §5): parsing, matching, predicates, and the import/export CLI."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from factories import make_shop

from plugin.exceptions import ValidationError
from plugin.extensions import db
from plugin.models import AuditEvent, PermissionConfig
from plugin.permissions import (
    DEFAULT_DOCUMENT,
    agent_matches,
    approval_refusal,
    built_in_permissions,
    limit_note,
    may_use,
    parse_permissions,
    resolve_set,
    shop_permissions,
    store_permissions,
    within_limit,
)

ACTIONS = ["refund", "cancel", "update_shipping_address", "edit_tags", "edit_note"]

EXAMPLE = {
    "enabled_actions": ["refund", "cancel", "update_shipping_address", "edit_tags", "edit_note"],
    "default": "Tier 1",
    "permission_sets": [
        {"name": "Tier 1", "actions": ["refund", "cancel", "update_shipping_address",
                                       "edit_tags", "edit_note"],
         "refund_limit": "50.00", "request_approval_above_limit": True, "can_approve": False,
         "agents": ["*@example.com"]},
        {"name": "Leads", "actions": ["*"], "refund_limit": None, "can_approve": True,
         "agents": ["lead@example.com"]},
    ],
}


def parse(document):
    """Parse against the five registered actions."""
    return parse_permissions(document, ACTIONS)


def with_changes(**changes):
    """A copy of EXAMPLE with top-level keys replaced (None deletes)."""
    document = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def with_set(index: int = 0, **changes):
    """A copy of EXAMPLE with one set's keys replaced (None values kept as null)."""
    document = copy.deepcopy(EXAMPLE)
    document["permission_sets"][index].update(changes)
    return document


# -- parsing ---------------------------------------------------------------------------------


def test_contract_example_parses():
    """The contract's own example is valid and round-trips through export."""
    config = parse(EXAMPLE)
    assert config.default == "Tier 1"
    assert [s.name for s in config.sets] == ["Tier 1", "Leads"]
    tier1, leads = config.sets
    assert tier1.refund_limit == Decimal("50.00") and tier1.request_approval_above_limit
    assert leads.actions is None and leads.refund_limit is None and leads.can_approve
    assert parse(config.to_document()) == config


@pytest.mark.parametrize(("document", "problem"), [
    ([], "must be a JSON object"),
    (with_changes(sets=[]), "unknown top-level key(s) 'sets'"),
    (with_changes(enabled_actions=["refund", "teleport"]), "unknown action(s) 'teleport'"),
    (with_changes(enabled_actions="refund"), "enabled_actions must be a list"),
    (with_set(actions=["refund", "refnud"]), "unknown action(s) 'refnud'"),
    (with_set(actions=["*", "refund"]), '"*" and other names'),
    (with_set(refund_limit=50.0), "refund_limit must be a decimal string"),
    (with_set(refund_limit="-5.00"), "refund_limit must be a decimal string"),
    (with_set(refund_limit="fifty"), "refund_limit must be a decimal string"),
    (with_set(refund_limit="1.234"), "refund_limit must be a decimal string"),
    (with_set(refund_limit=""), "refund_limit must be a decimal string"),
    (with_set(1, name="tier 1"), "duplicate permission set name"),
    (with_changes(default="Tier 2"), "default names 'Tier 2', but no permission set"),
    (with_changes(default=3), "default must be the name"),
    (with_set(agents=["*"]), "neither an email nor *@domain"),
    (with_set(agents=["*.example.com"]), "neither an email nor *@domain"),
    (with_set(agents=["*@"]), "is not *@domain"),
    (with_set(agents=["bob"]), "neither an email nor *@domain"),
    (with_set(agents="*@example.com"), "agents must be a list"),
    (with_set(can_approve="yes"), "can_approve must be true or false"),
    (with_set(require_verified_identity=1), "require_verified_identity must be true or false"),
    (with_set(limit="50.00"), "unknown key(s) 'limit'"),
    (with_set(name=""), "name must be a non-empty string"),
    (with_changes(permission_sets={"Tier 1": {}}), "permission_sets must be a list"),
    (with_changes(permission_sets=["Tier 1"]), "permission_sets[0] must be an object"),
])
def test_invalid_documents_are_refused_naming_the_problem(document, problem):
    """Unknown names, bad money, duplicates, a default naming no set, ...: refused."""
    with pytest.raises(ValidationError) as caught:
        parse(document)
    assert problem in caught.value.message


def test_set_without_actions_is_refused():
    """`actions` is required in every set."""
    document = copy.deepcopy(EXAMPLE)
    del document["permission_sets"][0]["actions"]
    with pytest.raises(ValidationError, match="actions is required"):
        parse(document)


def test_absent_enabled_actions_means_every_action():
    """No `enabled_actions`: every action is switched on."""
    config = parse(with_changes(enabled_actions=None))
    assert config.enabled_actions is None
    assert all(config.is_enabled(a) for a in ACTIONS)


def test_agent_patterns_are_lower_cased():
    """Patterns are stored normalised."""
    config = parse(with_set(agents=["Pat@Example.COM", "*@Sub.Example.com"]))
    assert config.sets[0].agents == ("pat@example.com", "*@sub.example.com")


# -- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "email", "matches"), [
    ("lead@example.com", "lead@example.com", True),
    ("lead@example.com", "LEAD@Example.com", True),
    ("Lead@Example.com", "lead@example.com", True),
    ("lead@example.com", "lead2@example.com", False),
    ("*@example.com", "anyone@example.com", True),
    ("*@example.com", "Anyone@EXAMPLE.COM", True),
    ("*@example.com", "x@sub.example.com", False),
    ("*@example.com", "x@example.com.evil.org", False),
    ("*@example.com", "x@notexample.com", False),
    ("*@example.com", None, False),
])
def test_agent_matching(pattern, email, matches):
    """Exact email or `*@domain`, case-insensitive; subdomains don't match a domain."""
    assert agent_matches(pattern, email) is matches


VERIFIED_FIRST = {
    "default": "Tier 1",
    "permission_sets": [
        {"name": "Leads", "actions": ["*"], "can_approve": True, "agents": ["lead@example.com"],
         "require_verified_identity": True},
        {"name": "Seniors", "actions": ["refund"], "agents": ["*@example.com"],
         "refund_limit": "100.00"},
        {"name": "Tier 1", "actions": ["edit_note"], "agents": []},
    ],
}


@pytest.mark.parametrize(("email", "identity", "expected"), [
    ("lead@example.com", "verified", "Leads"),
    ("lead@example.com", "asserted", "Seniors"),  # skips the verified-only set, goes on
    ("amy@example.com", "verified", "Seniors"),
    ("bob@other.org", "verified", "Tier 1"),  # no match: the default
])
def test_first_matching_set_wins_and_verified_only_sets_are_skipped(email, identity, expected):
    """First match in order; `require_verified_identity` sets need a verified session."""
    assert resolve_set(parse(VERIFIED_FIRST), email, identity).name == expected


def test_contract_example_gives_the_lead_tier_1():
    """Order matters: in the contract's example `*@example.com` comes first."""
    assert resolve_set(parse(EXAMPLE), "lead@example.com", "verified").name == "Tier 1"


def test_no_default_and_no_match_is_no_set():
    """Without a default an unmatched agent has no set."""
    config = parse(with_changes(default=None))
    assert resolve_set(config, "someone@else.org", "verified") is None
    decision = may_use(config, None, "refund", "Refund")
    assert not decision.allowed and decision.reason == "no_permission_set"


# -- predicates ------------------------------------------------------------------------------


@pytest.mark.parametrize(("enabled", "actions", "action", "reason"), [
    (None, ["*"], "refund", None),
    (["edit_note"], ["*"], "refund", "not_enabled"),
    (["refund"], ["edit_note"], "refund", "not_in_permission_set"),
    (["refund"], ["refund"], "refund", None),
])
def test_switches_and_set_decide_the_action(enabled, actions, action, reason):
    """The shop switch is checked first, then the agent's set."""
    document = {"default": "S", "permission_sets": [{"name": "S", "actions": actions}]}
    if enabled is not None:
        document["enabled_actions"] = enabled
    config = parse(document)
    decision = may_use(config, config.sets[0], action, "Refund")
    assert decision.reason == reason and decision.allowed is (reason is None)
    if reason == "not_enabled":
        assert decision.message == "Refund is not enabled for this shop."


@pytest.mark.parametrize(("limit", "amount", "within"), [
    (None, Decimal("1000000"), True),
    ("50.00", Decimal("50.00"), True),
    ("50.00", Decimal("50.01"), False),
    ("0.00", Decimal("0.01"), False),
    ("0.00", Decimal("0"), True),
    ("50.00", None, True),
])
def test_refund_limit(limit, amount, within):
    """The limit caps one refund; null means no cap."""
    config = parse({"default": "S", "permission_sets": [
        {"name": "S", "actions": ["*"], "refund_limit": limit}]})
    assert within_limit(config.sets[0], amount) is within


APPROVERS = parse({"default": "Tier 1", "permission_sets": [
    {"name": "Leads", "actions": ["*"], "can_approve": True, "agents": ["lead@x.com"]},
    {"name": "Sup", "actions": ["*"], "can_approve": True, "refund_limit": "100.00",
     "agents": ["sup@x.com"]},
    {"name": "Tier 1", "actions": ["*"], "refund_limit": "50.00",
     "request_approval_above_limit": True, "agents": []},
]})


@pytest.mark.parametrize(("approver", "identity", "requester", "amount", "reason"), [
    ("lead@x.com", "verified", "amy@x.com", "500.00", None),
    ("lead@x.com", "asserted", "amy@x.com", "500.00", "unverified_identity"),
    ("LEAD@x.com", "verified", "lead@X.com", "500.00", "own_request"),
    ("sup@x.com", "verified", "amy@x.com", "100.00", None),
    ("sup@x.com", "verified", "amy@x.com", "100.01", "approver_limit"),
    ("amy@x.com", "verified", "bob@x.com", "10.00", "cannot_approve"),
])
def test_who_may_approve(approver, identity, requester, amount, reason):
    """can_approve, a verified identity, not one's own request, a limit covering it."""
    permission_set = resolve_set(APPROVERS, approver, identity)
    decision = approval_refusal(permission_set, identity=identity, approver_email=approver,
                                requester_email=requester, amount=Decimal(amount))
    assert decision.reason == reason
    if reason == "unverified_identity":
        assert "Approving needs a verified identity" in decision.message


@pytest.mark.parametrize(("verified_by", "reason"), [
    ("email_code", None), ("zendesk_oauth", None), ("device_credential", None),
    ("gorgias_integration", "unverified_identity"),
])
def test_a_ticket_link_verifies_enough_to_act_but_not_to_approve(verified_by, reason):
    """A Gorgias assignee link can be clicked by anyone seeing the ticket: no approving on it."""
    lead = resolve_set(APPROVERS, "lead@x.com", "verified")
    decision = approval_refusal(lead, identity="verified", approver_email="lead@x.com",
                                requester_email="amy@x.com", amount=Decimal("10.00"),
                                verified_by=verified_by)
    assert decision.reason == reason


def test_limit_notes():
    """What the card says about a limit."""
    tier1 = resolve_set(APPROVERS, "amy@x.com", "asserted")
    assert limit_note(tier1, "USD") == "Refunds above 50.00 USD need approval."
    strict = parse({"default": "S", "permission_sets": [
        {"name": "S", "actions": ["*"], "refund_limit": "20.00"}]}).sets[0]
    assert limit_note(strict) == "Refunds above 20.00 are not allowed for your permission set."
    assert limit_note(resolve_set(APPROVERS, "lead@x.com", "verified")) is None


def test_built_in_default_allows_everything_but_refunds_need_approval():
    """A shop without a config: all actions, every refund an approval request, no approver."""
    config = built_in_permissions(ACTIONS)
    permission_set = resolve_set(config, "anyone@anywhere.org", "asserted")
    assert config.built_in and permission_set.actions is None
    assert permission_set.refund_limit == Decimal("0.00")
    assert permission_set.request_approval_above_limit and not permission_set.can_approve
    assert parse(DEFAULT_DOCUMENT).default == permission_set.name


# -- storage and the CLI ---------------------------------------------------------------------


def test_store_and_read_back(app):
    """Stored documents are normalised and read back per shop."""
    shop = make_shop()
    store_permissions(shop.id, EXAMPLE)
    assert shop_permissions(shop.id).set_named("Leads").can_approve
    other = make_shop("other.myshopify.com")
    assert shop_permissions(other.id).built_in


def test_stored_names_of_removed_actions_are_dropped(app):
    """A stored document naming an action that no longer exists keeps working."""
    shop = make_shop()
    document = copy.deepcopy(EXAMPLE)
    document["permission_sets"][0]["actions"].append("retired_action")
    document["enabled_actions"].append("retired_action")
    db.session.add(PermissionConfig(shop_id=shop.id, document=document))
    db.session.commit()
    config = shop_permissions(shop.id)
    assert "retired_action" not in config.enabled_actions
    assert config.sets[0].allows("refund")


def test_cli_import_then_export(app, runner, tmp_path):
    """`permissions import --shop SHOP FILE` stores it; `export` prints it back."""
    make_shop()
    path = tmp_path / "sets.json"
    path.write_text(json.dumps(EXAMPLE))
    result = runner.invoke(args=["permissions", "import", "--shop", "acme.myshopify.com",
                                 str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["imported"] is True and summary["permission_sets"] == ["Tier 1", "Leads"]
    exported = runner.invoke(args=["permissions", "export", "--shop", "acme"])
    assert exported.exit_code == 0
    document = json.loads(exported.output)
    assert parse(document) == parse(EXAMPLE)
    assert document["permission_sets"][1]["actions"] == ["*"]
    assert db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.event == "permissions.imported")).one()


def test_cli_reads_stdin(app, runner):
    """`-` reads the document from standard input."""
    make_shop()
    result = runner.invoke(args=["permissions", "import", "--shop", "acme", "-"],
                           input=json.dumps(EXAMPLE))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "is not valid JSON"),
    (json.dumps(with_set(refund_limit=50)), "refund_limit must be a decimal string"),
    (json.dumps(with_changes(default="Nobody")), "default names 'Nobody'"),
    (json.dumps(with_set(actions=["refund", "fly"])), "unknown action(s) 'fly'"),
    (json.dumps(with_set(1, name="Tier 1")), "duplicate permission set name"),
])
def test_cli_refuses_invalid_files_and_changes_nothing(app, runner, tmp_path, content,
                                                       problem):
    """An invalid file: non-zero exit, a message naming the problem, the old sets kept."""
    shop = make_shop()
    store_permissions(shop.id, EXAMPLE)
    before = shop_permissions(shop.id)
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runner.invoke(args=["permissions", "import", "--shop", "acme", str(path)])
    assert result.exit_code != 0
    assert problem in result.output
    assert "was not imported" in result.output or "not valid JSON" in result.output
    db.session.expire_all()
    assert shop_permissions(shop.id) == before


def test_cli_unknown_shop(app, runner, tmp_path):
    """A shop Sidecard doesn't know is refused."""
    path = tmp_path / "sets.json"
    path.write_text(json.dumps(EXAMPLE))
    result = runner.invoke(args=["permissions", "import", "--shop", "nobody", str(path)])
    assert result.exit_code != 0 and "no shop 'nobody.myshopify.com'" in result.output
    result = runner.invoke(args=["permissions", "export", "--shop", "nobody"])
    assert result.exit_code != 0


def test_cli_export_without_config_prints_the_built_in_default(app, runner):
    """A shop that never imported sets exports the default it runs on (importable as is)."""
    make_shop()
    result = runner.invoke(args=["permissions", "export", "--shop", "acme"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["default"] == DEFAULT_DOCUMENT["default"]
    assert parse(document).sets[0].refund_limit == Decimal("0.00")
