"""Snooze on real databases with a controllable clock: a snoozed mention is neither reminded nor
escalated, wakes at its time (timers) and on the patron's follow-up (intake), and only its holder
snoozes it; the typed times are read in the library's zone."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.backoff import Backoff
from bot.commands.snooze_spec import SnoozeError, parse_until
from bot.config import Settings
from bot.core.cards import console_card
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.models import Claim, Mention, Reply, Snooze, StaffRef, Status, Wake
from bot.platforms import source_platforms
from bot.rota.rota import Rota, Shift
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.rota_repo import sync_roles, sync_staff
from tests.fakes.recording import RecordingDesk

RULES = """
default_role = "reference"
[roles.reference]
sla_minutes = 30
[[staff]]
key = "alice"
name = "Alice"
slack_user_id = "UALICE"
manager = true
[[staff]]
key = "bob"
name = "Bob"
slack_user_id = "UBOB"
"""
BOB = StaffRef("slack", "UBOB", "bob")
ALICE = StaffRef("slack", "UALICE", "alice")
CHICAGO = ZoneInfo("America/Chicago")
MONDAY_10 = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 10:00 in Chicago


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def build(db: Database) -> tuple[DeskService, Timers, Relay, RecordingDesk, Clock]:
    rules = load_rules(RULES, platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    every = frozenset(range(7))
    rota = Rota(zone=CHICAGO, shifts=(Shift(1, "reference", "bob", every, time(0), time(0)),))
    clock = Clock(MONDAY_10)
    service = DeskService(db, rules=rules, rota=rota, desks=("slack",), clock=clock)
    await service.start()
    settings = Settings(REMIND_AFTER_MINUTES=60)
    desk = RecordingDesk(desk="slack")
    relay = Relay(service, desks={"slack": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
    return service, Timers(service, settings), relay, desk, clock


def mention(n: int, *, follows: tuple[str, ...] = ()) -> Mention:
    return Mention(
        source="fake",
        external_id=str(n),
        text=f"Question {n}",
        created_at=MONDAY_10,
        author_id="pat",
        follows=follows,
    )


async def told(relay: Relay, desk: RecordingDesk, about: str = "") -> list[tuple[str, str]]:
    before = len(desk.told)
    while await relay.drain("slack"):
        pass
    return [(who.user_id, text) for who, text in desk.told[before:] if about in text]


async def test_a_timed_snooze_is_not_reminded_and_wakes_at_its_time(database: Database) -> None:
    service, timers, relay, desk, clock = await build(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, BOB))).ok
    result = await service.handle(Snooze(1, BOB, "3h"))
    assert result.ok and result.view is not None
    assert result.view.status is Status.SNOOZED
    assert "Snoozed until Mon 23 Nov 13:00 CST" in console_card(result.view)  # the library's zone
    clock.now += timedelta(hours=2)  # past the reminder time (60 min)
    await timers.tick()
    assert await told(relay, desk, "Reminder") == []
    assert (await service.view(1)).status is Status.SNOOZED
    clock.now += timedelta(hours=1)
    await timers.tick()
    await timers.tick()  # a second tick wakes nothing twice
    woken = await told(relay, desk, "back with you")
    assert woken == [("UBOB", "#1 (reference) was snoozed until now and is back with you.")]
    view = await service.view(1)
    assert view.status is Status.CLAIMED and view.snoozed_until is None and view.assignee == "Bob"
    clock.now += timedelta(hours=2)  # awake again, the claim is reminded as any other
    await timers.tick()
    assert [who for who, _ in await told(relay, desk, "Reminder")] == ["UBOB"]


async def test_a_snooze_until_the_patron_wakes_on_their_follow_up_only(database: Database) -> None:
    service, timers, relay, desk, clock = await build(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, BOB))).ok
    assert (await service.handle(Reply(1, BOB, "Which branch do you mean?"))).ok
    result = await service.handle(Snooze(1, BOB, "patron"))
    assert result.ok and result.message == "#1: Snoozed until the patron answers."
    clock.now += timedelta(days=5)  # no time wakes it, nothing escalates or reminds
    await timers.tick()
    assert await told(relay, desk, "escalated") == [] and await told(relay, desk, "Reminder") == []
    assert (await service.view(1)).status is Status.SNOOZED
    await service.ingest("fake", mention(2, follows=("1",)), None)  # the patron answers
    view = await service.view(1)
    assert view.status is Status.CLAIMED and view.assignee == "Bob" and "Question 2" in view.text


async def test_only_the_holder_snoozes_and_only_held_mentions(database: Database) -> None:
    service, _, _, _, _ = await build(database)
    await service.ingest("fake", mention(1), None)
    refused = await service.handle(Snooze(1, BOB, "2h"))
    assert not refused.ok and "Claim it first" in refused.message
    assert (await service.handle(Claim(1, BOB))).ok
    other = await service.handle(Snooze(1, ALICE, "2h"))
    assert not other.ok and "held by Bob" in other.message
    bad = await service.handle(Snooze(1, BOB, "someday"))
    assert not bad.ok and "snooze 3 2h" in bad.message
    assert (await service.view(1)).status is Status.CLAIMED
    assert (await service.handle(Snooze(1, BOB, "2h"))).ok
    assert not (await service.handle(Wake(1, ALICE))).ok
    assert (await service.handle(Wake(1, BOB))).ok
    assert (await service.view(1)).status is Status.CLAIMED


async def test_snoozing_at_once_has_one_outcome(database: Database) -> None:
    """The holder's snooze from two desks at once, and a wake racing it: one winner each time."""
    service, _, _, _, _ = await build(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, BOB))).ok
    results = await asyncio.gather(*(service.handle(Snooze(1, BOB, f"{h}h")) for h in (1, 2, 3, 4)))
    assert sum(r.ok for r in results) == 1
    assert all("Cannot snooze #1" in r.message for r in results if not r.ok)
    woken = await asyncio.gather(service.handle(Wake(1, BOB)), service.handle(Wake(1, BOB)))
    assert sorted(r.ok for r in woken) == [False, True]


NOW = datetime(2026, 3, 7, 15, 30, tzinfo=CHICAGO)  # the Saturday before the DST change


def test_typed_times_in_the_library_zone() -> None:
    assert parse_until("patron", NOW) is None
    assert parse_until("2h", NOW) == NOW + timedelta(hours=2)
    assert parse_until("45m", NOW) == NOW + timedelta(minutes=45)
    assert parse_until("tomorrow 09:00", NOW) == datetime(2026, 3, 8, 9, 0, tzinfo=CHICAGO)
    assert parse_until("tomorrow", NOW) == datetime(2026, 3, 8, 9, 0, tzinfo=CHICAGO)
    assert parse_until("09:00", NOW) == datetime(2026, 3, 8, 9, 0, tzinfo=CHICAGO)  # passed today
    assert parse_until("mon 08:30", NOW) == datetime(2026, 3, 9, 8, 30, tzinfo=CHICAGO)
    assert parse_until("tomorrow 09:00", NOW).utcoffset() == timedelta(hours=-5)  # type: ignore[union-attr]
    for bad in ("yesterday 09:00", "today 10:00", "2026-01-01 09:00", "91d", "0h", "x y z", "25:00"):
        with pytest.raises(SnoozeError):
            parse_until(bad, NOW)


@given(st.text(max_size=60))
def test_any_typed_text_is_a_time_ahead_or_a_plain_refusal(text: str) -> None:
    message = ""
    until = None
    try:
        until = parse_until(text, NOW)
    except SnoozeError as exc:
        message = str(exc)
    if message:
        assert "snooze 3" in message  # a refusal always says how to write it
    else:
        assert until is None or NOW < until <= NOW + timedelta(days=90)


def test_snoozed_mentions_stay_out_of_the_reminder_and_escalation_queries() -> None:
    """The timers' selections name their statuses; snoozed is in none of them."""
    from bot.domain.transitions import OPEN, Transition, allowed_from

    assert Status.SNOOZED not in allowed_from(Transition.ESCALATE) | allowed_from(Transition.REMIND)
    assert Status.SNOOZED not in OPEN
