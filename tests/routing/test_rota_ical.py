"""A role's calendar becomes the expected shifts (minute by minute against a simple reference), and
the exported feed reads back through the same parser."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rota.ical import CalendarError, CalendarShift, read_calendar
from bot.rota.ical_out import rota_feed
from bot.rota.rota import Override, OverrideKind, Rota, Shift
from bot.routing.rules import StaffSpec

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
STAFF = (
    StaffSpec(key="alice", name="Alice Archer", email="Alice@Lib.example"),
    StaffSpec(key="bob", name="Bob Baker"),
    StaffSpec(key="chidi", name="Chidi Okafor"),
)
# A custom TZID defined only by its VTIMEZONE (US Eastern rules), so the zone must come from the file.
VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Desk Eastern
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE"""
CALENDAR = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example Library//Desk//EN
{VTIMEZONE}
BEGIN:VEVENT
UID:alice-weekly@example
DTSTAMP:20260201T000000Z
SUMMARY:Reference desk
ATTENDEE;CN=A. Archer:mailto:alice@lib.example
DTSTART;TZID=Desk Eastern:20260302T080000
DTEND;TZID=Desk Eastern:20260302T120000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20260410T235959Z
EXDATE;TZID=Desk Eastern:20260311T080000
END:VEVENT
BEGIN:VEVENT
UID:alice-weekly@example
DTSTAMP:20260201T000000Z
SUMMARY:Reference desk (moved)
ATTENDEE;CN=A. Archer:mailto:alice@lib.example
RECURRENCE-ID;TZID=Desk Eastern:20260313T080000
DTSTART;TZID=Desk Eastern:20260314T100000
DTEND;TZID=Desk Eastern:20260314T140000
END:VEVENT
BEGIN:VEVENT
UID:bob-evenings@example
DTSTAMP:20260201T000000Z
SUMMARY:Reference desk - Bob Baker
DTSTART:20260302T170000
DTEND:20260302T190000
RRULE:FREQ=DAILY;COUNT=20
END:VEVENT
BEGIN:VEVENT
UID:closed@example
DTSTAMP:20260201T000000Z
SUMMARY:Library closed - staff training
DTSTART;VALUE=DATE:20260320
DTEND;VALUE=DATE:20260321
END:VEVENT
BEGIN:VEVENT
UID:leave@example
DTSTAMP:20260201T000000Z
SUMMARY:Chidi on leave
DTSTART;VALUE=DATE:20260316
DTEND;VALUE=DATE:20260317
END:VEVENT
BEGIN:VEVENT
UID:ghost@example
DTSTAMP:20260201T000000Z
SUMMARY:Desk: Zed Unknown
DTSTART:20260305T120000Z
DTEND:20260305T130000Z
END:VEVENT
BEGIN:VEVENT
UID:cancelled@example
DTSTAMP:20260201T000000Z
SUMMARY:Chidi Okafor cover
STATUS:CANCELLED
DTSTART:20260306T120000Z
DTEND:20260306T130000Z
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")
START, DAYS = date(2026, 3, 1), 42  # both the US (8 Mar) and the UK (29 Mar) clock changes


def reference(at: datetime) -> set[str]:
    """Who the calendar above puts on the desk at UTC ``at``, written out by hand."""
    on: set[str] = set()
    for offset in range(-1, DAYS + 1):
        day = START + timedelta(days=offset)
        if day == date(2026, 3, 20):  # closed
            continue
        alice = day.weekday() in (0, 2, 4) and day not in (date(2026, 3, 11), date(2026, 3, 13))
        spans = []
        if alice and day <= date(2026, 4, 10):
            spans.append(("alice", datetime.combine(day, time(8)), datetime.combine(day, time(12)), NEW_YORK))
        if day == date(2026, 3, 14):
            spans.append(
                ("alice", datetime.combine(day, time(10)), datetime.combine(day, time(14)), NEW_YORK)
            )
        if date(2026, 3, 2) <= day < date(2026, 3, 22):
            spans.append(("bob", datetime.combine(day, time(17)), datetime.combine(day, time(19)), LONDON))
        for who, a, b, zone in spans:
            if a.replace(tzinfo=zone) <= at < b.replace(tzinfo=zone):
                on.add(who)
    return on


def as_rota(shifts: tuple[CalendarShift, ...], zone: ZoneInfo = LONDON) -> Rota:
    overrides = [
        Override(i + 1, "reference", s.person, s.start, s.end, OverrideKind.ADD, synced=True)
        for i, s in enumerate(shifts)
    ]
    return Rota(zone=zone, overrides=overrides)


@pytest.mark.slow
def test_recurring_calendar_minute_by_minute() -> None:
    read = read_calendar(CALENDAR, staff=STAFF, zone=LONDON, start=START, days=DAYS)
    assert read.closed == (date(2026, 3, 20),)
    assert read.unknown == ("Desk: Zed Unknown",)  # reported, not invented
    assert read.skipped == 2  # the leave day and the cancelled event
    rota = as_rota(read.shifts)
    at = datetime.combine(START, time(0), tzinfo=LONDON).astimezone(UTC)
    end = at + timedelta(days=DAYS)
    wrong = []
    while at < end:
        if set(rota.on_duty("reference", at)) != reference(at):
            wrong.append(at)
        at += timedelta(minutes=1)
    assert not wrong, f"{len(wrong)} minutes differ, first {wrong[0]}"


def test_times_are_the_library_wall_clock() -> None:
    read = read_calendar(CALENDAR, staff=STAFF, zone=LONDON, start=START, days=DAYS)
    alice = [s for s in read.shifts if s.person == "alice"]
    # 08:00 in New York is 13:00 in London, except between the two clock changes (12:00)
    assert alice[0] == CalendarShift(datetime(2026, 3, 2, 13), datetime(2026, 3, 2, 17), "alice")
    assert any(s.start == datetime(2026, 3, 9, 12) for s in alice)
    assert any(s.start == datetime(2026, 3, 30, 13) for s in alice)
    assert CalendarShift(datetime(2026, 3, 14, 14), datetime(2026, 3, 14, 18), "alice") in alice  # moved


@pytest.mark.parametrize(
    "payload",
    [b"", b"not a calendar", b"BEGIN:VCALENDAR\r\n", "BEGIN:VCALENDAR\r\nCALSCALE:HEBREW\r\nEND:VCALENDAR"],
)
def test_unreadable_calendars_are_refused_plainly(payload: bytes | str) -> None:
    with pytest.raises(CalendarError):
        read_calendar(payload, staff=STAFF, zone=LONDON, start=START, days=7)


@pytest.mark.slow
def test_a_runaway_rule_is_capped() -> None:
    flood = CALENDAR.replace("RRULE:FREQ=DAILY;COUNT=20", "RRULE:FREQ=MINUTELY")
    with pytest.raises(CalendarError, match="more than"):
        read_calendar(flood, staff=STAFF, zone=LONDON, start=START, days=DAYS)


def _event(dtstart: datetime, minutes: int, rule: str) -> str:
    end = dtstart + timedelta(minutes=minutes)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:x@t\r\n"
        "DTSTAMP:20260101T000000Z\r\nSUMMARY:Bob Baker\r\n"
        f"DTSTART;TZID=America/New_York:{dtstart:%Y%m%dT%H%M%S}\r\n"
        f"DTEND;TZID=America/New_York:{end:%Y%m%dT%H%M%S}\r\n"
        f"RRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _expected(
    dtstart: datetime, minutes: int, freq: str, interval: int, count: int, byday: list[int]
) -> set[tuple[datetime, datetime]]:
    """The occurrences by hand: wall-clock New York times, shown on a London wall clock."""
    days: list[date] = []
    if freq == "DAILY":
        days = [dtstart.date() + timedelta(days=k * interval) for k in range(count)]
    else:
        monday = dtstart.date() - timedelta(days=dtstart.weekday())
        week = 0
        while len(days) < count:
            for wd in sorted(byday):
                day = monday + timedelta(days=week * 7 + wd)
                if day >= dtstart.date() and len(days) < count:
                    days.append(day)
            week += interval
    out = set()
    for day in days:
        a = datetime.combine(day, dtstart.time()).replace(tzinfo=NEW_YORK)
        b = (datetime.combine(day, dtstart.time()) + timedelta(minutes=minutes)).replace(tzinfo=NEW_YORK)
        out.add((a.astimezone(LONDON).replace(tzinfo=None), b.astimezone(LONDON).replace(tzinfo=None)))
    return out


@settings(max_examples=60, deadline=None)
@given(
    first=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    hour=st.integers(5, 20),
    minute=st.sampled_from([0, 15, 30, 45]),
    minutes=st.integers(15, 180),
    freq=st.sampled_from(["DAILY", "WEEKLY"]),
    interval=st.integers(1, 3),
    count=st.integers(1, 12),
    extra=st.sets(st.integers(0, 6), max_size=3),
)
def test_recurrence_rules_match_a_hand_expansion(
    first: date, hour: int, minute: int, minutes: int, freq: str, interval: int, count: int, extra: set[int]
) -> None:
    dtstart = datetime.combine(first, time(hour, minute))
    byday = sorted(extra | {first.weekday()})
    names = ",".join(("MO", "TU", "WE", "TH", "FR", "SA", "SU")[d] for d in byday)
    rule = f"FREQ={freq};INTERVAL={interval};COUNT={count}" + (f";BYDAY={names}" if freq == "WEEKLY" else "")
    read = read_calendar(
        _event(dtstart, minutes, rule), staff=STAFF, zone=LONDON, start=first - timedelta(days=2), days=400
    )
    got = {(s.start, s.end) for s in read.shifts}
    assert got == _expected(dtstart, minutes, freq, interval, count, byday)
    assert {s.person for s in read.shifts} == {"bob"}


def test_exported_person_feed_round_trips_through_the_parser() -> None:
    weekly = Shift(1, "reference", "alice", frozenset({0, 2, 4}), time(9), time(13))
    overnight = Shift(2, "reference", "bob", frozenset({5}), time(22), time(6))
    off = Override(
        3, "reference", "alice", datetime(2026, 3, 11, 9), datetime(2026, 3, 11, 11), OverrideKind.REMOVE
    )
    rota = Rota(zone=LONDON, shifts=(weekly, overnight), overrides=(off,))
    start = datetime(2026, 3, 23, tzinfo=LONDON)  # a week with the UK clock change
    names = {"alice": "Alice Archer", "bob": "Bob Baker"}
    for person in ("alice", "bob"):
        feed = rota_feed(
            rota,
            roles=["reference"],
            start=start,
            days=14,
            stamp=start,
            names=names,
            title="t",
            person=person,
        )
        read = read_calendar(feed, staff=STAFF, zone=LONDON, start=start.date() - timedelta(days=1), days=16)
        assert {s.person for s in read.shifts} == {person} and not read.unknown
        back = Rota(
            zone=LONDON,
            overrides=[
                Override(i, "reference", s.person, s.start, s.end, OverrideKind.ADD, synced=True)
                for i, s in enumerate(read.shifts, 1)
            ],
        )
        at, end = start.astimezone(UTC), (start + timedelta(days=14)).astimezone(UTC)
        while at < end:
            assert (person in rota.on_duty("reference", at)) == (person in back.on_duty("reference", at)), at
            at += timedelta(minutes=15)


LINES = CALENDAR.split("\r\n")


@settings(max_examples=150, deadline=None)
@given(
    drop=st.sets(st.integers(0, len(LINES) - 1), max_size=6),
    junk=st.lists(
        st.tuples(
            st.integers(0, len(LINES) - 1),
            st.sampled_from(
                ["DTSTART:", "DTEND:", "RRULE:", "EXDATE:", "RECURRENCE-ID:", "ATTENDEE:", "DURATION:"]
            )
            | st.text(max_size=10),
            st.text(max_size=30),
        ),
        max_size=4,
    ),
)
def test_hostile_calendars_give_shifts_or_a_calendar_error(
    drop: set[int], junk: list[tuple[int, str, str]]
) -> None:
    lines = [line for i, line in enumerate(LINES) if i not in drop]
    for at, name, value in junk:
        lines.insert(min(at, len(lines)), f"{name}{value}")
    try:
        read = read_calendar("\r\n".join(lines), staff=STAFF, zone=LONDON, start=START, days=DAYS)
    except CalendarError:
        return
    for shift in read.shifts:
        assert shift.start < shift.end and shift.person in {"alice", "bob", "chidi"}
