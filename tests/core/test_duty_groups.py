"""Duty user groups follow the rota: one update per change of holders, however many processes tick; an
empty role keeps the group's last people; the update reads the holders when it runs, not when queued."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.backoff import Backoff
from bot.core import duty_groups
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.platforms import source_platforms
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.rota_repo import add_weekly, load_rota, sync_roles, sync_staff
from tests.fakes.recording import RecordingDesk

RULES = """
default_role = "reference"
[roles.reference]
slack_usergroup = "reference-desk"
[roles.tech]
[[staff]]
key = "bob"
slack_user_id = "UBOB"
[[staff]]
key = "dave"
slack_user_id = "UDAVE"
"""
MONDAY_8 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass
class GroupDesk(RecordingDesk):
    groups: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    async def set_duty_group(self, group: str, users: Sequence[str]) -> None:
        self.groups.append((group, tuple(users)))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def service_on(db: Database, clock: Clock) -> DeskService:
    rules = load_rules(RULES, platforms=source_platforms())
    async with db.transaction() as session:
        rota = await load_rota(session, ZoneInfo("UTC"))
    service = DeskService(db, rules=rules, rota=rota, desks=("slack",), clock=clock)
    await service.start()
    return service


async def test_one_update_per_change_across_processes(database: Database) -> None:
    rules = load_rules(RULES, platforms=source_platforms())
    async with database.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
        add_weekly(session, role="reference", person="bob", days=frozenset({0}), start=time(9), end=time(13))
        add_weekly(
            session, role="reference", person="dave", days=frozenset({0}), start=time(13), end=time(17)
        )
    clock = Clock(MONDAY_8)
    first, second = await service_on(database, clock), await service_on(database, clock)
    desk = GroupDesk(desk="slack")
    relay = Relay(first, desks={"slack": desk}, sources={}, policy=Backoff(rng=random.Random(1)))

    async def at(hour: int) -> list[tuple[str, tuple[str, ...]]]:
        clock.now = MONDAY_8.replace(hour=hour)
        for service in (first, second, first):
            await duty_groups.sync(service.context, clock.now)
        while await relay.drain("slack"):
            pass
        return list(desk.groups)

    assert await at(8) == []  # nobody holds reference yet: nothing to set
    assert await at(9) == [("reference-desk", ("UBOB",))]
    assert await at(10) == [("reference-desk", ("UBOB",))]  # unchanged holders: no call
    assert await at(13) == [("reference-desk", ("UBOB",)), ("reference-desk", ("UDAVE",))]
    assert len(await at(18)) == 2  # nobody on duty: the group keeps Dave


async def test_a_late_update_sets_the_holders_of_when_it_runs(database: Database) -> None:
    rules = load_rules(RULES, platforms=source_platforms())
    async with database.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
        add_weekly(session, role="reference", person="bob", days=frozenset({0}), start=time(9), end=time(13))
        add_weekly(
            session, role="reference", person="dave", days=frozenset({0}), start=time(13), end=time(17)
        )
    clock = Clock(MONDAY_8 + timedelta(hours=1))
    service = await service_on(database, clock)
    await duty_groups.sync(service.context, clock.now)  # Bob's update queued, not yet run (Slack is slow)
    clock.now = MONDAY_8 + timedelta(hours=5)
    await duty_groups.sync(service.context, clock.now)  # Dave's update queued
    desk = GroupDesk(desk="slack")
    relay = Relay(service, desks={"slack": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
    while await relay.drain("slack"):
        pass
    assert {users for _, users in desk.groups} == {("UDAVE",)}  # never back to Bob
