"""Retention: after RETENTION_DAYS nothing holds patron text or handles, reports still count, each
chat card is redacted once, and a second purge does nothing."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from bot.backoff import Backoff
from bot.core.relay import Relay
from bot.core.retention import purge
from bot.core.views import PURGED_TEXT
from bot.models import Claim, Mention, Reply, Resolve
from bot.reports.output import load_facts
from bot.store.db import Database
from tests.fakes.recording import FakeSource, RecordingDesk

from .helpers import make_service, staff

SECRET = "SECRET-b41d"
DAY0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


def patron(n: int) -> Mention:
    return Mention(
        source="fake",
        external_id=f"post-{n}",
        text=f"{SECRET} renew please, I live at 5 Oak Road",
        created_at=DAY0,
        url=f"https://social.example/@{SECRET}/{n}",
        author_id=f"id-{SECRET}",
        author_handle=f"@{SECRET}@social.example",
        author_name=f"{SECRET} Smith",
        content_warning=SECRET,
        reply_ref=f'{{"acct": "{SECRET}"}}',
    )


async def hits(db: Database) -> int:
    """Rows in any table whose text columns contain the secret."""
    checks = [
        "SELECT count(*) FROM mentions WHERE text LIKE :s OR author_handle LIKE :s OR author_name LIKE :s "
        "OR author_id LIKE :s OR coalesce(url, '') LIKE :s OR content_warning LIKE :s OR reply_ref LIKE :s "
        "OR coalesce(reply_text, '') LIKE :s OR note LIKE :s",
        "SELECT count(*) FROM outbox WHERE payload LIKE :s OR last_error LIKE :s",
        "SELECT count(*) FROM audit WHERE detail LIKE :s",
        "SELECT count(*) FROM cursors WHERE value LIKE :s",
    ]
    total = 0
    async with db.transaction() as session:
        for sql in checks:
            total += int((await session.execute(text(sql), {"s": f"%{SECRET}%"})).scalar_one())
    return total


async def test_purge_after_retention(database: Database) -> None:
    service = await make_service(database, desks=("test",), now=DAY0)
    desk, source = RecordingDesk(), FakeSource()
    relay = Relay(
        service, desks={"test": desk}, sources={"fake": source}, policy=Backoff(rng=random.Random(1))
    )
    for n in range(3):
        await service.ingest("fake", patron(n), None)
    await service.handle(Reply(1, staff(1), f"Done, {SECRET}!", confirmed=True))  # the post has an address
    await service.handle(Resolve(1, staff(1)))
    await service.handle(Resolve(2, staff(1)))  # mention 3 stays open: it must keep its text
    for target in ("test", "fake", "test"):
        while await relay.drain(target):
            pass
    assert len(desk.posts) == 3 and await hits(database) > 0

    service.clock = lambda: DAY0 + timedelta(days=300)
    assert (await service.handle(Claim(3, staff(2)))).ok  # still worked on: an open mention with activity
    while await relay.drain("test"):
        pass
    service.clock = lambda: DAY0 + timedelta(days=364)
    assert (await purge(service, days=365, dry_run=False)).mentions == 0  # not yet

    service.clock = lambda: DAY0 + timedelta(days=366)
    dry = await purge(service, days=365, dry_run=True)
    assert (dry.mentions, dry.cards) == (2, 2)
    assert await hits(database) > 0  # a dry run changes nothing
    done = await purge(service, days=365)
    assert (done.mentions, done.cards) == (2, 2)
    remaining = await hits(database)
    assert remaining == 1  # only mention 3, open and claimed within the year
    again = await purge(service, days=365)
    assert (again.mentions, again.cards) == (0, 0)

    updates_before = len(desk.updates)
    while await relay.drain("test"):
        pass
    redacted = desk.updates[updates_before:]
    assert sorted(view.mention_id for _, view in redacted) == [1, 2]  # each card once
    assert all(
        view.text == PURGED_TEXT and view.url is None and not view.author_handle for _, view in redacted
    )
    assert await purge(service, days=365) == done.__class__(0, 0)
    while await relay.drain("test"):
        pass
    assert len(desk.updates) == updates_before + 2  # a second purge redacts nothing

    facts = await load_facts(database, since=date(2026, 1, 1), until=date(2026, 1, 31))
    assert len(facts) == 3  # reports still count purged mentions
    assert sum(1 for f in facts if f.first_claimed_at is not None) == 2  # mentions 1 and 3


async def test_check_ins_of_shifts_ended_before_retention_are_deleted(database: Database) -> None:
    from bot.store import checkins
    from bot.store.checkins import Step

    service = await make_service(database, desks=("test",), now=DAY0)
    async with database.transaction() as session:
        for n, ended in enumerate((DAY0, DAY0 + timedelta(days=200))):
            began = ended - timedelta(hours=4)
            await checkins.open_one(
                session,
                role="reference",
                person=f"p{n}",
                began=began,
                ends=ended,
                due=began,
                state=Step.ASKED,
            )
    service.clock = lambda: DAY0 + timedelta(days=366)
    await purge(service, days=365, dry_run=True)
    async with database.transaction() as session:
        assert await checkins.get(session, 1) is not None  # a dry run deletes nothing
    await purge(service, days=365)
    async with database.transaction() as session:
        assert await checkins.get(session, 1) is None  # its shift ended 366 days ago
        kept = await checkins.get(session, 2)
        assert kept is not None and kept.person == "p1"
