"""Launch tokens Sidecard mints itself for an agent a helpdesk named server to server.

Gorgias calls Sidecard's HTTP integration from its servers (with the connection's secret),
naming the ticket's assignee; no browser composes that. A launch token minted from such a
call carries a proof: an HMAC under a key derived from SECRET_KEY over the connection, the
token's `jti`, and the agent's id and email. Browser-composed tokens (ZAF's JWT option,
Kustomer command bodies) are signed with the connection's secret by the helpdesk, but no
helpdesk knows SECRET_KEY, so they cannot carry a valid proof: they stay "asserted".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.identity.keys import HOST_PROOF, keyed_hash, same_digest

PROOF_CLAIM = "sidecard_host_proof"
SOURCE_CLAIM = "sidecard_host_source"
# Server-to-server signals that name the agent (the source is recorded on the session).
HOST_SOURCES = frozenset({"gorgias_integration"})


def host_proof(connection_id: str, jti: str, agent_id: str, email: str, source: str) -> str:
    """The proof claim for a server-minted launch token naming this agent."""
    if source not in HOST_SOURCES:
        raise ValueError(f"unknown host-verified source {source!r}")
    return keyed_hash(HOST_PROOF, source, connection_id, jti, agent_id, email.lower())


def proof_claims(connection_id: str, jti: str, agent_id: str, email: str,
                 source: str) -> dict[str, str]:
    """The claims to add to a launch token minted from a server-to-server host call."""
    return {PROOF_CLAIM: host_proof(connection_id, jti, agent_id, email, source),
            SOURCE_CLAIM: source}


def verified_source(claims: Mapping[str, Any], *, connection_id: str, agent_id: str,
                    email: str) -> str | None:
    """The host source when the launch claims carry a valid proof for this agent, else None."""
    proof, source, jti = claims.get(PROOF_CLAIM), claims.get(SOURCE_CLAIM), claims.get("jti")
    if not (isinstance(proof, str) and isinstance(source, str) and isinstance(jti, str)):
        return None
    if source not in HOST_SOURCES:
        return None
    expected = host_proof(connection_id, jti, agent_id, email, source)
    return source if same_digest(proof, expected) else None
