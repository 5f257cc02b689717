"""Shift check-in on a real Synapse with a controllable clock: the question in the staff room with ✅ / 🆘,
a stranger's ✅ refused, no answer -> the backup asked -> the room asked -> `!rota take` fills the gap, each
step once across a restart of the bot in the middle; `!checkin` answers a question by command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import PatronDesk
from bot.platforms.matrix.card_events import CHECKIN_KEY
from tests.matrix.matrix_helpers import World, by_sender, wait_for

pytestmark = pytest.mark.synapse

RULES = """
default_role = "reference"
[roles.reference]
backup = "circulation"
[roles.circulation]

[[staff]]
key = "sam"
name = "Sam Staff"
matrix_user_id = "@staff1:localhost"

[[staff]]
key = "kim"
name = "Kim Keeper"
matrix_user_id = "@staff2:localhost"
"""
ROTA = """person,role,days,start,end
sam,reference,mon-fri,09:00,17:00
kim,circulation,mon-fri,08:00,17:00
kim,reference,sat,10:00,14:00
"""
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings(world: World, tmp_path: Path) -> Any:
    found = world.settings(tmp_path, CHECKIN_MINUTES=10, TIMER_SECONDS=3600)
    (tmp_path / "rules.toml").write_text(RULES)  # the world's files, with this test's rota
    (tmp_path / "rota.csv").write_text(ROTA)
    return found


async def bot_notices(world: World) -> list[dict[str, Any]]:
    events = await world.staff1.messages(world.staff_room)
    return [
        e for e in by_sender(events, world.users.bot.user_id) if e["content"].get("msgtype") == "m.notice"
    ]


async def containing(world: World, needle: str) -> list[dict[str, Any]]:
    return [e for e in await bot_notices(world) if needle in e["content"]["body"]]


async def tick(app: PatronDesk, clock: Clock, minutes: float = 0) -> None:
    clock.now += timedelta(minutes=minutes)
    await app.timers.tick()
    await app.wait_idle()


async def test_no_answer_backup_room_take_once_across_a_restart(world: World, tmp_path: Path) -> None:
    clock = Clock(MONDAY_9)
    conf = settings(world, tmp_path)
    async with PatronDesk(conf, clock=clock) as app:
        await wait_for(lambda: app.service.cursor("matrix"), what="the first sync token")
        await tick(app, clock)
        [question] = await wait_for(
            lambda: containing(world, "Are you on desk?"), what="the check-in question"
        )
        assert question["content"]["m.mentions"] == {"user_ids": ["@staff1:localhost"]}  # only Sam is pinged
        assert isinstance(question["content"][CHECKIN_KEY], int)
        await world.staff2.react(world.staff_room, question["event_id"], "✅")  # not Kim's to answer
        await wait_for(lambda: containing(world, "only they can answer"), what="the stranger's refusal")
        await tick(app, clock, 10)
        await wait_for(lambda: containing(world, "can you cover"), what="the backup asked")
    # a restart between the backup step and the room step: nothing repeated, nothing skipped
    async with PatronDesk(conf, clock=clock) as app:
        await wait_for(lambda: app.service.cursor("matrix"), what="the sync token again")
        await tick(app, clock)
        await tick(app, clock, 10)
        [asked] = await wait_for(lambda: containing(world, "needs cover"), what="the room asked")
        await tick(app, clock, 1)
        number = re.search(r"`take (\d+)`", asked["content"]["body"])
        assert number is not None
        await world.staff2.say(world.staff_room, f"!rota take {number.group(1)}")
        await wait_for(lambda: containing(world, "you cover reference until 17:00"), what="the take answer")
        await tick(app, clock, 5)
        assert len(await containing(world, "Are you on desk?")) == 1
        assert len(await containing(world, "can you cover")) == 1
        assert len(await containing(world, "needs cover")) == 1
        assert len(await containing(world, "is covered: Kim Keeper")) == 1
        assert app.service.rota.on_duty("reference", clock.now) == ("kim",)


async def test_checkin_by_command(world: World, tmp_path: Path) -> None:
    clock = Clock(MONDAY_9)
    async with PatronDesk(settings(world, tmp_path), clock=clock) as app:
        await wait_for(lambda: app.service.cursor("matrix"), what="the first sync token")
        await tick(app, clock)
        await wait_for(lambda: containing(world, "Are you on desk?"), what="the check-in question")
        await world.staff1.say(world.staff_room, "!checkin")
        await wait_for(lambda: containing(world, "you are checked in"), what="the check-in answer")
        await tick(app, clock, 30)
        assert await containing(world, "can you cover") == [] and await containing(world, "needs cover") == []
