"""The mandatory compliance topics: export, redact a customer, erase a shop.

Every module that keeps data about customers or shops joins in through three registries, so a
new table is exported and erased by adding one function: `EXPORTERS` (a JSON section of a
customer's data), `REDACTORS` (anonymise a customer), `SHOP_ERASERS` (delete a shop's rows).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plugin.extensions import db
from plugin.models import AuditEvent, CustomerCache, Job, OAuthState, Shop, WebhookDelivery
from plugin.models.base import utcnow
from plugin.webhooks.handlers import WebhookEvent, find_shop, order_cache_key, topic

log = logging.getLogger("sidecard.webhooks")

REDACTED = "[redacted]"
# Subtrees that describe the agent, not the customer: redaction leaves them alone.
AGENT_KEYS = frozenset({"agent", "approver", "requested_by", "approved_by", "denied_by"})
# Subtrees that are the customer's own data wherever they appear.
CUSTOMER_KEYS = frozenset({"customer", "requester"})
ADDRESS_KEYS = frozenset({"address", "shipping_address", "billing_address",
                          "shippingAddress", "billingAddress", "defaultAddress"})
NAME_KEYS = ("name", "first_name", "last_name", "firstName", "lastName", "displayName",
             "display_name")


@dataclass
class CustomerRef:
    """The customer a compliance request is about, and what we know identifies them."""

    shop: Shop
    customer_id: str | None
    order_ids: list[str]
    email: str | None = None
    phone: str | None = None
    # Strings (email, phone, names) replaced by "[redacted]" wherever they appear.
    personal_values: set[str] = field(default_factory=set)

    @property
    def customer_ids(self) -> list[str]:
        """The customer id in the forms we store (numeric and GID)."""
        if not self.customer_id:
            return []
        return [self.customer_id, f"gid://shopify/Customer/{self.customer_id}"]

    @property
    def order_id_forms(self) -> list[str]:
        """The order ids in the forms we store (numeric and GID)."""
        return self.order_ids + [f"gid://shopify/Order/{o}" for o in self.order_ids]

    @property
    def order_cache_keys(self) -> list[str]:
        """Cache keys of the requested orders."""
        return [order_cache_key(o) for o in self.order_ids]


Exporter = Callable[[CustomerRef], Any]
Redactor = Callable[[CustomerRef], int]
ShopEraser = Callable[[str, "int | None", "int | None"], int]

EXPORTERS: dict[str, Exporter] = {}
REDACTORS: dict[str, Redactor] = {}
SHOP_ERASERS: dict[str, ShopEraser] = {}


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    """Register a section of the customer data export."""
    return lambda fn: EXPORTERS.setdefault(name, fn)


def redactor(name: str) -> Callable[[Redactor], Redactor]:
    """Register a customer redaction step; returns how many rows it changed."""
    return lambda fn: REDACTORS.setdefault(name, fn)


def shop_eraser(name: str) -> Callable[[ShopEraser], ShopEraser]:
    """Register a shop erasure step `(shop_domain, shop_id, current_job_id) -> rows deleted`."""
    return lambda fn: SHOP_ERASERS.setdefault(name, fn)


# -- the topics ---------------------------------------------------------------------------


@topic("customers/data_request")
def customers_data_request(event: WebhookEvent) -> None:
    """Export what Sidecard holds about the customer into a `compliance.data_request` event."""
    ref = customer_ref(event)
    if ref is None:
        return
    request_id = (event.body.get("data_request") or {}).get("id")
    if request_id is not None and _already_exported(ref, request_id):
        return
    export = {
        "shop_domain": ref.shop.domain,
        "customer_id": ref.customer_id,
        "orders_requested": ref.order_ids,
        "data_request_id": request_id,
        "generated_at": utcnow().isoformat(),
    }
    for section, fn in EXPORTERS.items():
        export[section] = fn(ref)
    counts = {section: len(export[section]) for section in EXPORTERS
              if isinstance(export[section], list)}
    db.session.add(AuditEvent(
        shop_id=ref.shop.id, event="compliance.data_request", status="exported",
        customer_id=ref.customer_id,
        summary=f"Customer data request {request_id}: "
                + ", ".join(f"{n} {section.replace('_', ' ')}" for section, n in counts.items()),
        detail=export))
    log.info("data request %s for customer %s of %s exported", request_id, ref.customer_id,
             ref.shop.domain)


@topic("customers/redact")
def customers_redact(event: WebhookEvent) -> None:
    """Delete cached data and anonymise audit rows of the customer and the listed orders."""
    ref = customer_ref(event)
    if ref is None:
        return
    ref.personal_values |= _known_personal_values(ref)
    changed = {name: fn(ref) for name, fn in REDACTORS.items()}
    db.session.add(AuditEvent(
        shop_id=ref.shop.id, event="compliance.customer_redacted", status="done",
        customer_id=ref.customer_id,
        summary=f"Customer {ref.customer_id} redacted ({len(ref.order_ids)} order(s)).",
        detail={"orders_redacted": ref.order_ids, "changed": changed}))
    log.info("customer %s of %s redacted: %s", ref.customer_id, ref.shop.domain, changed)


@topic("shop/redact")
def shop_redact(event: WebhookEvent) -> None:
    """Delete everything Sidecard holds about the shop (48 h after uninstall)."""
    shop = find_shop(event.shop_domain)
    if shop is not None and shop.uninstalled_at is None:
        # Reinstalled since the uninstall that scheduled this: the merchant is back.
        log.warning("shop/redact %s for installed shop %s; ignored", event.webhook_id,
                    shop.domain)
        return
    shop_id = shop.id if shop is not None else None
    deleted = {name: fn(event.shop_domain, shop_id, event.job_id)
               for name, fn in SHOP_ERASERS.items()}
    if shop is not None:
        # Helpdesk connections go last: notes, identity rows and launch tokens point at them.
        deleted["helpdesk_connections"] = erase_helpdesk_connections(shop.id)
        db.session.delete(shop)
    log.info("shop %s redacted: %s", event.shop_domain, deleted)


def erase_helpdesk_connections(shop_id: int) -> int:
    """Delete the shop's helpdesk connections and their spent launch-token ids."""
    from plugin.models import HelpdeskConnection, UsedLaunchToken

    connection_ids = _shop_connection_ids(shop_id)
    spent = db.session.execute(db.delete(UsedLaunchToken)
                               .where(UsedLaunchToken.connection_id.in_(connection_ids))
                               .execution_options(synchronize_session=False)).rowcount or 0
    connections = db.session.execute(db.delete(HelpdeskConnection)
                                     .where(HelpdeskConnection.shop_id == shop_id)
                                     .execution_options(synchronize_session=False)).rowcount
    return spent + (connections or 0)


def customer_ref(event: WebhookEvent) -> CustomerRef | None:
    """The customer of a compliance payload, or None when the shop is unknown."""
    shop = find_shop(event.shop_domain)
    if shop is None:
        log.info("%s %s for unknown shop %s; nothing held", event.topic, event.webhook_id,
                 event.shop_domain)
        return None
    customer = event.body.get("customer") or {}
    orders = event.body.get("orders_requested") or event.body.get("orders_to_redact") or []
    ref = CustomerRef(
        shop=shop,
        customer_id=str(customer["id"]) if customer.get("id") is not None else None,
        order_ids=[str(o) for o in orders if o is not None],
        email=customer.get("email") or None,
        phone=customer.get("phone") or None,
    )
    ref.personal_values = {v for v in (ref.email, ref.phone) if v}
    return ref


def _already_exported(ref: CustomerRef, request_id: Any) -> bool:
    events = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.shop_id == ref.shop.id, AuditEvent.event == "compliance.data_request",
        AuditEvent.customer_id == ref.customer_id))
    return any((e.detail or {}).get("data_request_id") == request_id for e in events)


# -- for every table that joins in: its rows about a customer, scrubbing, shop deletion ------


def rows_about(model: Any, ref: CustomerRef, *, order_column: Any = None,
               order_values: list[str] | None = None) -> list[Any]:
    """The shop's rows of `model` about the customer or one of the listed orders, by id.

    `model` has `shop_id` and `customer_id` columns; orders match `order_column` (default
    `model.order_id`) against `order_values` (default the order ids in both forms).
    """
    conditions = []
    if ref.customer_ids:
        conditions.append(model.customer_id.in_(ref.customer_ids))
    if ref.order_ids:
        column = model.order_id if order_column is None else order_column
        values = ref.order_id_forms if order_values is None else order_values
        conditions.append(column.in_(values))
    if not conditions:
        return []
    return list(db.session.scalars(db.select(model).where(
        model.shop_id == ref.shop.id, db.or_(*conditions)).order_by(model.id)))


def scrub_fields(rows: Iterable[Any], ref: CustomerRef, *fields: str) -> int:
    """Scrub the customer's data out of these attributes of each row; returns rows changed."""
    changed = 0
    for row in rows:
        touched = False
        for name in fields:
            value = getattr(row, name)
            scrubbed = scrub(value, ref.personal_values)
            if scrubbed != value:
                setattr(row, name, scrubbed)
                touched = True
        changed += touched
    return changed


def iso(moment: datetime | None) -> str | None:
    """An ISO 8601 timestamp for an export, or None."""
    return moment.isoformat() if moment else None


def delete_shop_rows(shop_id: int | None, *models: Any) -> int:
    """Delete the shop's rows of these models (keyed by `shop_id`); how many went."""
    if shop_id is None:
        return 0
    return sum(db.session.execute(db.delete(model).where(model.shop_id == shop_id)).rowcount
               or 0 for model in models)


# -- what is held: audit events and cached cards --------------------------------------------


def matching_audit_events(ref: CustomerRef) -> list[AuditEvent]:
    """Audit rows about the customer or one of the listed orders."""
    return rows_about(AuditEvent, ref)


def matching_cache_rows(ref: CustomerRef) -> list[CustomerCache]:
    """Cached card data about the customer or one of the listed orders."""
    return rows_about(CustomerCache, ref, order_column=CustomerCache.cache_key,
                      order_values=ref.order_cache_keys)


@exporter("audit_events")
def export_audit_events(ref: CustomerRef) -> list[dict[str, Any]]:
    """The customer's audit trail (earlier compliance exports left out)."""
    return [{
        "id": e.id, "created_at": iso(e.created_at),
        "event": e.event, "action": e.action, "order_id": e.order_id,
        "customer_id": e.customer_id, "status": e.status, "summary": e.summary,
        "detail": e.detail,
    } for e in matching_audit_events(ref) if not e.event.startswith("compliance.")]


@exporter("cached_data")
def export_cached_data(ref: CustomerRef) -> list[dict[str, Any]]:
    """Shopify data cached for the card."""
    return [{"cache_key": row.cache_key, "customer_id": row.customer_id,
             "fetched_at": iso(row.fetched_at),
             "data": row.payload} for row in matching_cache_rows(ref)]


@redactor("cached_data")
def redact_cached_data(ref: CustomerRef) -> int:
    """Delete the cached card data."""
    rows = matching_cache_rows(ref)
    for row in rows:
        db.session.delete(row)
    return len(rows)


@redactor("audit_events")
def redact_audit_events(ref: CustomerRef) -> int:
    """Anonymise the customer in audit rows; agent data and amounts stay."""
    events = matching_audit_events(ref)
    for event in events:
        if event.event == "compliance.data_request":
            event.detail = {"data_request_id": (event.detail or {}).get("data_request_id"),
                            "redacted": True}
        else:
            event.detail = scrub(event.detail or {}, ref.personal_values)
        event.summary = scrub(event.summary, ref.personal_values)
    return len(events)


@redactor("queued_jobs")
def redact_queued_jobs(ref: CustomerRef) -> int:
    """Anonymise the customer in payloads of the shop's queued jobs (notes not yet sent)."""
    jobs = db.session.scalars(db.select(Job).where(Job.shop_domain == ref.shop.domain,
                                                   Job.status == "queued"))
    return scrub_fields(jobs, ref, "payload")


def _known_personal_values(ref: CustomerRef) -> set[str]:
    """Names of the customer found in cached cards and audit details, to redact in text."""
    names: set[str] = set()
    ids = set(ref.customer_ids)
    email = (ref.email or "").lower()

    def visit(value: Any, *, about_customer: bool = False) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item, about_customer=about_customer)
        elif isinstance(value, dict):
            is_customer = about_customer or str(value.get("id")) in ids or (
                email and str(value.get("email") or "").lower() == email)
            if is_customer:
                names.update(str(value[k]) for k in NAME_KEYS if value.get(k))
                first = value.get("first_name") or value.get("firstName")
                last = value.get("last_name") or value.get("lastName")
                if first and last:
                    names.add(f"{first} {last}")
            for key, item in value.items():
                if key not in AGENT_KEYS:
                    visit(item, about_customer=key in CUSTOMER_KEYS)

    for row in matching_cache_rows(ref):
        visit(row.payload)
    for event in matching_audit_events(ref):
        visit(event.detail)
    return {n for n in names if len(n.strip()) >= 2}


def scrub(value: Any, personal_values: Iterable[str]) -> Any:
    """A copy of `value` with the customer's data replaced by "[redacted]".

    Customer and address subtrees are redacted whole (ids kept), every string loses the known
    personal values, and agent subtrees are left as they are.
    """
    needles = sorted({v for v in personal_values if v and len(v) >= 2}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE) \
        if needles else None

    def walk(item: Any, *, whole: bool = False) -> Any:
        if isinstance(item, str):
            if whole:
                return REDACTED if item else item
            return pattern.sub(REDACTED, item) if pattern else item
        if isinstance(item, list):
            return [walk(v, whole=whole) for v in item]
        if isinstance(item, dict):
            out = {}
            for key, sub in item.items():
                if key in AGENT_KEYS and not whole:
                    out[key] = sub
                elif whole and key == "id":
                    out[key] = sub
                else:
                    out[key] = walk(sub, whole=whole or key in CUSTOMER_KEYS
                                    or key in ADDRESS_KEYS)
            return out
        return item

    return walk(value)


# -- shop erasure -------------------------------------------------------------------------


@shop_eraser("customer_cache")
def erase_cache(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's cached card data."""
    return delete_shop_rows(shop_id, CustomerCache)


@shop_eraser("audit_events")
def erase_audit(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's audit trail."""
    return delete_shop_rows(shop_id, AuditEvent)


@shop_eraser("jobs")
def erase_jobs(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's jobs, except the one running this erasure."""
    return db.session.execute(
        db.delete(Job).where(Job.shop_domain == shop_domain, Job.id != (job_id or -1))
        .execution_options(synchronize_session=False)).rowcount


@shop_eraser("webhook_deliveries")
def erase_deliveries(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's webhook delivery records."""
    return db.session.execute(db.delete(WebhookDelivery)
                              .where(WebhookDelivery.shop_domain == shop_domain)).rowcount


@shop_eraser("oauth_states")
def erase_oauth_states(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's pending install nonces."""
    return db.session.execute(db.delete(OAuthState)
                              .where(OAuthState.shop_domain == shop_domain)).rowcount


# -- agent identity (plugin/identity): agents' codes, failures, devices, Zendesk sign-ins ----
# These rows describe the shop's agents, never its customers: nothing to export or redact for
# a customer; they go with the shop's helpdesk connections.


def _shop_connection_ids(shop_id: int):
    """The shop's helpdesk connection ids, as a subquery."""
    from plugin.models import HelpdeskConnection

    return db.select(HelpdeskConnection.id).where(HelpdeskConnection.shop_id == shop_id)


@shop_eraser("agent_identity")
def erase_agent_identity(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the sign-in codes, failed tries, device credentials and Zendesk sign-ins."""
    if shop_id is None:
        return 0
    from plugin.models.identity import (
        DeviceCredential,
        VerificationCode,
        VerificationFailure,
        ZendeskOAuthState,
    )

    connection_ids = _shop_connection_ids(shop_id)
    return sum(db.session.execute(db.delete(model).where(model.connection_id.in_(connection_ids))
                                  .execution_options(synchronize_session=False)).rowcount or 0
               for model in (VerificationCode, VerificationFailure, DeviceCredential,
                             ZendeskOAuthState))


# -- actions (plugin/actions): idempotency records, approval requests, permission sets -------


@exporter("action_requests")
def export_action_requests(ref: CustomerRef) -> list[dict[str, Any]]:
    """Actions taken on the customer's orders and the answers given."""
    from plugin.models import ActionRequest

    return [{"id": r.id, "created_at": iso(r.created_at),
             "action": r.action, "order_id": r.order_id, "customer_id": r.customer_id,
             "status": r.status, "response": r.response_body}
            for r in rows_about(ActionRequest, ref)]


@exporter("approval_requests")
def export_approval_requests(ref: CustomerRef) -> list[dict[str, Any]]:
    """Approval requests about the customer's orders."""
    from plugin.models import ApprovalRequest

    return [{"id": a.id, "created_at": iso(a.created_at),
             "action": a.action, "order_id": a.order_id, "customer_id": a.customer_id,
             "status": a.status, "body": a.body, "amount": a.amount, "currency": a.currency,
             "summary": a.summary} for a in rows_about(ApprovalRequest, ref)]


@redactor("action_requests")
def redact_action_requests(ref: CustomerRef) -> int:
    """Anonymise the customer in stored answers and order snapshots (ids and amounts stay)."""
    from plugin.models import ActionRequest

    rows = rows_about(ActionRequest, ref)
    scrub_fields(rows, ref, "response_body", "order_snapshot")
    return len(rows)


@redactor("approval_requests")
def redact_approval_requests(ref: CustomerRef) -> int:
    """Anonymise the customer in approval requests' bodies, summaries and results."""
    from plugin.models import ApprovalRequest

    rows = rows_about(ApprovalRequest, ref)
    scrub_fields(rows, ref, "body", "summary", "result")
    return len(rows)


@shop_eraser("actions")
def erase_actions(shop_domain: str, shop_id: int | None, job_id: int | None) -> int:
    """Delete the shop's action records, approval requests and permission sets."""
    from plugin.models import ActionRequest, ApprovalRequest, PermissionConfig

    return delete_shop_rows(shop_id, ActionRequest, ApprovalRequest, PermissionConfig)
