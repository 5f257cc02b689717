"""The whole bot in-process with fake parts: the pipeline end to end, and restarts that lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app import PatronDesk
from bot.config import Settings
from bot.models import Claim
from tests.fakes.recording import FakeSource, RecordingDesk
from tests.waiting import until

from .helpers import RULES, mention, staff


def settings(tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/app.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
    )


async def test_mention_to_card_to_claim(tmp_path: Path) -> None:
    desk = RecordingDesk()
    source = FakeSource(items=[(mention(1), None), (mention(2, "overdue fine"), None)])
    async with PatronDesk(settings(tmp_path), sources=[source], desks=[desk]) as app:
        await until(lambda: len(desk.posts) == 2)
        result = await app.service.handle(Claim(1, staff(1)))
        assert result.ok
        await until(lambda: len(desk.updates) == 1)
        await app.wait_idle()
    assert [v.role for _, v in desk.posts] == ["circulation", "circulation"]
    assert desk.updates[0][1].assignee == "Claimer 1"


async def test_restart_mid_stream_cards_each_mention_once(tmp_path: Path) -> None:
    items = [(mention(n, f"post {n}"), None) for n in range(30)]
    desk = RecordingDesk()
    first = FakeSource(items=items, gate=asyncio.Event())
    async with PatronDesk(settings(tmp_path), sources=[first], desks=[desk]):
        for _ in range(12):  # let 12 through, then stop the bot between two of them
            first.gate.set()  # type: ignore[union-attr]
            await until(lambda: not first.gate.is_set())  # type: ignore[union-attr]
    second = FakeSource(items=items)
    async with PatronDesk(settings(tmp_path), sources=[second], desks=[desk]) as app:
        await until(lambda: len(desk.posts) >= 30)
        await app.wait_idle()
    assert second.started_from and second.started_from[0] is not None  # resumed, not from scratch
    ids = sorted(view.mention_id for _, view in desk.posts)
    assert ids == list(range(1, 31))  # every mention carded exactly once
