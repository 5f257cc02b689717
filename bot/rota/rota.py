"""Who holds a role at an instant: weekly wall-clock shifts, dated overrides and closures.

Everything is evaluated in the library's local wall-clock time: an aware instant is converted to
the zone and compared with the wall-clock times people wrote. Consequences, on purpose:

* Spring forward: a shift that starts in the skipped hour (02:30 on a day where 02:00 jumps to
  03:00) begins at the first valid instant after it (03:00); one that ends in it ends at 03:00.
* Fall back: in the repeated hour the wall clock decides, both times round: a shift 00:00-01:30
  covers 01:00-01:30 twice, and one starting at 01:30 starts at the first 01:30 and also does
  not cover 01:00-01:30 the second time (the clock reads 01:xx, before its start).
* An overnight shift across a change lasts its wall-clock span (22:00-06:00 is 7 or 9 hours).

Layering: weekly shifts and the dated shifts read from a role's calendar (``Override.synced``),
then closures (a closed local day drops every shift, every role; a branch's closure only its roles'),
then overrides in id order (later edits win): ``add`` puts a person on duty, ``remove`` takes them
off, ``replace`` puts a person on duty instead of ``replaces`` while ``replaces`` would be on duty.
Overrides are naive local wall-clock windows ``[start, end)`` and still apply on a closed day.
A closure covers its local day 00:00-24:00 only: the part of an overnight shift that runs past
midnight into an open day still applies.

Instants returned (``coverage``, ``next_on_duty``) are aware UTC datetimes: two aware datetimes
in the same ZoneInfo compare by wall clock and ignore ``fold``, which orders the repeated autumn
hour wrongly. Convert with ``.astimezone(rota.zone)`` only to display.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.errors import ConfigError
from bot.rota.branches import Places
from bot.rota.shifts import Closure, Override, OverrideKind, Shift, ShiftSpec
from bot.rota.timespec import (
    format_days,
    format_hhmm,
    offset_changes,
    parse_days,
    parse_hhmm,
    seconds,
)

__all__ = [
    "Closure",
    "Override",
    "OverrideKind",
    "Rota",
    "Shift",
    "ShiftSpec",
    "format_rota_csv",
    "parse_rota_csv",
]

_DAY = 86400
_Segment = tuple[int, int, str, str]  # start second, end second (exclusive), person, label
_Interval = tuple[datetime, datetime, tuple[str, ...]]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the instant must be timezone-aware")
    return at.astimezone(UTC)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the instant must be timezone-aware")
    return at.astimezone(zone).replace(tzinfo=None)


def _segments(shifts: Sequence[Shift]) -> dict[tuple[str, int], tuple[_Segment, ...]]:
    """Each shift cut at midnight into per-weekday second ranges, keyed by (role, weekday)."""
    out: dict[tuple[str, int], list[_Segment]] = {}
    for shift in shifts:
        start, label = seconds(shift.start), shift.label()
        stop = start + ((seconds(shift.end) - start) % _DAY or _DAY)
        for day in shift.days:
            out.setdefault((shift.role, day), []).append((start, min(stop, _DAY), shift.person, label))
            if stop > _DAY:
                out.setdefault((shift.role, (day + 1) % 7), []).append((0, stop - _DAY, shift.person, label))
    return {key: tuple(value) for key, value in out.items()}


@dataclass(frozen=True, slots=True)
class Rota:
    """The whole rota. Build a new one after any edit; queries never read the clock.

    Every role's times are read in ``zone`` unless ``places`` puts the role in a branch with its own
    zone (and closed days); closures apply to the local day of each role's zone.
    """

    zone: ZoneInfo
    shifts: Sequence[Shift] = ()
    overrides: Sequence[Override] = ()
    closures: Sequence[Closure] = ()
    places: Places = field(default_factory=Places)
    _segments: dict[tuple[str, int], tuple[_Segment, ...]] = field(init=False, repr=False, compare=False)
    _overrides: dict[str, tuple[tuple[Override, str], ...]] = field(init=False, repr=False, compare=False)
    _closed: dict[date, Closure] = field(init=False, repr=False, compare=False)  # every branch
    _branch_closed: dict[tuple[str, date], Closure] = field(init=False, repr=False, compare=False)
    _cache: dict[tuple[str, date, bool], tuple[tuple[datetime, datetime], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in ("shifts", "overrides", "closures"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "_segments", _segments(self.shifts))
        by_role: dict[str, list[tuple[Override, str]]] = {}
        for ov in sorted(self.overrides, key=lambda o: (not o.synced, o.id)):  # calendar shifts first
            by_role.setdefault(ov.role, []).append((ov, ov.label()))
        object.__setattr__(self, "_overrides", {k: tuple(v) for k, v in by_role.items()})
        by_id = sorted(self.closures, key=lambda c: c.id)
        object.__setattr__(self, "_closed", {c.day: c for c in by_id if not c.branch})
        object.__setattr__(self, "_branch_closed", {(c.branch, c.day): c for c in by_id if c.branch})
        object.__setattr__(self, "_cache", {})

    def duty(self, role: str, at: datetime) -> tuple[tuple[str, str], ...]:
        """``(person, why)`` for everyone holding ``role`` at aware ``at``, sorted by person.

        ``why`` is the shift label (`Mon-Fri 09:00-17:00`) or the override label (`cover ...`).
        """
        return tuple(sorted(self._holders(role, _wall(at, self.zone_of(role))).items()))

    def on_duty(self, role: str, at: datetime) -> tuple[str, ...]:
        """Everyone holding ``role`` at aware ``at``, sorted."""
        return tuple(sorted(self._holders(role, _wall(at, self.zone_of(role)))))

    def zone_of(self, role: str) -> ZoneInfo:
        """The zone ``role``'s shifts are written in (its branch's, else the rota's)."""
        return self.places.zones.get(role, self.zone)

    def closure_on(self, at: datetime, role: str | None = None) -> Closure | None:
        """The closure of the local day containing aware ``at`` (in ``role``'s zone, with its branch's
        closed days when given), if any."""
        day = _wall(at, self.zone_of(role) if role else self.zone).date()
        found = self._closed.get(day)
        if found is None and role:
            found = self.places.closed.get(role, {}).get(day)
        if found is None and role and role in self.places.keys:
            found = self._branch_closed.get((self.places.keys[role], day))
        return found

    def _is_closed(self, role: str, day: date) -> bool:
        return (
            day in self._closed
            or day in self.places.closed.get(role, ())
            or (self.places.keys.get(role, ""), day) in self._branch_closed
        )

    def _holders(self, role: str, wall: datetime) -> dict[str, str]:
        held: dict[str, str] = {}
        if not self._is_closed(role, wall.date()):
            now = wall.hour * 3600 + wall.minute * 60 + wall.second
            for start, stop, person, label in self._segments.get((role, wall.weekday()), ()):
                if start <= now < stop and person not in held:
                    held[person] = label
        for ov, label in self._overrides.get(role, ()):
            if not ov.start <= wall < ov.end or (ov.synced and self._is_closed(role, wall.date())):
                continue
            if ov.kind is OverrideKind.ADD:
                held[ov.person] = label
            elif ov.kind is OverrideKind.REMOVE:
                held.pop(ov.person, None)
            elif ov.replaces in held:
                del held[ov.replaces]
                held[ov.person] = label
        return held

    def _day_points(self, role: str, day: date, *, starts: bool) -> tuple[tuple[datetime, datetime], ...]:
        """``(utc, wall)`` on local ``day`` where the holders of ``role`` may change.

        With ``starts``, only where someone may come on duty (shift starts, cover starts, the
        end of time off, midnight); ends can only take people off.
        """
        cached = self._cache.get((role, day, starts))
        if cached is not None:
            return cached
        segments = self._segments.get((role, day.weekday()), ())
        marks = {0} | {seg[0] for seg in segments} | (set() if starts else {seg[1] for seg in segments})
        walls = {datetime.combine(day, time()) + timedelta(seconds=s) for s in marks if s < _DAY}
        for ov, _ in self._overrides.get(role, ()):
            edges: tuple[datetime, ...] = (ov.start, ov.end)
            if starts and ov.kind is not OverrideKind.REPLACE:
                edges = (ov.start,) if ov.kind is OverrideKind.ADD else (ov.end,)
            walls.update(t for t in edges if t.date() == day)
        points = set()
        zone = self.zone_of(role)
        for wall in walls:
            for fold in (0, 1):
                utc = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
                if utc.astimezone(zone).replace(tzinfo=None) == wall:  # skip times that do not exist
                    points.add((utc, wall))
        if len(self._cache) > 20_000:
            self._cache.clear()
        self._cache[role, day, starts] = result = tuple(points)
        return result

    def _points(
        self, role: str, start: datetime, end: datetime, *, starts: bool = False
    ) -> list[tuple[datetime, datetime]]:
        """Sorted ``(utc, wall)`` in ``(start, end]`` (UTC) where the holders of ``role`` may change."""
        zone = self.zone_of(role)
        changes = (t for y in range(start.year, end.year + 1) for t in offset_changes(zone, y))
        points = {(t, _wall(t, zone)) for t in changes if start < t <= end}
        day = _wall(start, zone).date() - timedelta(days=1)
        last = _wall(end, zone).date() + timedelta(days=1)
        while day <= last:
            points.update(p for p in self._day_points(role, day, starts=starts) if start < p[0] <= end)
            day += timedelta(days=1)
        return sorted(points)

    def coverage(self, role: str, start: datetime, end: datetime) -> list[_Interval]:
        """``(from, to, people)`` intervals covering ``[start, end)``, people constant in each.

        Instants are UTC (see the module docstring); gaps appear with ``people == ()``; adjacent
        intervals always differ.
        """
        lo, hi = _utc(start), _utc(end)
        out: list[_Interval] = []
        marks = [(lo, _wall(lo, self.zone_of(role))), *(p for p in self._points(role, lo, hi) if p[0] < hi)]
        for (a, wall), b in zip(marks, [*(p[0] for p in marks[1:]), hi], strict=True):
            people = tuple(sorted(self._holders(role, wall)))
            if out and out[-1][2] == people:
                out[-1] = (out[-1][0], b, people)
            else:
                out.append((a, b, people))
        return [(a, b, p) for a, b, p in out if a < b]

    def next_on_duty(self, role: str, after: datetime, horizon_days: float = 14) -> datetime | None:
        """The first instant (UTC) at or after ``after`` when someone holds ``role``.

        None when nobody does within ``horizon_days`` (exclusive).
        """
        if self._holders(role, _wall(after, self.zone_of(role))):
            return _utc(after)
        start = _utc(after)
        limit = start + timedelta(days=horizon_days)
        while start < limit:
            stop = min(start + timedelta(days=1), limit)
            for point, wall in self._points(role, start, stop, starts=True):
                if point < limit and self._holders(role, wall):
                    return point
            start = stop
        return None


CSV_COLUMNS = ("person", "role", "days", "start", "end")
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
T = TypeVar("T")


def _check(parse: Callable[[str], T], value: str, problems: list[str]) -> T | None:
    try:
        return parse(value)
    except ValueError as exc:
        problems.append(str(exc))
        return None


def _csv_row(cells: dict[str, str]) -> tuple[Shift | None, list[str]]:
    problems: list[str] = []
    person = cells["person"].removeprefix("@").lower()
    if not _KEY.match(person):
        problems.append(f'person "{cells["person"]}" is not a staff key (like alice)')
    role = cells["role"].lower()
    if not _KEY.match(role):
        problems.append(f'role "{cells["role"]}" is not a role key (like reference)')
    days = _check(parse_days, cells["days"], problems)
    start = _check(parse_hhmm, cells["start"], problems)
    end = _check(partial(parse_hhmm, end=True), cells["end"], problems)
    if days is None or start is None or end is None or problems:
        return None, problems
    return Shift(id=0, role=role, person=person, days=days, start=start, end=end), []


def parse_rota_csv(text: str) -> list[ShiftSpec]:
    """Read `person,role,days,start,end` rows (header first; blank and `#` lines skipped).

    Returns shifts with ``id`` 0. Row numbers in errors are line numbers in the file (header = 1).

    Raises:
        bot.errors.ConfigError: one line per bad row, naming the row and every problem in it.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    shifts: list[Shift] = []
    problems: list[str] = []
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if header is None:
                header = [cell.lower() for cell in cells]
                if sorted(header) != sorted(CSV_COLUMNS):
                    raise ConfigError(f"row {reader.line_num}: the header must be {','.join(CSV_COLUMNS)}")
                continue
            if len(cells) != len(header):
                problems.append(f"row {reader.line_num}: expected {len(header)} fields, got {len(cells)}")
                continue
            shift, bad = _csv_row(dict(zip(header, cells, strict=True)))
            if shift is not None:
                shifts.append(shift)
            else:
                problems.append(f"row {reader.line_num}: " + "; ".join(bad))
    except csv.Error as exc:
        problems.append(f"row {reader.line_num}: {exc}")
    if header is None and not problems:
        problems.append(f"no header row ({','.join(CSV_COLUMNS)})")
    if problems:
        raise ConfigError("\n".join(problems))
    return shifts


def format_rota_csv(shifts: Sequence[Shift]) -> str:
    """The CSV that ``parse_rota_csv`` reads back into the same shifts (ids dropped)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in shifts:
        start, end = format_hhmm(s.start), format_hhmm(s.end, end=True)
        writer.writerow((s.person, s.role, format_days(s.days), start, end))
    return out.getvalue()
