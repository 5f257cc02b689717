"""Gaps are measured against opening hours (weekly or dated) and skip the times a role needs no
cover; calendar shifts are a base layer (closures drop them, covers and time off change them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands.render import describe_entry, render_week
from bot.errors import ConfigError
from bot.platforms import source_platforms
from bot.rota.hours import Hours, parse_opening_hours
from bot.rota.opening import format_gaps, gaps
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.routing.rules import load_rules

RULES = """
default_role = "reference"

[roles.reference]
no_cover = "mon-fri 12:00-13:00; sun 00:00-24:00"
calendar = "https://calendar.example/desk.ics"
[roles.circulation]

[[staff]]
key = "alice"
email = "alice@lib.example"
"""
ZONE = ZoneInfo("Europe/London")
MONDAY = date(2026, 3, 2)
WEEKDAYS = frozenset(range(5))


def rota() -> Rota:
    return Rota(
        zone=ZONE,
        shifts=(
            Shift(1, "reference", "alice", WEEKDAYS, time(9), time(12)),
            Shift(2, "reference", "alice", WEEKDAYS, time(13), time(17)),
            Shift(3, "circulation", "bob", frozenset(range(7)), time(0), time(0)),
        ),
    )


def test_rules_file_reads_no_cover_calendar_and_email() -> None:
    rules = load_rules(RULES, platforms=source_platforms())
    spec = rules.roles["reference"]
    assert spec.calendar == "https://calendar.example/desk.ics"
    assert [(sorted(o.days), o.start, o.end) for o in spec.no_cover] == [
        ([0, 1, 2, 3, 4], time(12), time(13)),
        ([6], time(0), time.max),
    ]
    assert rules.staff[0].email == "alice@lib.example"


def test_a_bad_no_cover_is_one_clear_line() -> None:
    with pytest.raises(ConfigError, match=r"roles\.reference\.no_cover: 'mon 13:00-12:00': the closing time"):
        load_rules(RULES.replace("mon-fri 12:00-13:00", "mon 13:00-12:00"), platforms=source_platforms())


def test_no_gap_at_lunch_or_on_sunday_but_on_saturday() -> None:
    rules = load_rules(RULES, platforms=source_platforms())
    found = gaps(rules, rota(), parse_opening_hours("mon-sun 09:00-17:00"), start=MONDAY, days=7)
    assert [(role, a.date(), a.time(), b.time()) for role, a, b in found] == [
        ("reference", date(2026, 3, 7), time(9), time(17))  # Saturday: needed, nobody
    ]
    assert "reference: Sat 07 Mar 09:00–17:00, nobody on duty" in format_gaps(found)


def test_without_no_cover_lunch_is_a_gap() -> None:
    rules = load_rules(
        RULES.replace('no_cover = "mon-fri 12:00-13:00; sun 00:00-24:00"', ""), platforms=source_platforms()
    )
    found = gaps(rules, rota(), parse_opening_hours("mon-fri 09:00-17:00"), start=MONDAY, days=5)
    assert len(found) == 5 and all((a.time(), b.time()) == (time(12), time(13)) for _, a, b in found)


def test_gaps_follow_dated_hours_over_the_weekly_ones() -> None:
    rules = load_rules(RULES, platforms=source_platforms())
    dated = {
        date(2026, 3, 7): (),  # LibCal: closed on Saturday
        date(2026, 3, 3): ((datetime(2026, 3, 3, 8), datetime(2026, 3, 3, 9)),),  # opens early on Tuesday
    }
    book = Hours(parse_opening_hours("mon-sun 09:00-17:00"), dated)
    found = gaps(rules, rota(), book, start=MONDAY, days=7)
    assert [(a.date(), a.time(), b.time()) for _, a, b in found] == [(date(2026, 3, 3), time(8), time(9))]


def test_calendar_shifts_are_a_base_layer() -> None:
    synced = Override(
        10,
        "reference",
        "alice",
        datetime(2026, 3, 7, 9),
        datetime(2026, 3, 7, 17),
        OverrideKind.ADD,
        synced=True,
    )
    cover = Override(
        5,
        "reference",
        "bob",
        datetime(2026, 3, 7, 10),
        datetime(2026, 3, 7, 11),
        OverrideKind.REPLACE,
        "alice",
    )
    base = Rota(zone=ZONE, overrides=(synced, cover))  # the cover is older than the sync, and still wins
    assert base.on_duty("reference", datetime(2026, 3, 7, 10, 30, tzinfo=ZONE)) == ("bob",)
    assert base.on_duty("reference", datetime(2026, 3, 7, 12, tzinfo=ZONE)) == ("alice",)
    closed = Rota(zone=ZONE, overrides=(synced,), closures=(Closure(1, date(2026, 3, 7)),))
    assert closed.on_duty("reference", datetime(2026, 3, 7, 12, tzinfo=ZONE)) == ()
    week = render_week(base, "reference", MONDAY, {"alice": "Alice"})
    assert "09:00-17:00  Alice (from the calendar)  [#10]" in week
    assert describe_entry(synced, {}) == "alice holds reference Sat 7 Mar 09:00-17:00 (from the calendar)"
    assert synced.label() == "calendar Sat 7 Mar 09:00-17:00"


def test_a_gap_past_midnight_names_the_day_it_ends() -> None:
    start = datetime(2026, 3, 9, 9, tzinfo=UTC)  # a Monday
    found = [
        ("reference", start, start + timedelta(days=2, hours=8)),  # Mon 09:00 to Wed 17:00
        ("tech", start.replace(hour=20), start.replace(hour=0) + timedelta(days=1)),  # to midnight
        ("circulation", start, start.replace(hour=17)),
    ]
    text = format_gaps(found)
    assert "reference: Mon 09 Mar 09:00–Wed 11 Mar 17:00, nobody on duty" in text
    assert "tech: Mon 09 Mar 20:00–24:00, nobody on duty" in text
    assert "circulation: Mon 09 Mar 09:00–17:00, nobody on duty" in text
