"""Weekday sets and wall-clock times as people write them: `mon-fri`, `09:00`, `22:00-06:00`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_TITLES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_NUMBERS: dict[str, int] = {name: i for names in (DAY_KEYS, _FULL) for i, name in enumerate(names)}
DAY_NUMBERS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})
_GROUPS: dict[str, frozenset[int]] = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MIDNIGHT = time(0)


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def day_number(word: str) -> int:
    """0 for `mon`/`monday` ... 6 for `sun`.

    Raises:
        ValueError: with a message naming the unknown weekday.
    """
    key = word.strip().lower()
    if key in DAY_NUMBERS:
        return DAY_NUMBERS[key]
    raise ValueError(f'unknown weekday "{word}"{suggest(key, DAY_NUMBERS)}')


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `mon,wed,fri`, `sat`, `daily`, `weekdays`, `weekends`, `fri-mon` (wraps).

    Raises:
        ValueError: with a message naming the bad part.
    """
    days: set[int] = set()
    parts = [part.strip().lower() for part in text.split(",")]
    if not text.strip() or not all(parts):
        raise ValueError(f'"{text}" is not a list of days (like mon-fri, mon,wed,fri, sat or daily)')
    for part in parts:
        if part in _GROUPS:
            days |= _GROUPS[part]
            continue
        first, sep, last = part.partition("-")
        if not sep:
            days.add(day_number(first))
            continue
        lo, hi = day_number(first), day_number(last)
        days.update((lo + step) % 7 for step in range((hi - lo) % 7 + 1))
    return frozenset(days)


def format_days(days: frozenset[int], *, title: bool = False) -> str:
    """The shortest spelling of a day set: `daily`, `mon-fri`, `mon,wed,fri-sun` (`Mon-Fri` if title)."""
    names = DAY_TITLES if title else DAY_KEYS
    if len(days) == 7:
        return "daily"
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    sep = ", " if title else ","
    return sep.join(names[a] if a == b else f"{names[a]}-{names[b]}" for a, b in runs)


def parse_hhmm(text: str, *, end: bool = False) -> time:
    """`09:00` or `9:00` as a time; `24:00` (only when ``end``) is midnight at the end of the day.

    Raises:
        ValueError: with a message naming the bad time.
    """
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit()):
        raise ValueError(f'"{text}" is not a time (use HH:MM, like 09:30)')
    if len(hours) > 2 or len(minutes) != 2:
        raise ValueError(f'"{text}" is not a time (use HH:MM, like 09:30)')
    h, m = int(hours), int(minutes)
    if end and (h, m) == (24, 0):
        return MIDNIGHT
    if h > 23:
        raise ValueError(f'"{text}" is not a time: hours go from 00 to 23 (24:00 only as an end)')
    if m > 59:
        raise ValueError(f'"{text}" is not a time: minutes go from 00 to 59')
    return time(h, m)


def parse_range(text: str) -> tuple[time, time]:
    """`09:00-17:00` or `22:00-06:00` (ends the next day); `00:00-24:00` is the whole day.

    Raises:
        ValueError: with a message naming the bad part.
    """
    start, sep, stop = text.partition("-")
    if not sep:
        raise ValueError(f'"{text}" is not a time range (use HH:MM-HH:MM, like 09:00-17:00)')
    return parse_hhmm(start), parse_hhmm(stop, end=True)


def format_hhmm(value: time, *, end: bool = False) -> str:
    """`09:00`; an end at midnight is written `24:00`."""
    if end and value == MIDNIGHT:
        return "24:00"
    return f"{value.hour:02d}:{value.minute:02d}"


def format_range(start: time, end: time) -> str:
    """`09:00-17:00`; `22:00-24:00` for an end at midnight."""
    return f"{format_hhmm(start)}-{format_hhmm(end, end=True)}"


def seconds(value: time) -> int:
    """Seconds since midnight (microseconds dropped)."""
    return value.hour * 3600 + value.minute * 60 + value.second


def format_date(day: date) -> str:
    """`Tue 24 Dec` (English names whatever the process locale)."""
    return f"{DAY_TITLES[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def format_when(moment: datetime) -> str:
    """`Tue 24 Dec 09:00` for a wall-clock (or already local) datetime."""
    return f"{format_date(moment.date())} {moment.hour:02d}:{moment.minute:02d}"


def staff_time(moment: datetime) -> str:
    """`Mon 7 Dec 09:00 CST`: a moment as staff read it, in its own zone (give it the library's)."""
    return f"{format_when(moment)} {moment.tzname() or ''}".rstrip()


def format_window(start: datetime, end: datetime) -> str:
    """`Tue 24 Dec 10:00-14:00`, `Tue 24 Dec 22:00-06:00` (next day), or both dates when longer."""
    if end - start <= timedelta(days=1):
        return f"{format_date(start.date())} {format_range(start.time(), end.time())}"
    return f"{format_when(start)} - {format_when(end)}"


@lru_cache(maxsize=64)
def offset_changes(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """UTC instants (to the second) where the zone's offset changes, around one calendar year."""
    found: list[datetime] = []
    if not 1 < year < 9999:
        return ()
    probe = datetime(year, 1, 1, tzinfo=UTC) - timedelta(days=2)
    stop = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=2)
    step = timedelta(hours=6)
    while probe < stop:
        lo, hi = probe, probe + step
        if lo.astimezone(zone).utcoffset() != hi.astimezone(zone).utcoffset():
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
        probe += step
    return tuple(found)
