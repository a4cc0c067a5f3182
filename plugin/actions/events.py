"""Who acts, and what the action service writes about it: audit rows and conversation notes.

Audit rows and notes are added to the current database session without committing, so the
caller commits them together with the state change they describe (STYLE §10).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from plugin.extensions import db
from plugin.models.audit import AuditEvent

log = logging.getLogger("sidecard.actions")


@dataclass(frozen=True)
class Actor:
    """The agent an action is taken for, and where its notes go (connection, conversation)."""

    shop_id: int
    shop_domain: str
    agent_id: str | None
    email: str
    name: str | None
    identity: str | None
    connection_id: str | None
    conversation: str | None

    @classmethod
    def from_session(cls, session: Any) -> Actor:
        """The agent of a session (`plugin.sessions.AgentSession`)."""
        return cls(shop_id=session.shop.id, shop_domain=session.shop.domain,
                   agent_id=session.agent_id, email=session.email, name=session.name,
                   identity=session.identity, connection_id=session.connection_id,
                   conversation=session.conversation)

    @classmethod
    def requester_of(cls, approval: Any, shop_domain: str) -> Actor:
        """The agent who asked for an approval, with the conversation they asked from."""
        return cls(shop_id=approval.shop_id, shop_domain=shop_domain,
                   agent_id=approval.requester_id, email=approval.requester_email,
                   name=approval.requester_name, identity=approval.requester_identity,
                   connection_id=approval.connection_id, conversation=approval.conversation)

    def agent_dict(self) -> dict[str, Any]:
        """The contract's `agent` object: id, email, name, identity."""
        return {"id": self.agent_id, "email": self.email, "name": self.name,
                "identity": self.identity}


def audit(actor: Actor, event: str, *, action: str | None, order_id: str | None,
          status: str, summary: str | None = None, customer_id: str | None = None,
          shopify_request_id: str | None = None,
          detail: Mapping[str, Any] | None = None) -> AuditEvent:
    """Add one audit row (not committed) and return it."""
    row = AuditEvent(
        shop_id=actor.shop_id, event=event, action=action, order_id=order_id,
        customer_id=customer_id, agent_email=actor.email, agent_name=actor.name,
        agent_identity=actor.identity, connection_id=actor.connection_id,
        conversation=actor.conversation, status=status, summary=summary,
        shopify_request_id=shopify_request_id,
        detail={k: v for k, v in (detail or {}).items() if v is not None})
    db.session.add(row)
    log.info("audit %s action=%s order=%s status=%s connection=%s", event, action, order_id,
             status, actor.connection_id)
    return row


def queue_note(actor: Actor, text: str, audit_event: AuditEvent | None = None, *,
               order_id: str | None = None, customer_id: str | None = None) -> list[int]:
    """Queue the one-line note for the actor's conversation (outbox row + job, no commit).

    Returns the note ids for `deliver_notes`; none when the launch had no conversation or
    the connection takes no notes.
    """
    if not actor.conversation or not actor.connection_id:
        return []
    from plugin.notes import queue_note as queue  # the notes package owns delivery

    if audit_event is not None:
        db.session.flush()  # the outbox row points at the audit row (its id)
    note = queue(shop_id=actor.shop_id, connection_id=actor.connection_id,
                 conversation=actor.conversation, text=text,
                 audit_event_id=audit_event.id if audit_event is not None else None,
                 order_id=order_id or (audit_event.order_id if audit_event else None),
                 customer_id=customer_id or (audit_event.customer_id if audit_event else None))
    return [note.id] if note is not None else []


def deliver_notes(notes: Iterable[Any]) -> None:
    """Best-effort immediate send of committed notes; the worker retries what fails."""
    notes = list(notes)
    if not notes:
        return
    from plugin.notes import deliver_after_commit

    deliver_after_commit(notes)  # never raises; what fails stays queued for the worker
