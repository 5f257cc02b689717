"""A role's shifts read from an iCalendar file (RFC 5545), as libraries already keep desk schedules.

Parsing and recurrence are the maintained ``icalendar`` and ``recurring-ical-events`` libraries:
RRULE/RDATE, EXDATE, moved occurrences (RECURRENCE-ID), VTIMEZONE and floating times. This module
only decides what an occurrence means for the rota (pure: bytes, staff and dates in, values out):

* a timed event is a shift for every staff member it names: an ATTENDEE or ORGANIZER whose e-mail
  is a staff ``email``, else a staff name or key written in its SUMMARY (whole words, any case);
* an all-day event whose SUMMARY or CATEGORIES says closed/closure/holiday closes those days: the
  calendar's shifts on them do not apply; other all-day events (leave, notes) are skipped;
* an event that names nobody on the staff list is reported, never made into a person;
* cancelled events and those marked TRANSPARENT (free) are skipped.

Times are converted to the library's wall clock (floating times already are): shifts come back as
naive local ``[start, end)``, the form rota overrides use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.routing.rules import StaffSpec

MAX_BYTES = 5_000_000
MAX_EVENTS = 20_000  # occurrences in one window; a runaway RRULE stops here
_CLOSED = re.compile(r"\b(closed|closure|holiday)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['.-][^\W_]+)*", re.UNICODE)


class CalendarError(ValueError):
    """Not an iCalendar file we can read (the message names the problem, never the content)."""


@dataclass(frozen=True, slots=True, order=True)
class CalendarShift:
    """``person`` holds the role from ``start`` to ``end`` (naive library wall clock)."""

    start: datetime
    end: datetime
    person: str


@dataclass(frozen=True, slots=True)
class CalendarRead:
    """What a calendar gave for a window: shifts, closed days, and events that named nobody known."""

    shifts: tuple[CalendarShift, ...]
    closed: tuple[date, ...] = ()
    unknown: tuple[str, ...] = ()  # the event titles (or addresses) that matched no staff member
    skipped: int = 0


def _emails(event: Any) -> list[tuple[str, str]]:
    """``(email, common name)`` of every attendee and the organizer."""
    found = []
    attendees = event.get("ATTENDEE", [])
    for who in [*(attendees if isinstance(attendees, list) else [attendees]), event.get("ORGANIZER")]:
        if who is None:
            continue
        text = str(who)
        email = text[7:] if text.lower().startswith("mailto:") else text
        name = str(getattr(who, "params", {}).get("CN", ""))
        found.append((email.strip().casefold(), name.strip()))
    return found


def _words(text: str) -> str:
    return " " + " ".join(w.casefold() for w in _WORD.findall(text)) + " "


class StaffMatcher:
    """Names staff in an event: by e-mail first, then by a name or key in the title."""

    def __init__(self, staff: Sequence[StaffSpec]) -> None:
        self.by_email = {s.email.strip().casefold(): s.key for s in staff if s.email.strip()}
        self.by_words: list[tuple[str, str]] = []
        for s in staff:
            for label in {s.key, s.name}:
                if label and _words(label).strip():
                    self.by_words.append((_words(label), s.key))

    def people(self, event: Any) -> tuple[list[str], str]:
        """The staff keys an event names, and what to report when it names nobody."""
        attendees = _emails(event)
        keys = sorted({self.by_email[e] for e, _ in attendees if e in self.by_email})
        if keys:
            return keys, ""
        title = str(event.get("SUMMARY", ""))
        said = _words(" ".join([title, *(name for _, name in attendees)]))
        keys = sorted({key for words, key in self.by_words if words in said})
        shown = " ".join(title.split())[:80] or next((e for e, _ in attendees), "(no title)")[:80]
        return keys, "" if keys else shown


def _local(value: datetime | date, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    if value.tzinfo is None:  # floating: the library's own wall clock
        return value
    return value.astimezone(zone).replace(tzinfo=None)


def _closing(event: Any) -> bool:
    categories = event.get("CATEGORIES")
    cats = categories if isinstance(categories, list) else [categories] if categories else []
    labels = [str(event.get("SUMMARY", ""))]
    for cat in cats:
        labels += [str(c) for c in getattr(cat, "cats", [cat])]
    return any(_CLOSED.search(label) for label in labels)


def _occurrences(data: bytes | str, start: date, days: int) -> list[Any]:
    if len(data) > MAX_BYTES:
        raise CalendarError(f"the calendar is larger than {MAX_BYTES} bytes")
    # imported here: the libraries hold about 5 MiB once loaded, and only a calendar sync needs them
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(data)
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        found = []
        for event in query.between(start, start + timedelta(days=days)):
            found.append(event)
            if len(found) > MAX_EVENTS:
                raise CalendarError(f"more than {MAX_EVENTS} events in {days} days")
        return found
    except CalendarError:
        raise
    except Exception as exc:  # the libraries raise ValueError, KeyError, their own errors, ...
        raise CalendarError(f"not a readable iCalendar file ({type(exc).__name__})") from None


def read_calendar(
    data: bytes | str, *, staff: Sequence[StaffSpec], zone: ZoneInfo, start: date, days: int
) -> CalendarRead:
    """The shifts a calendar gives for ``days`` days from local ``start``.

    Raises:
        CalendarError: the data is not iCalendar, too big, or expands to too many events.
    """
    match = StaffMatcher(staff)
    shifts: set[CalendarShift] = set()
    closed: set[date] = set()
    unknown: set[str] = set()
    skipped = 0
    for event in _occurrences(data, start, days):
        try:
            begin, finish = event.start, event.end
        except Exception:  # no DTSTART, or an end before the start
            skipped += 1
            continue
        if (
            str(event.get("STATUS", "")).upper() == "CANCELLED"
            or str(event.get("TRANSP", "")).upper() == "TRANSPARENT"
        ):
            skipped += 1
        elif not isinstance(begin, datetime):
            if _closing(event):
                day = begin
                while day < max(finish, begin + timedelta(days=1)):
                    closed.add(day)
                    day += timedelta(days=1)
            else:
                skipped += 1
        else:
            people, report = match.people(event)
            a, b = _local(begin, zone), _local(finish, zone)
            if b <= a:
                skipped += 1
            elif report:
                unknown.add(report)
            else:
                shifts.update(CalendarShift(a, b, person) for person in people)
    kept = tuple(sorted(s for s in shifts if s.start.date() not in closed))
    return CalendarRead(kept, tuple(sorted(closed)), tuple(sorted(unknown)), skipped)
