"""Opening hours as values: weekly hours (`mon-fri 08:00-20:00; sat 10:00-16:00`) and dated days.

Weekly hours come from OPENING_HOURS (or a role's ``no_cover`` times); dated days come from a
published calendar such as LibCal's hours JSON and, where they exist, take the place of the weekly
hours for that date. Everything is naive local wall-clock time in the zone of whoever passes it in,
so a branch with its own zone can hold its own ``Hours``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
Window = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Opening:
    """Open on ``days`` (0=Mon) from ``start`` to ``end`` (wall clock, same day)."""

    days: frozenset[int]
    start: time
    end: time


def _days(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day in {part!r} (use mon, tue, ... sun)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(out)


def _time(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    return time(hours, minutes)


def parse_hours(text: str, *, name: str) -> tuple[Opening, ...]:
    """Parse `days HH:MM-HH:MM; ...`; ConfigError with one line per bad part, each led by ``name``.

    Empty text gives ``()``.
    """
    found: list[Opening] = []
    problems: list[str] = []
    for raw in filter(str.strip, text.lower().split(";")):
        match = _PART.match(raw)
        try:
            if match is None:
                raise ValueError("expected `days HH:MM-HH:MM`, e.g. `mon-fri 08:00-20:00`")
            start, end = _time(match["start"]), _time(match["end"])
            if end <= start:
                raise ValueError("the closing time must be after the opening time")
            found.append(Opening(_days(match["days"]), start, end))
        except ValueError as exc:
            problems.append(f"{name}: {raw.strip()!r}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
    return tuple(found)


def parse_opening_hours(text: str) -> tuple[Opening, ...]:
    """Parse OPENING_HOURS; ConfigError with one line per bad part. Empty text: always open."""
    return parse_hours(text, name="OPENING_HOURS") or (Opening(frozenset(range(7)), time(0), time.max),)


def day_windows(hours: tuple[Opening, ...], day: date) -> list[Window]:
    """The naive local windows of weekly ``hours`` on one ``day``."""
    windows = []
    for opening in hours:
        if day.weekday() in opening.days:
            end = (
                datetime.combine(day, opening.end)
                if opening.end != time.max
                else datetime.combine(day + timedelta(days=1), time(0))
            )
            windows.append((datetime.combine(day, opening.start), end))
    return windows


def within(hours: tuple[Opening, ...], wall: datetime) -> bool:
    """True when naive local ``wall`` falls inside weekly ``hours``."""
    return any(a <= wall < b for a, b in day_windows(hours, wall.date()))


@dataclass(frozen=True, slots=True)
class Hours:
    """Weekly hours, and dated days that replace them (``()`` for a day means closed all day).

    ``notes`` keeps what a calendar said about a day it gave no hours for ("by appointment").
    """

    weekly: tuple[Opening, ...]
    dated: Mapping[date, tuple[Window, ...]] = field(default_factory=dict)
    notes: Mapping[date, str] = field(default_factory=dict)

    def on(self, day: date) -> list[Window]:
        """The naive local windows of one day."""
        if day in self.dated:
            return list(self.dated[day])
        return day_windows(self.weekly, day)

    def windows(self, start: date, days: int) -> list[Window]:
        """Naive local opening windows for ``days`` days from ``start``, sorted."""
        return sorted(w for offset in range(days) for w in self.on(start + timedelta(days=offset)))


def open_windows(
    hours: tuple[Opening, ...] | Hours, start: date, days: int
) -> list[tuple[datetime, datetime]]:
    """Naive local opening windows for ``days`` days from ``start``."""
    book = hours if isinstance(hours, Hours) else Hours(hours)
    return book.windows(start, days)
