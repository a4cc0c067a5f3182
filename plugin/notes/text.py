"""Note text: one plain line, at most 500 characters including the delivery marker."""

from __future__ import annotations

import re
import unicodedata

MAX_NOTE_CHARS = 500
ELLIPSIS = "…"
_WHITESPACE_RE = re.compile(r"\s+")


def clean_note_text(text: str, *, limit: int = MAX_NOTE_CHARS) -> str:
    """`text` as one plain line: control and format characters dropped, whitespace (newlines
    included) collapsed, cut to `limit` characters with an ellipsis."""
    line = _WHITESPACE_RE.sub(" ", str(text or ""))
    # Control (Cc) and format (Cf: bidi overrides, zero-width) characters can hide or
    # reorder what the agent reads.
    line = "".join(ch for ch in line if unicodedata.category(ch) not in ("Cc", "Cf")).strip()
    if len(line) > limit:
        line = line[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS
    return line


def with_marker(text: str, marker: str | None) -> str:
    """The posted text: `text [marker]`, the text shortened so the whole fits the limit."""
    if not marker:
        return clean_note_text(text)
    suffix = f" [{marker}]"
    return clean_note_text(text, limit=MAX_NOTE_CHARS - len(suffix)) + suffix
