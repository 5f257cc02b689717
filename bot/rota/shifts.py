"""The rota's entries as values: weekly shifts, dated overrides and whole-day closures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from bot.rota.timespec import format_days, format_range, format_window


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly slot; ``end <= start`` runs overnight into the next day; ``start == end`` is 24 hours."""

    id: int
    role: str
    person: str
    days: frozenset[int]  # 0 = Monday .. 6 = Sunday
    start: time
    end: time

    def label(self) -> str:
        """`Mon-Fri 09:00-17:00`."""
        return f"{format_days(self.days, title=True)} {format_range(self.start, self.end)}"


ShiftSpec = Shift
"""A shift read from a CSV file: a ``Shift`` whose ``id`` is 0 because it is not stored yet."""


class OverrideKind(StrEnum):
    """What a dated override does to the person for the role."""

    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class Override:
    """A dated change in naive local wall-clock time ``[start, end)``."""

    id: int
    role: str
    person: str
    start: datetime
    end: datetime
    kind: OverrideKind
    replaces: str | None = None
    synced: bool = False  # a shift read from the role's calendar: a base layer, not an edit

    def label(self) -> str:
        """`cover Tue 24 Dec 10:00-14:00`, `covering for bob ...`, `off ...`, `calendar ...`."""
        window = format_window(self.start, self.end)
        if self.synced:
            return f"calendar {window}"
        if self.kind is OverrideKind.REPLACE:
            return f"covering for {self.replaces} {window}"
        return f"{'cover' if self.kind is OverrideKind.ADD else 'off'} {window}"


@dataclass(frozen=True, slots=True)
class Closure:
    """The library (or, with ``branch``, that branch's roles only) is closed for the whole local day:
    no shift applies."""

    id: int
    day: date
    reason: str = ""
    branch: str = ""  # a branch key: only its roles are closed
