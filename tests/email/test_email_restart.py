"""Kill and restart while mail arrives: the bot as a child process (`python -m bot run`) is SIGKILLed
three times while a sender delivers 30 messages into Dovecot; in the end every message is one
mention with one card, none is missing, and the cursor stands on the last UID."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.db import Database
from bot.store.ingest_tables import CursorRow
from bot.store.mention_tables import CardRow, MentionRow
from tests.crash.process import BotProcess, child_env
from tests.fakes.dovecot import Dovecot
from tests.fakes.mailservers import ADDRESS

from .conftest import mail
from .test_email_e2e import RULES

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 30


async def counts(db: Database) -> tuple[int, int, str | None]:
    async with db.transaction() as session:
        mentions = (await session.execute(select(func.count()).select_from(MentionRow))).scalar_one()
        cards = (await session.execute(select(func.count()).select_from(CardRow))).scalar_one()
        cursor = (await session.execute(select(CursorRow.value).where(CursorRow.source == "email"))).scalar()
    return int(mentions), int(cards), cursor


async def wait_for(db: Database, predicate: object, within: float = 60.0) -> tuple[int, int, str | None]:
    async with asyncio.timeout(within):
        while True:
            try:
                found = await counts(db)
            except Exception:  # the child has not migrated the database yet
                found = (0, 0, None)
            if predicate(*found):  # type: ignore[operator]
                return found
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_sigkill_while_mail_arrives_cards_every_message_once(
    tmp_path: Path, dovecot: Dovecot, folder: str
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    url = f"sqlite+aiosqlite:///{tmp_path}/restart.db"
    env = child_env(
        {
            "DATABASE_URL": url,
            "RULES_FILE": str(rules),
            "CONSOLE_DESK": "on",
            "HTTP_PORT": "0",
            "EMAIL_ADDRESS": ADDRESS,
            "EMAIL_IMAP_URL": dovecot.url(folder),
            "EMAIL_CA_FILE": str(dovecot.tls.cert),
            "EMAIL_IDLE_SECONDS": "5",
            "TIMER_SECONDS": "3600",
            "PYTHONPATH": str(ROOT),
        }
    )
    bot = BotProcess(tmp_path, env)
    db = Database(url)
    sent = threading.Event()

    def deliver() -> None:
        for n in range(TOTAL):
            dovecot.append(mail(f"Question number {n}", msgid=f"<q{n}@example.com>"), folder)
        sent.set()

    try:
        await bot.start()
        await wait_for(db, lambda m, c, cursor: cursor is not None)  # the folder is marked
        sender = asyncio.create_task(asyncio.to_thread(deliver))
        for at_least in (3, 10, 18):
            await wait_for(db, lambda m, c, cursor, n=at_least: m >= n or sent.is_set())
            bot.current.kill()
            await bot.current.exited
            await bot.start()
        await sender
        mentions, cards, cursor = await wait_for(
            db, lambda m, c, cursor: m >= TOTAL and c >= TOTAL, within=120
        )
        assert await bot.current.stop() == 0
        async with db.transaction() as session:
            ids = sorted((await session.execute(select(MentionRow.external_id))).scalars())
            per_mention = (
                await session.execute(select(CardRow.mention_id, func.count()).group_by(CardRow.mention_id))
            ).all()
    finally:
        await bot.aclose()
        await db.aclose()
    assert sum(1 for child in bot.children if child.killed) == 3
    assert (mentions, cards) == (TOTAL, TOTAL)
    assert ids == sorted(f"q{n}@example.com" for n in range(TOTAL))
    assert all(number == 1 for _, number in per_mention)
    assert cursor is not None and cursor.split(":")[1] == str(TOTAL)
