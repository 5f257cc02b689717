"""Internal notes, tags and the READ Scale (pure): limits, the stored form of the latest notes, checks.

A note is staff text for staff: it is shown on the card and kept in the audit log, never sent to the
patron's platform. The card keeps the latest ``KEPT`` notes in ``mentions.staff_notes`` (JSON) and
counts them all in ``note_count``; retention blanks both with the patron's text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

NOTE_LIMIT = 1000  # characters; a longer note is refused with this number, never cut silently
KEPT = 3  # notes shown on the card
READ_LEVELS = range(1, 7)  # the READ Scale (Reference Effort Assessment Data), 1 to 6
TAG_LIMIT = 32  # characters of one tag name
DEFAULT_TAGS = ("question", "praise", "complaint", "event", "account", "spam")


@dataclass(frozen=True, slots=True)
class Note:
    """A stored note: the staff key of its writer, when, and the text."""

    by: str
    at: datetime | None
    text: str


def notes_of(stored: str) -> list[Note]:
    """The notes stored in ``staff_notes``; anything unreadable counts as no notes."""
    try:
        data = json.loads(stored or "[]")
    except (ValueError, RecursionError):
        return []
    if not isinstance(data, list):
        return []
    out: list[Note] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        by, at, text = item.get("by"), item.get("at"), item.get("text")
        if not isinstance(by, str) or not isinstance(text, str):
            continue
        when = None
        if isinstance(at, str):
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                when = None
        out.append(Note(by, when, text))
    return out


def with_note(stored: str, note: Note) -> str:
    """``staff_notes`` after adding ``note``: the latest ``KEPT`` notes, oldest first."""
    kept = [*notes_of(stored), note][-KEPT:]
    return json.dumps(
        [{"by": n.by, "at": n.at.isoformat() if n.at else None, "text": n.text} for n in kept],
        ensure_ascii=False,
    )


def note_problem(text: str) -> str:
    """Why a note cannot be stored ("" when it can)."""
    if not text.strip():
        return "The note is empty. Write it after the card number, e.g. `note 3 Called the patron`."
    if len(text) > NOTE_LIMIT:
        return f"The note is {len(text)} characters; the limit is {NOTE_LIMIT}. Shorten it and try again."
    return ""


def read_problem(level: int | None) -> str:
    """Why a READ Scale level is refused ("" when it is fine or not given)."""
    if level is None or level in READ_LEVELS:
        return ""
    return "The READ Scale goes from 1 to 6, e.g. `resolve 3 read=2`."


def normal_tag(name: str) -> str:
    """A tag as stored: trimmed, lower case, a leading # dropped."""
    return name.strip().lstrip("#").strip().lower()


def tag_problem(name: str, known: tuple[str, ...]) -> str:
    """Why ``name`` is not a tag staff can set ("" when it is one of ``known``)."""
    tag = normal_tag(name)
    if tag in known:
        return ""
    shown = tag[:TAG_LIMIT]
    return f"Unknown tag {shown!r}. Tags: {', '.join(known) or '(none defined)'}."


def resolve_words(words: str) -> tuple[int | None, bool | None] | str:
    """``read=3 directional`` after a resolve command: (READ level, directional), or what is wrong."""
    level: int | None = None
    directional: bool | None = None
    for word in words.lower().split():
        key, eq, value = word.partition("=")
        if eq and key in ("read", "level"):
            if not (value.isascii() and value.isdigit() and len(value) == 1 and int(value) in READ_LEVELS):
                return read_problem(0)
            level = int(value)
        elif word in ("directional", "dir"):
            directional = True
        elif word in ("reference", "ref"):
            directional = False
        else:
            return f"Unknown word {word[:40]!r}. Example: `resolve 3 read=2 reference`."
    return level, directional
