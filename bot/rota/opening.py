"""Opening hours (`mon-fri 08:00-20:00; sat 10:00-16:00`) and the rota gaps inside them (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.errors import ConfigError
from bot.rota.rota import Rota
from bot.routing.escalation import covering
from bot.routing.rules import RuleSet

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


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


def parse_opening_hours(text: str) -> tuple[Opening, ...]:
    """Parse OPENING_HOURS; ConfigError with one line per bad part. Empty text: always open."""
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
            problems.append(f"OPENING_HOURS: {raw.strip()!r}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
    return tuple(found) or (Opening(frozenset(range(7)), time(0), time.max),)


def open_windows(hours: tuple[Opening, ...], start: date, days: int) -> list[tuple[datetime, datetime]]:
    """Naive local opening windows for ``days`` days from ``start``."""
    windows = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for opening in hours:
            if day.weekday() in opening.days:
                end = (
                    datetime.combine(day, opening.end)
                    if opening.end != time.max
                    else datetime.combine(day + timedelta(days=1), time(0))
                )
                windows.append((datetime.combine(day, opening.start), end))
    return sorted(windows)


def gaps(
    rules: RuleSet,
    rota: Rota,
    hours: tuple[Opening, ...],
    *,
    start: date,
    days: int = 14,
    step_minutes: int = 15,
) -> list[tuple[str, datetime, datetime]]:
    """``(role, from, to)`` (aware, library zone) where nobody covers a role while the library is open.

    "Covers" includes the role's backup chain, as routing does: a gap is a time when a mention for
    that role would be queued. Closed days (closures) are not gaps. Checked every ``step_minutes``.
    """
    found: list[tuple[str, datetime, datetime]] = []
    step = timedelta(minutes=step_minutes)
    for begin, end in open_windows(hours, start, days):
        for role in sorted(rules.roles):
            at = begin
            while at < end:
                when = at.replace(tzinfo=rota.zone)
                if rota.closure_on(when) is None and not covering(rules, rota, role, when):
                    _extend(found, role, when, when + step)
                at += step
    return found


def _extend(found: list[tuple[str, datetime, datetime]], role: str, start: datetime, end: datetime) -> None:
    if found and found[-1][0] == role and found[-1][2] == start:
        found[-1] = (role, found[-1][1], end)
    else:
        found.append((role, start, end))


def format_gaps(found: list[tuple[str, datetime, datetime]], *, limit: int = 25) -> str:
    """One line per gap (at most ``limit``, then a count of the rest)."""
    if not found:
        return "No gaps: every role is covered whenever the library is open."
    lines = [f"{len(found)} gap(s) in opening hours:"]
    for role, a, b in found[:limit]:
        end = "24:00" if b.date() > a.date() and b.time() == time(0) else f"{b:%H:%M}"
        lines.append(f"  {role}: {a:%a %d %b %H:%M}–{end}, nobody on duty")
    if len(found) > limit:
        lines.append(f"  ... and {len(found) - limit} more (set OPENING_HOURS so only opening hours count)")
    return "\n".join(lines)
