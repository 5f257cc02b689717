"""LibCal's hours JSON read into dated opening hours (pure: bytes and dates in, values out).

Three shapes are read, each with one or more locations:

* the hours *today* widget (``api_hours_today.php``): ``locations[].times`` for one day, named by
  ``day`` only, so the caller gives the date;
* the hours *grid* widget (``api_hours_grid.php``): ``locations[].weeks[].{Sunday..Saturday}`` with
  a ``date`` and ``times`` each;
* API 1.1 ``/hours/{lid}``: ``[{lid, dates: {YYYY-MM-DD: {status, hours}}}]``.

``times.status`` is ``open`` (``hours[]`` of ``from``/``to`` like ``"7:45am"``; ``"12am"`` or an empty
``to`` as an end is midnight; an end before the start runs past midnight), ``closed``, ``24hours``,
``text`` (a note instead of hours) or ``not-set``. The last two say nothing about the hours, so the
weekly fallback applies on those days; the note is kept for display.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.rota.hours import Window

_CLOCK = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?\s*$", re.IGNORECASE)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_BYTES = 2_000_000  # a year of hours for a dozen locations is well under 1 MB
MAX_TEXT = 200


class HoursError(ValueError):
    """The payload is not LibCal hours JSON (the message says what was wrong, never the payload)."""


@dataclass(frozen=True, slots=True)
class LibCalHours:
    """What one location's calendar said: windows per date (``()`` = closed) and notes per date."""

    dated: Mapping[date, tuple[Window, ...]] = field(default_factory=dict)
    notes: Mapping[date, str] = field(default_factory=dict)
    skipped: int = 0  # day entries that could not be read (bad date, bad time)


def clock(text: str) -> time | None:
    """`7:45am`, `12pm`, `10 PM` as a time; None for anything else. `12am` is midnight."""
    if not isinstance(text, str) or len(text) > 16:
        return None
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if not 1 <= hour <= 12 or minute > 59:
        return None
    hour = hour % 12 + (12 if match[3].lower() == "p" else 0)
    return time(hour, minute)


def _windows(day: date, hours: object) -> tuple[Window, ...] | None:
    if not isinstance(hours, list) or len(hours) > 24:
        return None
    found: list[Window] = []
    for span in hours:
        if not isinstance(span, dict):
            return None
        start = clock(span.get("from", ""))
        to = span.get("to", "")
        end = time(0) if to == "" else clock(to)
        if start is None or end is None:
            return None
        begin = datetime.combine(day, start)
        finish = datetime.combine(day, end)
        if finish <= begin:  # "12am" at the end, or "3am - 2am": past midnight
            finish += timedelta(days=1)
        found.append((begin, finish))
    return tuple(sorted(found))


def _day(day: date, times: object, dated: dict[date, tuple[Window, ...]], notes: dict[date, str]) -> bool:
    """Read one day's ``times`` into ``dated``/``notes``; False when it could not be read."""
    if not isinstance(times, dict):
        return False
    status = times.get("status")
    if status == "closed":
        dated[day] = ()
    elif status == "24hours":
        start = datetime.combine(day, time(0))
        dated[day] = ((start, start + timedelta(days=1)),)
    elif status == "open":
        windows = _windows(day, times.get("hours"))
        if windows is None:
            return False
        dated[day] = windows
    elif status == "text":
        text = times.get("text")
        if isinstance(text, str):
            notes[day] = " ".join(text.split())[:MAX_TEXT]
    elif status != "not-set":
        return False
    return True


def _iso(value: object) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        found = date.fromisoformat(value)
    except ValueError:
        return None
    return found if 1 < found.year < 9999 else None  # a window past midnight must still fit


def _entries(location: dict[str, Any], today: date) -> list[tuple[date | None, object]]:
    """``(date, times)`` pairs of one location in whichever shape it came."""
    if isinstance(location.get("dates"), dict):
        return [(_iso(k), v) for k, v in location["dates"].items()]
    if isinstance(location.get("weeks"), list):
        out: list[tuple[date | None, object]] = []
        for week in location["weeks"]:
            if isinstance(week, dict):
                out += [(_iso(v.get("date")), v.get("times")) for v in week.values() if isinstance(v, dict)]
            else:
                out.append((None, None))
        return out
    if "times" in location:
        named = location.get("day")
        ok = not isinstance(named, str) or named.lower() == _WEEKDAYS[today.weekday()]
        return [(today if ok else None, location["times"])]
    return []


def _locations(data: object) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("locations"), list):
        data = data["locations"]
    if not isinstance(data, list):
        raise HoursError("expected a list of locations")
    return [loc for loc in data if isinstance(loc, dict)]


def _names(place: dict[str, Any]) -> tuple[str, str]:
    return str(place.get("lid", "")).casefold(), str(place.get("name", "")).casefold()


def parse_libcal(payload: bytes | str, *, today: date, location: str | None = None) -> LibCalHours:
    """The opening hours of one location (``lid`` or name; the first one when None).

    Args:
        payload: the response body.
        today: the library's local date (the today widget names only a weekday).
        location: which location, by ``lid`` or name (case-insensitive).

    Raises:
        HoursError: the body is not JSON, not LibCal's shape, too big, or names no such location.
    """
    if len(payload) > MAX_BYTES:
        raise HoursError(f"the response is larger than {MAX_BYTES} bytes")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise HoursError("the response is not JSON") from None
    places = _locations(data)
    wanted = location.strip().casefold() if location else None
    chosen = next((p for p in places if wanted is None or wanted in _names(p)), None)
    if chosen is None:
        raise HoursError("no such location in the response" if wanted else "the response lists no location")
    dated: dict[date, tuple[Window, ...]] = {}
    notes: dict[date, str] = {}
    skipped = 0
    for day, times in _entries(chosen, today):
        if day is None or not _day(day, times, dated, notes):
            skipped += 1
    if not dated and not notes:
        raise HoursError("no day in the response could be read")
    return LibCalHours(dated=dated, notes=notes, skipped=skipped)
