"""Timers with a controllable clock: escalation along the chain, reminders, closed-hours queueing
across DST changes, handover digests and coverage gaps. Each ping happens once, not on every tick."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.backoff import Backoff
from bot.config import Settings
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.models import Claim, Mention, Status
from bot.platforms import source_platforms
from bot.rota.opening import format_gaps, gaps, parse_opening_hours
from bot.rota.rota import Rota, Shift
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.rota_repo import sync_roles, sync_staff
from tests.fakes.recording import RecordingDesk

RULES = """
default_role = "reference"
[roles.reference]
sla_minutes = 30
backup = "circulation"
[roles.circulation]
sla_minutes = 20
[[staff]]
key = "alice"
name = "Alice"
slack_user_id = "UALICE"
manager = true
[[staff]]
key = "bob"
name = "Bob"
slack_user_id = "UBOB"
[[staff]]
key = "carol"
name = "Carol"
slack_user_id = "UCAROL"
"""
WEEKDAYS = frozenset(range(5))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def build(
    db: Database, zone: str, start: datetime
) -> tuple[DeskService, Timers, Relay, RecordingDesk, Clock]:
    rules = load_rules(RULES, platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    rota = Rota(
        zone=ZoneInfo(zone),
        shifts=(
            Shift(1, "reference", "bob", WEEKDAYS, time(9), time(17)),
            Shift(2, "circulation", "carol", WEEKDAYS, time(9), time(17)),
        ),
    )
    clock = Clock(start)
    service = DeskService(db, rules=rules, rota=rota, desks=("slack",), clock=clock)
    await service.start()
    settings = Settings(REMIND_AFTER_MINUTES=60, OPENING_HOURS="mon-fri 08:00-18:00")
    desk = RecordingDesk(desk="slack")
    relay = Relay(service, desks={"slack": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
    return service, Timers(service, settings), relay, desk, clock


def mention(n: int, at: datetime) -> Mention:
    return Mention(
        source="fake", external_id=str(n), text="Where are the 1920s flood records?", created_at=at
    )


async def told(relay: Relay, desk: RecordingDesk, about: str = "") -> list[tuple[str, str]]:
    """Deliver queued notices; return (user id, text) of the new ones that contain ``about``."""
    before = len(desk.told)
    while await relay.drain("slack"):
        pass
    return [(who.user_id, text) for who, text in desk.told[before:] if about in text]


MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # London is on GMT in November


async def test_escalation_walks_the_chain_and_pings_once(database: Database) -> None:
    service, timers, relay, desk, clock = await build(database, "Europe/London", MONDAY_10)
    await service.ingest("fake", mention(1, clock.now), None)
    await timers.tick()
    assert await told(relay, desk, "escalated") == []  # within the SLA
    clock.now += timedelta(minutes=31)
    await timers.tick()
    await timers.tick()  # a second tick at the same time pings nobody again
    first = await told(relay, desk, "escalated")
    assert [who for who, _ in first] == ["UCAROL"]
    assert "escalated to you" in first[0][1]
    view = await service.view(1)
    assert view.status is Status.ESCALATED and "Escalated to backup circulation (Carol)" in view.note
    clock.now += timedelta(minutes=29)
    await timers.tick()
    assert await told(relay, desk, "escalated") == []  # the next step waits a full SLA after the last one
    clock.now += timedelta(minutes=2)
    await timers.tick()
    assert [who for who, _ in await told(relay, desk, "escalated")] == ["UALICE"]  # then managers
    clock.now += timedelta(hours=5)
    await timers.tick()
    assert await told(relay, desk, "escalated") == []  # the chain is exhausted: no repeats


async def test_claimed_mention_is_not_escalated_but_reminded_once(database: Database) -> None:
    service, timers, relay, desk, clock = await build(database, "Europe/London", MONDAY_10)
    await service.ingest("fake", mention(1, clock.now), None)
    from .helpers import staff

    bob = staff(1)
    assert (await service.handle(Claim(1, bob))).ok
    clock.now += timedelta(minutes=59)
    await timers.tick()
    assert await told(relay, desk, "#1") == []
    clock.now += timedelta(minutes=2)
    await timers.tick()
    await timers.tick()
    reminders = await told(relay, desk, "#1")
    assert [who for who, _ in reminders] == [bob.user_id]
    assert "no reply yet" in reminders[0][1]
    clock.now += timedelta(hours=3)
    await timers.tick()
    assert await told(relay, desk, "#1") == []
    assert (await service.view(1)).status is Status.CLAIMED


@pytest.mark.parametrize(
    ("zone", "saturday_evening", "monday_nine_utc"),
    [
        # London leaves summer time on Sun 25 Oct 2026: Monday 09:00 is 09:00 UTC, not 08:00
        (
            "Europe/London",
            datetime(2026, 10, 24, 19, 0, tzinfo=UTC),
            datetime(2026, 10, 26, 9, 0, tzinfo=UTC),
        ),
        # New York leaves summer time on Sun 1 Nov 2026: Monday 09:00 is 14:00 UTC, not 13:00
        (
            "America/New_York",
            datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
            datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        ),
    ],
)
async def test_closed_hours_queue_opens_at_shift_start_across_dst(
    database: Database, zone: str, saturday_evening: datetime, monday_nine_utc: datetime
) -> None:
    service, timers, relay, desk, clock = await build(database, zone, saturday_evening)
    await service.ingest("fake", mention(1, clock.now), None)
    view = await service.view(1)
    assert view.status is Status.QUEUED and view.queued_until == monday_nine_utc
    clock.now = monday_nine_utc - timedelta(minutes=1)
    await timers.tick()
    assert (await service.view(1)).status is Status.QUEUED
    assert await told(relay, desk, "#1") == []
    clock.now = monday_nine_utc
    await timers.tick()
    await timers.tick()
    view = await service.view(1)
    assert view.status is Status.POSTED and view.on_duty == ("Bob",)
    pings = [who for who, text in await told(relay, desk) if "waiting for you" in text]
    assert pings == ["UBOB"]
    assert view.note == "Arrived while nobody was on duty."


async def test_handover_digest_once_per_shift(database: Database) -> None:
    service, timers, relay, desk, clock = await build(
        database, "Europe/London", datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    )
    await service.ingest("fake", mention(1, clock.now), None)  # queued before opening
    clock.now = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    await timers.tick()  # opens the queue; the mention is now unclaimed for bob
    await timers.tick()
    digests = [(who, text) for who, text in await told(relay, desk) if text.startswith("Handover")]
    assert [who for who, _ in digests] == ["UBOB", "UCAROL"] or [who for who, _ in digests] == ["UBOB"]
    assert all("#1" in text for _, text in digests)
    # each line says what it is about in plain words: the platform, the patron's words, where it stands
    line = "  #1 · fake: “Where are the 1920s flood records?” · 🆕 Open · "  # "fake" has no display name
    assert all(line in text for _, text in digests)
    assert not any("posted" in text for _, text in digests)
    clock.now += timedelta(minutes=30)
    await timers.tick()
    assert [t for _, t in await told(relay, desk) if t.startswith("Handover")] == []
    clock.now = datetime(2026, 11, 24, 9, 1, tzinfo=UTC)  # next day's shift: a new digest
    await timers.tick()
    assert any(t.startswith("Handover for reference") for _, t in await told(relay, desk))


def test_gaps_are_measured_against_opening_hours() -> None:
    rules = load_rules(RULES, platforms=source_platforms())
    rota = Rota(
        zone=ZoneInfo("Europe/London"), shifts=(Shift(1, "reference", "bob", WEEKDAYS, time(9), time(17)),)
    )
    hours = parse_opening_hours("mon-fri 08:00-18:00; sat 10:00-12:00")
    found = gaps(rules, rota, hours, start=datetime(2026, 11, 23).date(), days=7)
    monday = [(r, a.strftime("%a %H:%M"), b.strftime("%H:%M")) for r, a, b in found if a.day == 23]
    assert monday == [
        ("circulation", "Mon 08:00", "18:00"),
        ("reference", "Mon 08:00", "09:00"),
        ("reference", "Mon 17:00", "18:00"),
    ]
    saturday = [(r, a.strftime("%H:%M"), b.strftime("%H:%M")) for r, a, b in found if a.day == 28]
    assert ("reference", "10:00", "12:00") in saturday  # open Saturday, nobody on
    assert not any(a.day == 29 for _, a, _ in found)  # closed Sunday is not a gap
    assert "nobody on duty" in format_gaps(found)


@pytest.mark.slow
async def test_reminders_reach_new_claims_behind_many_handled_ones(database: Database) -> None:
    """A batch of old, already-reminded claims must not hide a new one (the step's conditions are in SQL)."""
    from sqlalchemy import update

    from bot.store.mention_tables import MentionRow

    from .helpers import staff

    service, timers, relay, desk, clock = await build(database, "Europe/London", MONDAY_10)
    for n in range(1, 603):
        await service.ingest("fake", mention(n, clock.now), None)
    async with database.transaction() as session:  # 600 old claims, all reminded already
        await session.execute(
            update(MentionRow)
            .where(MentionRow.id <= 600)
            .values(status="claimed", assignee="bob", claimed_at=clock.now, reminded_at=clock.now)
        )
    assert (await service.handle(Claim(602, staff(7)))).ok
    clock.now += timedelta(minutes=61)
    await timers.remind(clock.now)
    assert [who for who, _ in await told(relay, desk, "#602")] == [staff(7).user_id]


async def test_cards_show_queue_times_in_the_librarys_zone(database: Database) -> None:
    """Chicago, Saturday 5 Dec 17:00: the card says Monday 09:00 CST like `route`, not 15:00 UTC."""
    from bot.core.cards import console_card
    from bot.platforms.matrix.cards import card_html, card_text

    service, *_ = await build(database, "America/Chicago", datetime(2026, 12, 5, 23, 0, tzinfo=UTC))
    await service.ingest("fake", mention(1, datetime(2026, 12, 5, 23, 0, tzinfo=UTC)), None)
    view = await service.view(1)
    assert view.queued_until == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert "queued until Mon 7 Dec 09:00" in view.reason  # what `route` explains
    for shown in (console_card(view), card_text(view), card_html(view)):
        assert "Mon 7 Dec 09:00 CST" in shown
        assert "15:00" not in shown and "UTC" not in shown
