"""Two branches, Europe/London and America/New_York, with a controllable clock across both 2026 DST
changes: routing, the queue of a closed branch, the ping and handover digest when it opens, the card's
times, and reports per branch (waits in each branch's own opening hours and zone).

2026 changes (UTC): New York 8 Mar 07:00 and 1 Nov 06:00; London 29 Mar 01:00 and 25 Oct 01:00.
Instants are written in UTC so the expectations do not depend on the code under test.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.backoff import Backoff
from bot.config import Settings
from bot.core.cards import console_card
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.models import Claim, Mention, StaffRef, Status
from bot.platforms import source_platforms
from bot.platforms.matrix.cards import card_html, card_text
from bot.reports.branches import branch_report, per_branch_lines
from bot.rota.rota import Rota, Shift
from bot.routing.rules import RuleSet, load_rules
from bot.store.db import Database
from bot.store.rota_repo import load_rota, sync_roles, sync_staff
from tests.fakes.recording import RecordingDesk

RULES = """
default_role = "ldn"
[branches.central]
name = "Central"
timezone = "Europe/London"
opening_hours = "mon-fri 09:00-17:00"
[branches.harbor]
name = "Harbor"
timezone = "America/New_York"
opening_hours = "mon-fri 09:00-17:00"
[roles.ldn]
branch = "central"
[roles.nyc]
branch = "harbor"
[[rules]]
name = "harbor"
role = "nyc"
keywords = ["harbor"]
[[staff]]
key = "alice"
name = "Alice"
slack_user_id = "UALICE"
[[staff]]
key = "bob"
name = "Bob"
slack_user_id = "UBOB"
"""
WEEKDAYS = frozenset(range(5))
ALICE, BOB = StaffRef("slack", "UALICE", "Alice"), StaffRef("slack", "UBOB", "Bob")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


async def build(
    db: Database, start: datetime
) -> tuple[DeskService, Timers, Relay, RecordingDesk, Clock, RuleSet]:
    """Alice holds the Central desk, Bob the Harbor desk (and Saturdays at Central: two branches)."""
    rules = load_rules(RULES, platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    rota = Rota(
        zone=ZoneInfo("UTC"),  # LIBRARY_TIMEZONE: neither branch's
        shifts=(
            Shift(1, "ldn", "alice", WEEKDAYS, time(9), time(17)),
            Shift(2, "nyc", "bob", WEEKDAYS, time(9), time(17)),
            Shift(3, "ldn", "bob", frozenset({5}), time(10), time(16)),
        ),
        places=rules.places(),
    )
    clock = Clock(start)
    service = DeskService(db, rules=rules, rota=rota, desks=("slack",), clock=clock)
    await service.start()
    settings = Settings(REMIND_AFTER_MINUTES=600)
    desk = RecordingDesk(desk="slack")
    relay = Relay(service, desks={"slack": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
    return service, Timers(service, settings), relay, desk, clock, rules


def mention(n: int, at: datetime, text: str) -> Mention:
    return Mention(source="fake", external_id=str(n), text=text, created_at=at)


async def told(relay: Relay, desk: RecordingDesk) -> list[tuple[str, str]]:
    before = len(desk.told)
    while await relay.drain("slack"):
        pass
    return [(who.user_id, text) for who, text in desk.told[before:]]


# (what, arrives, opens (UTC), who is pinged, the card's local time): the desk's own 09:00 each time
CASES = [
    # 9 Mar: New York on EDT already, London on GMT (4 hours apart)
    ("harbor hours?", utc(2026, 3, 9, 12, 30), utc(2026, 3, 9, 13), "UBOB", "Mon 9 Mar 09:00 EDT"),
    ("hello", utc(2026, 3, 9, 8, 30), utc(2026, 3, 9, 9), "UALICE", "Mon 9 Mar 09:00 GMT"),
    # 30 Mar: London on BST too (5 hours apart)
    ("hello", utc(2026, 3, 30, 7, 30), utc(2026, 3, 30, 8), "UALICE", "Mon 30 Mar 09:00 BST"),
    ("harbor hours?", utc(2026, 3, 30, 12, 30), utc(2026, 3, 30, 13), "UBOB", "Mon 30 Mar 09:00 EDT"),
    # 26 Oct: London back on GMT, New York still on EDT
    ("hello", utc(2026, 10, 26, 8, 30), utc(2026, 10, 26, 9), "UALICE", "Mon 26 Oct 09:00 GMT"),
    ("harbor hours?", utc(2026, 10, 26, 12, 30), utc(2026, 10, 26, 13), "UBOB", "Mon 26 Oct 09:00 EDT"),
    # 2 Nov: New York on EST
    ("harbor hours?", utc(2026, 11, 2, 13, 30), utc(2026, 11, 2, 14), "UBOB", "Mon 2 Nov 09:00 EST"),
    # Saturday 31 Oct: Bob holds the Central desk 10:00-16:00 London time (GMT)
    ("hello", utc(2026, 10, 31, 9), utc(2026, 10, 31, 10), "UBOB", "Sat 31 Oct 10:00 GMT"),
]


@pytest.mark.parametrize(("text", "arrives", "opens", "who", "shown"), CASES)
async def test_a_closed_branch_queues_until_its_own_opening_across_dst(
    database: Database, text: str, arrives: datetime, opens: datetime, who: str, shown: str
) -> None:
    service, timers, relay, desk, clock, _ = await build(database, arrives)
    await service.ingest("fake", mention(1, arrives, text), None)
    view = await service.view(1)
    assert view.status is Status.QUEUED and view.queued_until == opens
    where = "Harbor" if "harbor" in text else "Central"
    assert f"at {where};" in view.reason and view.reason.endswith(f"queued until {shown}")
    for shown_card in (console_card(view), card_text(view), card_html(view)):
        card = shown_card.replace("\u2068", "").replace("\u2069", "")  # Matrix isolates names
        assert shown in card and f" at {where}" in card  # the branch's time and zone; which branch
    clock.now = opens - timedelta(minutes=1)
    await timers.tick()
    assert (await service.view(1)).status is Status.QUEUED
    assert await told(relay, desk) == []
    clock.now = opens + timedelta(minutes=1)
    await timers.tick()
    await timers.tick()
    assert (await service.view(1)).status is Status.POSTED
    notices = await told(relay, desk)
    assert [w for w, t in notices if "waiting for you" in t] == [who]
    digests = [(w, t) for w, t in notices if t.startswith("Handover")]
    role = "nyc" if where == "Harbor" else "ldn"
    assert digests == [(who, digests[0][1])] and digests[0][1].startswith(
        f"Handover for {role} at {where}: 1 waiting."
    )


async def test_the_other_branch_is_not_held_up(database: Database) -> None:
    """13:30 UTC on 2 Nov: Central is open (GMT) while Harbor (EST) has not opened yet."""
    service, _, _, _, clock, _ = await build(database, utc(2026, 11, 2, 13, 30))
    await service.ingest("fake", mention(1, clock.now, "hello"), None)
    await service.ingest("fake", mention(2, clock.now, "harbor?"), None)
    central = await service.view(1)
    assert central.on_duty == ("Alice",) and central.branch == "Central"
    assert "role ldn at Central · rule default" in console_card(central)
    assert (await service.view(2)).status is Status.QUEUED


async def test_escalation_follows_each_branch_backup_in_its_own_hours(database: Database) -> None:
    """Harbor's backup is Central. 30 Mar: London on BST, so Central's desk closes at 16:00 UTC."""
    service, timers, relay, desk, clock, _ = await build(database, utc(2026, 3, 30, 14, 30))
    service.rules = load_rules(
        RULES.replace('[roles.nyc]\nbranch = "harbor"', '[roles.nyc]\nbranch = "harbor"\nbackup = "ldn"'),
        platforms=source_platforms(),
    )
    await service.ingest("fake", mention(1, clock.now, "harbor?"), None)  # 10:30 in New York: Bob
    await told(relay, desk)  # the card is posted
    clock.now += timedelta(minutes=31)  # 16:01 in London: Alice still holds Central's desk
    await timers.tick()
    pinged = [(w, t) for w, t in await told(relay, desk) if "escalated to you" in t]
    assert [w for w, _ in pinged] == ["UALICE"]
    assert (await service.view(1)).note.startswith("Escalated to backup ldn (Alice)")
    clock.now = utc(2026, 3, 30, 15, 35)
    await service.ingest("fake", mention(2, clock.now, "harbor?"), None)
    await told(relay, desk)
    clock.now = utc(2026, 3, 30, 16, 6)  # 17:06 in London: nobody at Central, no managers here
    await timers.tick()
    assert [w for w, t in await told(relay, desk) if "#2" in t and "escalated" in t] == []
    assert (await service.view(2)).status is Status.POSTED


async def test_reports_count_and_wait_per_branch_in_its_own_hours(database: Database) -> None:
    """Waits count only the branch's own opening minutes, in its zone, across both DST changes."""
    service, _, _, _, clock, rules = await build(database, utc(2026, 3, 6, 21))
    arrivals = [
        # Harbor: Fri 6 Mar 16:00 EST → Mon 9 Mar 09:30 EDT: 60 + 30 = 90 open minutes
        (1, "harbor?", utc(2026, 3, 6, 21), utc(2026, 3, 9, 13, 30), BOB),
        # Harbor: Fri 30 Oct 16:30 EDT → Mon 2 Nov 09:15 EST: 30 + 15 = 45
        (2, "harbor?", utc(2026, 10, 30, 20, 30), utc(2026, 11, 2, 14, 15), BOB),
        # Central: Fri 27 Mar 16:30 GMT → Mon 30 Mar 09:30 BST: 30 + 30 = 60
        (3, "hello", utc(2026, 3, 27, 16, 30), utc(2026, 3, 30, 8, 30), ALICE),
        # Central: Fri 23 Oct 16:45 BST → Mon 26 Oct 09:10 GMT: 15 + 10 = 25
        (4, "hello", utc(2026, 10, 23, 15, 45), utc(2026, 10, 26, 9, 10), ALICE),
    ]
    for n, text, received, _, _ in arrivals:
        clock.now = received
        await service.ingest("fake", mention(n, received, text), None)
    for n, _, _, claimed, person in sorted(arrivals, key=lambda a: a[3]):
        clock.now = claimed
        assert (await service.handle(Claim(n, person))).ok
    harbor = await branch_report(
        database, rules, rules.branches["harbor"], since=date(2026, 3, 1), until=date(2026, 11, 30)
    )
    central = await branch_report(
        database, rules, rules.branches["central"], since=date(2026, 3, 1), until=date(2026, 11, 30)
    )
    assert (harbor.total, harbor.by_role, harbor.claim_median) == (2, {"nyc": 2}, 67.5)
    assert (central.total, central.by_role, central.claim_median) == (2, {"ldn": 2}, 42.5)
    lines = await per_branch_lines(
        database, rules, since=date(2026, 3, 1), until=date(2026, 11, 30), hours=(), zone=ZoneInfo("UTC")
    )
    tail = "first reply median -, unanswered 2"
    assert lines[1:] == [
        f"  Central (Europe/London): 2 mentions, first claim median 42 min, {tail}",
        f"  Harbor (America/New_York): 2 mentions, first claim median 68 min, {tail}",
    ]
    # a branch's days are its own: Harbor's Fri 6 Mar 16:00 is not in a report of 7 March onwards
    later = await branch_report(
        database, rules, rules.branches["harbor"], since=date(2026, 3, 7), until=date(2026, 3, 31)
    )
    assert later.total == 0


async def test_the_rota_keeps_its_places_when_reloaded(database: Database) -> None:
    service, *_ = await build(database, utc(2026, 3, 9, 12))
    async with database.transaction() as session:
        await service.reload_rota(session)
        assert service.rota.zone_of("nyc") == ZoneInfo("America/New_York")
        fresh = await load_rota(session, ZoneInfo("UTC"), service.rules.places())
    assert fresh.places == service.rota.places


LIBCAL = {
    "locations": [
        {
            "lid": 3,
            "name": "Harbor",
            "weeks": [
                {
                    "Monday": {
                        "date": "2026-03-09",
                        "times": {"status": "open", "hours": [{"from": "9am", "to": "1pm"}]},
                    },
                    "Tuesday": {"date": "2026-03-10", "times": {"status": "closed"}},
                }
            ],
        }
    ]
}


async def test_a_branch_reads_its_own_libcal_hours_for_gaps(database: Database) -> None:
    """Harbor's LibCal says Monday 09:00-13:00 and Tuesday closed; Central keeps its weekly hours."""
    from bot.config import Settings
    from bot.core.rota_sync import branch_refreshers, rota_parts
    from bot.models import RotaCommand

    service, *_ = await build(database, utc(2026, 3, 9, 0))
    harbor = service.rules.branches["harbor"]
    service.rules = load_rules(
        RULES.replace('timezone = "America/New_York"', 'timezone = "America/New_York"\nhours_url = "x"'),
        platforms=source_platforms(),
    )
    service.held.rota = Rota(zone=ZoneInfo("UTC"), places=service.rules.places())  # nobody on duty
    asked: list[str] = []

    async def fetch(url: str) -> bytes:
        asked.append(url)
        return json.dumps(LIBCAL).encode()

    [refresher] = branch_refreshers(service, fetch=fetch)
    assert await refresher.refresh_once() and asked == ["x"]
    assert service.dated_hours is None and service.branch_hours["harbor"].on(date(2026, 3, 10)) == []
    assert "rota:hours:harbor" in rota_parts(service, Settings())
    answer = await service.handle(RotaCommand(ALICE, "gaps", is_manager=True))
    assert "  nyc at Harbor: Mon 09 Mar 09:00–13:00 EDT, nobody on duty" in answer.message
    assert "nyc at Harbor: Tue 10 Mar" not in answer.message
    assert "  ldn at Central: Tue 10 Mar 09:00–17:00 GMT, nobody on duty" in answer.message
    assert harbor.hours_url == ""  # the first rules had none


def test_rota_now_show_and_roles_say_the_branch_and_its_zone() -> None:
    from bot.commands.render import render_now, render_roles, render_week

    rules = load_rules(RULES, platforms=source_platforms())
    rota = Rota(
        zone=ZoneInfo("UTC"),
        shifts=(Shift(2, "nyc", "bob", WEEKDAYS, time(9), time(17)),),
        places=rules.places(),
    )
    now = render_now(rota, rules, utc(2026, 3, 9, 12, 30))
    assert "  nyc (Harbor, 08:30 EDT)   nobody (queued until Mon 9 Mar 09:00)" in now
    week = render_week(rota, "nyc", date(2026, 3, 9), rules.names())
    assert week.splitlines()[0].endswith("(times in America/New_York, Harbor)")
    every = render_week(rota, None, date(2026, 3, 9), rules.names())
    assert every.splitlines()[0].endswith("(times in UTC; ldn in Europe/London, nyc in America/New_York)")
    assert "at Harbor (America/New_York)" in render_roles(rules)


ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//t//EN\r
BEGIN:VEVENT\r
UID:a@t\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Desk - Bob\r
DTSTART;TZID=America/New_York:20260309T090000\r
DTEND;TZID=America/New_York:20260309T120000\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def test_a_branch_role_calendar_is_read_in_the_branch_zone(database: Database, tmp_path: Path) -> None:
    """The event is 09:00-12:00 in New York (13:00-16:00 UTC on 9 March): so is the shift."""
    from bot.core.rota_sync import CalendarSync

    (tmp_path / "harbor.ics").write_text(ICS)
    service, *_ = await build(database, utc(2026, 3, 9, 0))
    text = RULES.replace(
        '[roles.nyc]\nbranch = "harbor"',
        f'[roles.nyc]\nbranch = "harbor"\ncalendar = "{tmp_path}/harbor.ics"',
    )
    service.rules = load_rules(text, platforms=source_platforms())
    async with database.transaction() as session:
        await sync_roles(session, service.rules)
    lines = await CalendarSync(service, days=7).sync_all()  # reads the file
    assert lines == ["nyc: 1 shift(s), 1 new, 0 gone, 0 unknown"]
    rota = service.rota
    assert rota.duty("nyc", utc(2026, 3, 9, 13)) == (("bob", "calendar Mon 9 Mar 09:00-12:00"),)
    assert rota.on_duty("nyc", utc(2026, 3, 9, 12, 59)) == ()
    assert rota.on_duty("nyc", utc(2026, 3, 9, 15, 59)) == ("bob",)
    assert rota.on_duty("nyc", utc(2026, 3, 9, 16)) == ()


async def test_a_saved_answer_gives_the_hours_of_the_mention_branch(database: Database) -> None:
    from bot.core.reply_text import hours_on
    from bot.rota.hours import Hours
    from bot.rota.opening import parse_opening_hours

    service, *_ = await build(database, utc(2026, 3, 9, 12))
    service.opening_hours = parse_opening_hours("mon-fri 08:00-20:00")
    service.branch_hours["harbor"] = Hours(service.rules.branches["harbor"].weekly, {date(2026, 3, 10): ()})
    ctx = service.context
    assert hours_on(ctx, date(2026, 3, 9), "ldn") == "09:00-17:00"  # Central's weekly hours
    assert hours_on(ctx, date(2026, 3, 10), "nyc") == "closed"  # Harbor's LibCal day
    assert hours_on(ctx, date(2026, 3, 9), "nyc") == "09:00-17:00"
    assert hours_on(ctx, date(2026, 3, 9)) == "08:00-20:00"  # no role: the library's OPENING_HOURS
