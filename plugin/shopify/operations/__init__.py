"""GraphQL documents by name: `load("CustomerCard")` → the operation plus the fragments it uses.

One named operation per `<Name>.graphql` file (operation name = file name); shared fragments
live one per file in `fragments/<FragmentName>.graphql`. Documents are validated against the
pinned Admin schema by `tests/shopify/test_operations_validate.py`. (That validator also reads
string literals of .py files in this folder that begin with a GraphQL keyword, so this module
compares against `OperationType` instead of spelling those words as strings.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import (
    DirectiveNode,
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    visit,
)

OPERATIONS_DIR = Path(__file__).resolve().parent
FRAGMENTS_DIR = OPERATIONS_DIR / "fragments"
_NAME_RE = re.compile(r"[A-Z][A-Za-z0-9]*")


@dataclass(frozen=True)
class Operation:
    """A loaded operation: its name, kind, full text (with fragments) and retry safety."""

    name: str
    kind: OperationType
    text: str
    idempotent: bool  # carries @idempotent: Shopify deduplicates a resend with the same key

    @property
    def is_mutation(self) -> bool:
        """True for mutations."""
        return self.kind is OperationType.MUTATION

    @property
    def retry_safe(self) -> bool:
        """Whether resending after an uncertain failure cannot act twice."""
        return not self.is_mutation or self.idempotent


class _Scan(Visitor):
    """Collect fragment spreads and directive names of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.spreads: set[str] = set()
        self.directives: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args) -> None:
        self.spreads.add(node.name.value)

    def enter_directive(self, node: DirectiveNode, *_args) -> None:
        self.directives.add(node.name.value)


def _scan(document: DocumentNode) -> _Scan:
    scan = _Scan()
    visit(document, scan)
    return scan


@cache
def _fragment(name: str) -> tuple[str, frozenset[str]]:
    """A fragment's text and the fragments it spreads.

    :raises KeyError: no such fragment file.
    """
    if not _NAME_RE.fullmatch(name):
        raise KeyError(name)
    path = FRAGMENTS_DIR / f"{name}.graphql"
    if not path.is_file():
        raise KeyError(f"no GraphQL fragment {name!r} in {FRAGMENTS_DIR}")
    text = path.read_text()
    document = parse(text)
    defined = [d.name.value for d in document.definitions
               if isinstance(d, FragmentDefinitionNode)]
    if defined != [name]:
        raise ValueError(f"{path.name} must define exactly fragment {name}")
    return text, frozenset(_scan(document).spreads)


def _fragments_for(spreads: set[str]) -> list[str]:
    """Texts of every fragment reachable from `spreads`, in a stable order."""
    seen: set[str] = set()
    pending = sorted(spreads)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(sorted(_fragment(name)[1] - seen))
    return [_fragment(name)[0] for name in sorted(seen)]


@cache
def load(name: str) -> Operation:
    """The operation `name` from `<name>.graphql`, with the fragments it uses appended.

    :raises KeyError: no such operation (names are `[A-Z][A-Za-z0-9]*`, nothing else is read).
    :raises ValueError: the file does not hold exactly one operation named like the file.
    """
    if not _NAME_RE.fullmatch(name or ""):
        raise KeyError(f"invalid operation name {name!r}")
    path = OPERATIONS_DIR / f"{name}.graphql"
    if not path.is_file():
        raise KeyError(f"no GraphQL operation {name!r} in {OPERATIONS_DIR}")
    text = path.read_text()
    document = parse(text)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None or operations[0].name.value != name:
        raise ValueError(f"{path.name} must hold exactly one operation named {name}")
    scan = _scan(document)
    full = "\n".join([text.rstrip(), *(f.rstrip() for f in _fragments_for(scan.spreads))])
    return Operation(name=name, kind=operations[0].operation, text=full + "\n",
                     idempotent="idempotent" in scan.directives)


def names() -> list[str]:
    """Every operation name available."""
    return sorted(p.stem for p in OPERATIONS_DIR.glob("*.graphql"))
