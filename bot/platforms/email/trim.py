"""Cut quoted history and a signature off a message body for the card (pure; the full text is kept)."""

from __future__ import annotations

import re

# "On Tue, 3 Mar 2026 at 10:00, Pat <pat@example.com> wrote:" (also split over two lines), Outlook's
# "-----Original Message-----" and "From: ... Sent: ..." blocks, and the German/French/Spanish forms.
_ATTRIBUTION = re.compile(
    r"^\s*(On\b.{0,300}\bwrote:|Am\b.{0,300}\bschrieb\b.{0,200}:|Le\b.{0,300}\ba écrit\s*:"
    r"|El\b.{0,300}\bescribió:|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From:\s.{1,300}$)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")
_SIGNATURE = re.compile(r"^(-- ?|—\s*|Sent from my \w[\w ]{0,40}|Get Outlook for \w+)\s*$", re.IGNORECASE)
MAX_SIGNATURE_LINES = 12  # a "-- " line further up than this is part of the message


def trim(body: str) -> str:
    """The new part of ``body``: quoted history (an attribution line or a run of ``>`` lines to the
    end) and a trailing signature removed. Never returns an empty string for a non-blank body."""
    lines = body.splitlines()
    end = len(lines)
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line) and _rest_is_quote(lines, index + 1):
            end = index
            break
        if _QUOTED.match(line) and all(_QUOTED.match(rest) or not rest.strip() for rest in lines[index:]):
            end = index
            break
    kept = lines[:end]
    for index in range(len(kept) - 1, max(len(kept) - MAX_SIGNATURE_LINES, 0) - 1, -1):
        if _SIGNATURE.match(kept[index]):
            kept = kept[:index]
            break
    text = "\n".join(kept).strip()
    return text or body.strip()


def _rest_is_quote(lines: list[str], start: int) -> bool:
    """After an attribution line: quoted lines, an Outlook header block, or nothing but blanks."""
    rest = [line for line in lines[start:] if line.strip()]
    if not rest:
        return True
    head = rest[:3]
    return any(_QUOTED.match(line) for line in head) or any(
        line.lower().startswith(("sent:", "to:", "subject:", "date:", "from:")) for line in head
    )
