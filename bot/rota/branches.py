"""Branches: places with their own time zone, opening hours and closed days (pure).

A rules file may describe ``[branches.NAME]`` and let each role name its ``branch``. A role's
shifts, closed days and opening hours are then read in its branch's zone; a role without a branch
(and every role when there are no branches) keeps the library's ``LIBRARY_TIMEZONE`` and
``OPENING_HOURS``. Staff work wherever their roles are: a person who holds roles at two branches
simply has shifts in both zones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import ConfigError
from bot.rota.hours import DAYS, Hours, Opening, parse_hours
from bot.rota.shifts import Closure
from bot.rota.timespec import suggest

MAX_CLOSED_DAYS = 366  # a closure range longer than a year is a typo
_CLOSURE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?\s*(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch: its key, display name, zone, weekly hours, closed days and LibCal hours source."""

    key: str
    zone: ZoneInfo
    name: str = ""
    hours: tuple[Opening, ...] = ()  # weekly; () = always open
    closures: Mapping[date, str] = field(default_factory=dict)  # day -> reason ("" = none given)
    hours_url: str = ""  # LibCal hours JSON (dated hours win over ``hours`` where given)
    location: str = ""  # the LibCal location (lid or name); the first one when empty

    @property
    def label(self) -> str:
        """What staff read: the display name, else the key."""
        return self.name or self.key

    @property
    def weekly(self) -> tuple[Opening, ...]:
        """The weekly hours, with "always open" for none."""
        return self.hours or (Opening(frozenset(range(7)), time(0), time.max),)


@dataclass(frozen=True, slots=True)
class Places:
    """Where each role is: its zone and its branch's closed days. Empty: everything in the rota's zone."""

    zones: Mapping[str, ZoneInfo] = field(default_factory=dict)  # role -> zone
    closed: Mapping[str, Mapping[date, Closure]] = field(default_factory=dict)  # role -> day -> closure
    labels: Mapping[str, str] = field(default_factory=dict)  # role -> branch label
    keys: Mapping[str, str] = field(default_factory=dict)  # role -> branch key

    @classmethod
    def of(cls, branches: Mapping[str, Branch], role_branch: Mapping[str, str]) -> Places:
        """The places of roles given ``role -> branch key`` (roles without a branch are left out)."""
        zones, closed, labels, keys = {}, {}, {}, {}
        for role, key in role_branch.items():
            branch = branches.get(key)
            if branch is None:
                continue
            zones[role] = branch.zone
            labels[role] = branch.label
            keys[role] = key
            closed[role] = {
                day: Closure(id=0, day=day, reason=reason) for day, reason in branch.closures.items()
            }
        return cls(zones=zones, closed=closed, labels=labels, keys=keys)

    def label_of(self, key: str) -> str:
        """The display name of the branch ``key`` (the key itself when no role is there)."""
        return next((self.labels[role] for role, k in self.keys.items() if k == key), key)


def branch_hours(branch: Branch, dated: Mapping[str, Hours] | None = None) -> Hours:
    """The branch's hours: LibCal's dated days when read (``dated[branch.key]``), else its weekly hours."""
    found = (dated or {}).get(branch.key)
    return found if found is not None else Hours(branch.weekly)


def is_open(branch: Branch, at: datetime, dated: Mapping[str, Hours] | None = None) -> bool:
    """Whether ``branch`` is open at aware ``at``: its local wall clock inside its hours, not on a
    closed day. In the repeated autumn hour the wall clock decides (both times round), as for shifts."""
    wall = at.astimezone(branch.zone).replace(tzinfo=None)
    if wall.date() in branch.closures:
        return False
    book = branch_hours(branch, dated)
    day = wall.date()
    return any(a <= wall < b for d in (day - timedelta(days=1), day) for a, b in book.on(d))


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def read_zone(value: str, *, where: str) -> ZoneInfo:
    """An IANA zone, or ConfigError naming ``where`` with the closest zone name."""
    try:
        if value.strip() != value or not value:
            raise ValueError(value)
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder; a long name is too long
        hint = suggest(value, _zone_names()) or " (example: Europe/London)"
        shown = json.dumps(value[:80], ensure_ascii=False)  # a control character shown, not printed
        raise ConfigError(f"{where}: timezone {shown} is not an IANA time zone{hint}") from None


def overlaps(hours: tuple[Opening, ...]) -> list[str]:
    """`mon 16:00-17:00` for each weekday where two parts of ``hours`` overlap."""
    found = []
    for day in range(7):
        reach: time | None = None  # the latest closing time of the parts so far
        for start, end in sorted((o.start, o.end) for o in hours if day in o.days):
            if reach is not None and start < reach:
                upto = min(reach, end)
                stop = "24:00" if upto == time.max else f"{upto:%H:%M}"
                found.append(f"{DAYS[day]} {start:%H:%M}-{stop}")
            reach = end if reach is None else max(reach, end)
    return found


def read_hours(text: str, *, where: str) -> tuple[Opening, ...]:
    """A branch's ``opening_hours``: parsed, and refused when two parts overlap."""
    hours = parse_hours(text, name=where)
    clash = overlaps(hours)
    if clash:
        raise ConfigError(
            f"{where}: parts overlap on {', '.join(clash[:3])}; give each day's hours once "
            '(e.g. "mon-fri 09:00-17:00; sat 10:00-16:00")'
        )
    return hours


def read_closures(items: Iterable[object], *, where: str) -> dict[date, str]:
    """``["2026-12-25 Christmas", "2026-12-24..2026-12-27", 2027-01-01]`` as day -> reason."""
    out: dict[date, str] = {}
    problems = []
    for i, item in enumerate(items):
        if isinstance(item, date) and not isinstance(item, datetime):
            out[item] = ""
            continue
        match = _CLOSURE.match(item) if isinstance(item, str) else None
        try:
            if match is None:
                raise ValueError(
                    'expected a date like 2026-12-25 (or "2026-12-24..2026-12-27"), then a reason'
                )
            first = date.fromisoformat(match[1])
            last = date.fromisoformat(match[2]) if match[2] else first
            if not first <= last <= first + timedelta(days=MAX_CLOSED_DAYS):
                raise ValueError(f"the range must run forward and last at most {MAX_CLOSED_DAYS} days")
        except ValueError as exc:
            problems.append(f"{where}[{i}]: {exc}")
            continue
        day = first
        while day <= last:
            out[day] = match[3].strip()[:200]
            day += timedelta(days=1)
    if problems:
        raise ConfigError("\n".join(problems))
    return out
