"""Saved answers and the guard in the service: hostile `answers` queries and replies get a plain no,
nothing is queued for a held reply, and a confirmed one is queued once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.service import DeskService
from bot.domain.answers import parse_answers
from bot.domain.outbox import OutboxKind
from bot.domain.privacy import PrivacyGuard, compile_card_pattern
from bot.models import DeskQuery, Reply, StaffRef
from bot.store import outbox
from bot.store.db import Database
from tests.core.helpers import make_service, mention

ME = StaffRef("console", "console", "console")
BOOK = parse_answers('[answers.renewals]\ntext = "Hi {patron}, today {today_hours}."\n')


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[DeskService]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/answers.db")
    await db.migrate()
    svc = await make_service(db, desks=("console",))
    svc.answers = BOOK
    svc.guard = PrivacyGuard(compile_card_pattern(r"\b2\d{13}\b"))
    await svc.ingest("fake", mention(1, "Can I renew online?"), None)
    yield svc
    await db.aclose()


async def queued_replies(service: DeskService) -> int:
    async with service.db.transaction() as session:
        rows = await outbox.due(session, target="fake", now=service.clock(), limit=100)
    return len([r for r in rows if r.kind == OutboxKind.SEND_REPLY.value])


async def test_a_held_reply_queues_nothing_and_a_confirmed_one_queues_once(service: DeskService) -> None:
    held = await service.handle(Reply(1, ME, "Card 21234567890123 is renewed."))
    assert not held.ok and "a library card number" in held.message
    assert await queued_replies(service) == 0
    sent = await service.handle(Reply(1, ME, "Card 21234567890123 is renewed.", confirmed=True))
    assert sent.ok and await queued_replies(service) == 1
    listing = await service.handle(DeskQuery(ME, "answers"))
    assert listing.ok and "/renewals" in listing.message and listing.choices == ("renewals",)
    one = await service.handle(DeskQuery(ME, "answers 1 renewals"))
    assert one.ok and one.message.startswith("Hi ") and await queued_replies(service) == 1  # nothing sent


HOSTILE = ["", "/", "\x00", "renewals extra words", "#1", "9" * 40, "/" + "x" * 5000, "\ud800", "{patron}"]


@pytest.mark.parametrize("tail", HOSTILE)
async def test_hostile_answers_queries_get_a_plain_answer(service: DeskService, tail: str) -> None:
    for text in (f"answers {tail}", f"answers 1 {tail}", f"answers 99 /{tail}"):
        result = await service.handle(DeskQuery(ME, text))
        assert result.message and len(result.message) < 2000
    result = await service.handle(Reply(1, ME, f"/{tail}"))
    assert result.message
    assert await queued_replies(service) == (1 if result.ok else 0)
