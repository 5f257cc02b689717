"""Shift check-in with a controllable clock: asked at the shift's start, no answer -> the backup is asked
-> the staff channel is asked and managers told -> `take` fills the gap; each step once, across ticks,
restarts and a second service; only the person on the rota answers; only someone who works the role takes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.backoff import Backoff
from bot.config import Settings
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.core.timers import Timers
from bot.models import CheckIn, RotaCommand, StaffRef
from bot.platforms import source_platforms
from bot.rota.rota import Rota, Shift
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.rota_repo import add_weekly, load_rota, sync_roles, sync_staff
from tests.fakes.recording import RecordingDesk

RULES = """
default_role = "reference"
[roles.reference]
backup = "circulation"
[roles.circulation]
[[staff]]
key = "alice"
name = "Alice"
manager = true
[[staff]]
key = "bob"
name = "Bob"
[[staff]]
key = "carol"
name = "Carol"
[[staff]]
key = "dave"
name = "Dave"
[[staff]]
key = "erin"
name = "Erin"
"""
WEEKDAYS = frozenset(range(5))
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # London is on GMT in November


@dataclass
class CheckinDesk(RecordingDesk):
    """A console-like desk that records check-in questions and staff-channel posts."""

    asked: list[tuple[str, int]] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)

    async def ask_checkin(self, who: StaffRef, text: str, *, checkin_id: int, key: str) -> None:
        self.asked.append((who.user_id, checkin_id))

    async def announce(self, text: str) -> None:
        self.announced.append(text)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    service: DeskService
    timers: Timers
    relay: Relay
    desk: CheckinDesk
    clock: Clock

    async def tick(self, minutes: float = 0) -> None:
        self.clock.now += timedelta(minutes=minutes)
        await self.timers.tick()
        while await self.relay.drain("console"):
            pass

    def told(self, about: str) -> list[str]:
        return [who.user_id for who, text in self.desk.told if about in text]

    async def act(self, action: object) -> tuple[bool, str]:
        result = await self.service.handle(action)  # type: ignore[arg-type]
        while await self.relay.drain("console"):
            pass
        return result.ok, result.message


async def seed(db: Database, text: str = RULES) -> None:
    rules = load_rules(text, platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
        add_weekly(session, role="reference", person="bob", days=WEEKDAYS, start=time(9), end=time(17))
        add_weekly(session, role="circulation", person="carol", days=WEEKDAYS, start=time(8), end=time(17))
        add_weekly(
            session, role="reference", person="dave", days=frozenset({5}), start=time(10), end=time(14)
        )


async def world(
    db: Database, now: datetime, *, desk: CheckinDesk | None = None, minutes: int = 10, text: str = RULES
) -> World:
    rules = load_rules(text, platforms=source_platforms())
    async with db.transaction() as session:
        rota = await load_rota(session, ZoneInfo("Europe/London"), rules.places())
    clock = Clock(now)
    service = DeskService(db, rules=rules, rota=rota, desks=("console",), clock=clock)
    service.checkin_minutes = minutes
    await service.start()
    settings = Settings(CHECKIN_MINUTES=minutes)
    desk = desk or CheckinDesk(desk="console")
    relay = Relay(service, desks={"console": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
    return World(service, Timers(service, settings), relay, desk, clock)


def console(key: str) -> StaffRef:
    return StaffRef("console", key, key.title())


async def test_no_answer_asks_backup_then_channel_then_take_fills_each_step_once(database: Database) -> None:
    await seed(database)
    w = await world(database, MONDAY_9)
    await w.tick()
    await w.tick()  # a second tick at the same instant asks nobody again
    assert [who for who, _ in w.desk.asked] == ["bob"]
    checkin_id = w.desk.asked[0][1]
    await w.tick(9)
    assert w.told("can you cover") == []  # still within CHECKIN_MINUTES
    await w.tick(1)
    await w.tick()
    assert w.told("can you cover") == ["carol"]  # the backup role's person, once
    assert w.desk.announced == []
    await w.tick(9)
    assert w.desk.announced == []
    await w.tick(1)
    await w.tick(1)
    assert len([t for t in w.desk.announced if "needs cover" in t]) == 1
    assert f"take {checkin_id}" in w.desk.announced[0]
    assert w.told("the staff channel was asked") == ["alice"]  # managers told, once

    assert (await w.act(RotaCommand(console("erin"), "take")))[0] is False  # does not work reference
    ok, said = await w.act(RotaCommand(console("dave"), f"take {checkin_id}"))
    assert ok, said
    assert "instead of Bob" in said
    assert w.service.rota.on_duty("reference", w.clock.now) == ("dave",)
    assert w.told("covers reference for you") == ["bob"]
    assert any("is covered: Dave" in t for t in w.desk.announced)
    again, said = await w.act(RotaCommand(console("carol"), f"take {checkin_id}"))
    assert not again and "No open shift" in said  # filled: a second taker changes nothing
    before = (len(w.desk.asked), len(w.desk.told), len(w.desk.announced))
    await w.tick(1)  # Dave's cover is an arrival: he took it, so he is not asked to check in
    await w.tick(30)
    assert (len(w.desk.asked), len(w.desk.told), len(w.desk.announced)) == before


async def test_a_restart_between_steps_repeats_none_and_skips_none(database: Database) -> None:
    await seed(database)
    first = await world(database, MONDAY_9)
    await first.tick()
    await first.tick(10)
    assert first.told("can you cover") == ["carol"]
    # a new process on the same database (same desk, so what it sends lands in the same record)
    second = await world(database, first.clock.now, desk=first.desk)
    await second.tick()
    await second.tick(5)
    assert [who for who, _ in second.desk.asked] == ["bob"]
    assert second.told("can you cover") == ["carol"]
    assert second.desk.announced == []
    await second.tick(5)
    await first.tick(10)  # the first process catches up: the channel step already happened
    assert len([t for t in second.desk.announced if "needs cover" in t]) == 1
    assert second.told("the staff channel was asked") == ["alice"]


async def test_only_the_rostered_person_answers_and_on_desk_stops_the_steps(database: Database) -> None:
    await seed(database)
    w = await world(database, MONDAY_9)
    await w.tick()
    checkin_id = w.desk.asked[0][1]
    ok, said = await w.act(CheckIn(console("carol"), here=True, checkin_id=checkin_id))
    assert not ok and "only they can answer" in said
    ok, said = await w.act(CheckIn(console("bob"), here=True, checkin_id=checkin_id))
    assert ok and "checked in" in said
    await w.tick(10)
    await w.tick(10)
    assert w.told("can you cover") == [] and w.desk.announced == []
    ok, said = await w.act(RotaCommand(console("dave"), "take"))
    assert not ok and "No shift needs cover" in said


async def test_need_cover_asks_the_backup_at_once(database: Database) -> None:
    await seed(database)
    w = await world(database, MONDAY_9)
    await w.tick(1)
    ok, said = await w.act(CheckIn(console("bob"), here=False))  # typed: their own open check-in
    assert ok, said
    assert w.told("asked for cover") == ["carol"]
    await w.tick(9)
    assert w.told("can you cover") == ["carol"]  # not asked again at the first deadline
    ok, said = await w.act(CheckIn(console("bob"), here=False))
    assert "already being found" in said
    await w.tick(1)
    assert len([t for t in w.desk.announced if "needs cover" in t]) == 1


async def test_check_in_is_off_unless_configured(database: Database) -> None:
    await seed(database)
    w = await world(database, MONDAY_9, minutes=0)
    await w.tick()
    await w.tick(30)
    assert w.desk.asked == [] and w.told("cover") == [] and w.desk.announced == []
    assert Settings().CHECKIN_MINUTES == 0
    assert Settings(CHECKIN_MINUTES="off").CHECKIN_MINUTES == 0


async def test_a_restart_mid_shift_asks_nobody(database: Database) -> None:
    await seed(database)
    w = await world(database, MONDAY_9 + timedelta(hours=2))
    await w.tick()
    assert w.desk.asked == []


def test_shift_end_follows_the_rota() -> None:
    from bot.core.checkin import shift_end

    rota = Rota(
        zone=ZoneInfo("Europe/London"),
        shifts=(
            Shift(1, "reference", "bob", WEEKDAYS, time(9), time(13)),
            Shift(2, "reference", "bob", WEEKDAYS, time(13), time(17)),
        ),
    )
    assert shift_end(rota, "reference", "bob", MONDAY_9) == MONDAY_9 + timedelta(hours=8)


async def test_two_processes_holding_the_same_due_row_take_its_step_once(database: Database) -> None:
    from bot.core import checkin
    from bot.store import checkins
    from bot.store.checkins import Step

    await seed(database)
    w = await world(database, MONDAY_9)
    await w.tick()
    w.clock.now += timedelta(minutes=10)
    async with database.transaction() as session:
        (row,) = await checkins.due(session, now=w.clock.now)  # both processes read it before either moved it

    async def step() -> bool:
        async with database.transaction() as session:
            return await checkin._need_cover(
                w.service.context, session, row, now=w.clock.now, from_=(Step.ASKED,), answer=""
            )

    assert [await step(), await step()] == [True, False]
    while await w.relay.drain("console"):
        pass
    assert w.told("can you cover") == ["carol"]


async def test_a_typed_answer_answers_every_open_check_in_of_its_person(database: Database) -> None:
    await seed(database)
    async with database.transaction() as session:  # Bob holds circulation too, from the same minute
        add_weekly(session, role="circulation", person="bob", days=WEEKDAYS, start=time(9), end=time(12))
    w = await world(database, MONDAY_9)
    await w.tick()
    assert sorted(who for who, _ in w.desk.asked) == ["bob", "bob"]
    ok, said = await w.act(CheckIn(console("bob"), here=True))
    assert ok and said.count("checked in") == 2
    await w.tick(30)
    assert w.told("can you cover") == [] and w.desk.announced == []


HARBOR = RULES.replace(
    "[roles.reference]",
    '[branches.harbor]\nname = "Harbor"\ntimezone = "America/New_York"\n[roles.reference]\nbranch = "harbor"',
).replace("[roles.circulation]", '[roles.circulation]\nbranch = "harbor"')


async def test_a_branch_in_another_zone_asks_and_covers_in_its_own_hours(database: Database) -> None:
    """The library is in London; the desk's branch in New York: Bob's 09:00-17:00 there is 14:00-22:00 UTC."""
    await seed(database, HARBOR)
    w = await world(database, MONDAY_9, text=HARBOR)
    await w.tick()
    assert w.desk.asked == []  # 09:00 in London is 04:00 in New York
    w.clock.now = MONDAY_9 + timedelta(hours=5)
    await w.tick()
    assert [who for who, _ in w.desk.asked] == ["bob"]
    checkin_id = w.desk.asked[0][1]
    ok, said = await w.act(CheckIn(console("bob"), here=False, checkin_id=checkin_id))
    assert ok, said
    ok, said = await w.act(RotaCommand(console("dave"), f"take {checkin_id}"))
    assert ok, said
    assert "17:00" in said  # the end of Bob's shift in the branch's zone
    assert w.service.rota.on_duty("reference", w.clock.now) == ("dave",)
    assert w.service.rota.on_duty("reference", MONDAY_9 + timedelta(hours=12, minutes=59)) == ("dave",)
    assert w.service.rota.on_duty("reference", MONDAY_9 + timedelta(hours=13, minutes=1)) == ()
