"""Rota sources benchmark: reading a desk calendar, writing a shifts feed, finding gaps, parsing LibCal.

A year-round desk calendar of 40 weekly series (each with exceptions and a moved occurrence) and 300
one-off events, read for the 8 weeks the sync reads; a 9-week feed for one role of a 25-person rota;
two weeks of gaps for 5 roles; a year of LibCal grid hours.

Run: .venv/bin/python -m bench.rota_sources [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from bot.rota.hours import parse_opening_hours
from bot.rota.ical import read_calendar
from bot.rota.ical_out import rota_feed
from bot.rota.libcal import parse_libcal
from bot.rota.opening import gaps
from bot.rota.rota import Rota, Shift
from bot.routing.rules import RoleSpec, RuleSet, StaffSpec

ZONE = ZoneInfo("Europe/London")
STAFF = tuple(StaffSpec(key=f"p{n}", name=f"Person {n}", email=f"p{n}@lib.example") for n in range(25))
START = date(2026, 3, 2)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def calendar() -> str:
    events = []
    for n in range(40):
        day = START + timedelta(days=n % 7)
        hour = 8 + n % 10
        uid = f"s{n}@bench"
        events.append(
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Desk\r\n"
            f"ATTENDEE:mailto:p{n % 25}@lib.example\r\n"
            f"DTSTART;TZID=Europe/London:{day:%Y%m%d}T{hour:02d}0000\r\n"
            f"DTEND;TZID=Europe/London:{day:%Y%m%d}T{hour + 3:02d}0000\r\n"
            f"RRULE:FREQ=WEEKLY;BYDAY={DAYS[day.weekday()]}\r\n"
            f"EXDATE;TZID=Europe/London:{day + timedelta(days=14):%Y%m%d}T{hour:02d}0000\r\nEND:VEVENT\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Desk (moved)\r\n"
            f"ATTENDEE:mailto:p{n % 25}@lib.example\r\n"
            f"RECURRENCE-ID;TZID=Europe/London:{day + timedelta(days=21):%Y%m%d}T{hour:02d}0000\r\n"
            f"DTSTART;TZID=Europe/London:{day + timedelta(days=22):%Y%m%d}T{hour:02d}0000\r\n"
            f"DTEND;TZID=Europe/London:{day + timedelta(days=22):%Y%m%d}T{hour + 2:02d}0000\r\nEND:VEVENT\r\n"
        )
    for n in range(300):
        at = datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(hours=5 * n)
        events.append(
            f"BEGIN:VEVENT\r\nUID:o{n}@bench\r\nDTSTAMP:20260101T000000Z\r\n"
            f"SUMMARY:Cover - Person {n % 25}\r\n"
            f"DTSTART:{at:%Y%m%dT%H%M%SZ}\r\nDTEND:{at + timedelta(hours=2):%Y%m%dT%H%M%SZ}\r\nEND:VEVENT\r\n"
        )
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def libcal() -> bytes:
    weeks = []
    names = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
    for w in range(52):
        week = {}
        for d, name in enumerate(names):
            day = START + timedelta(days=7 * w + d)
            week[name] = {
                "date": day.isoformat(),
                "times": {"status": "open", "hours": [{"from": "7:45am", "to": "10pm"}]},
            }
        weeks.append(week)
    return json.dumps({"locations": [{"lid": 1, "name": "Main", "weeks": weeks}]}).encode()


def feed(rota: Rota, stamp: datetime) -> bytes:
    return rota_feed(rota, roles=["reference"], start=stamp, days=63, stamp=stamp, names={}, title="t")


def timed(label: str, repeat: int, work: object) -> None:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()  # type: ignore[operator]
        runs.append(time.perf_counter() - began)
    print(f"{label}: median {statistics.median(runs) * 1000:.1f} ms over {repeat} runs ({result})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    text = calendar()
    timed(
        f"read a desk calendar ({len(text) // 1024} KiB), 56 days",
        repeat,
        lambda: f"{len(read_calendar(text, staff=STAFF, zone=ZONE, start=START, days=56).shifts)} shifts",
    )
    roles = ("reference", "circulation", "tech", "social-media", "director")
    shifts = tuple(
        Shift(
            n + 1, roles[n % 5], f"p{n}", frozenset({n % 7, (n + 2) % 7}), clock(8 + n % 8), clock(13 + n % 8)
        )
        for n in range(25)
    )
    rota = Rota(zone=ZONE, shifts=shifts)
    stamp = datetime(2026, 3, 2, tzinfo=UTC)
    timed(
        "write a 63-day feed for one role",
        repeat,
        lambda: f"{len(feed(rota, stamp))} bytes",
    )
    rules = RuleSet(
        rules=(), default_role="reference", roles={r: RoleSpec(key=r) for r in roles}, staff=STAFF
    )
    hours = parse_opening_hours("mon-fri 08:00-20:00; sat 10:00-16:00")
    timed(
        "gaps, 5 roles, 14 days",
        repeat,
        lambda: f"{len(gaps(rules, rota, hours, start=START, days=14))} gaps",
    )
    body = libcal()
    timed(
        f"parse a year of LibCal hours ({len(body) // 1024} KiB)",
        repeat,
        lambda: f"{len(parse_libcal(body, today=START).dated)} days",
    )


if __name__ == "__main__":
    main()
