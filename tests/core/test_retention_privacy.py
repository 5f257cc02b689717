"""Retention leaves no patron identifiable: after purge no column of any table holds a purged
mention's platform id, author, link or words, yet a re-delivery of the same post is still a repeat;
the hashing key is one per installation, whoever uses it first."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import String, Text, func, or_, select, text

from bot.backoff import Backoff
from bot.core.relay import Relay
from bot.core.retention import purge
from bot.core.service import DeskService
from bot.models import Ignore, Mention, Reply, Resolve
from bot.store import audit, pseudonyms
from bot.store.bookkeeping_tables import MetaRow
from bot.store.db import Database
from bot.store.ingest_tables import QuarantineRow
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow
from bot.store.schema import metadata
from bot.store.tables import Base
from tests.fakes.recording import FakeSource, RecordingDesk, Refused

from .helpers import make_service, staff

DAY0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
LATER = DAY0 + timedelta(days=400)
DID = "did:plc:zq4canarydid7"
CANARIES = (
    DID,
    "canaryhandle.bsky.social",
    "Canary Namesake",
    "canary-blog.example",
    "canary.patron@mail.example",
    "canary-words-5-oak-road",
    "canary-reply-text",
    "canary-cw",
    "canary-refusal",
    "canary-edit-before",
    "canary-quarantine",
)


def bluesky_post() -> Mention:
    uri = f"at://{DID}/app.bsky.feed.post/3kcanary22"
    return Mention(
        source="fake",
        external_id=uri,
        text="canary-words-5-oak-road: can I renew?",
        created_at=DAY0,
        url=f"https://bsky.app/profile/{DID}/post/3kcanary22",
        author_id=DID,
        author_handle="@canaryhandle.bsky.social",
        author_name="Canary Namesake",
        content_warning="canary-cw",
        reply_ref=json.dumps({"root": {"uri": uri}, "parent": {"uri": uri}}),
    )


def email() -> Mention:
    return Mention(
        source="mail",
        external_id="<20260105.canary.patron@mail.example>",
        text="canary-words-5-oak-road by mail",
        created_at=DAY0,
        author_id="canary.patron@mail.example",
        author_handle="canary.patron@mail.example",
        author_name="Canary Namesake",
        reply_ref=json.dumps({"to": "canary.patron@mail.example"}),
    )


def blog_post() -> Mention:
    return Mention(
        source="fake",
        external_id="https://canary-blog.example/2026/01/library",
        text="canary-words-5-oak-road on my blog",
        created_at=DAY0,
        url="https://canary-blog.example/2026/01/library",
        author_name="Canary Namesake",
    )


def open_post() -> Mention:
    """Never claimed, never touched again: it must not stay for ever either."""
    return Mention(
        source="fake",
        external_id=f"at://{DID}/app.bsky.feed.post/3kcanary99",
        text="canary-words-5-oak-road, anyone?",
        created_at=DAY0,
        author_id=DID,
        author_handle="@canaryhandle.bsky.social",
    )


async def canary_hits(db: Database) -> dict[str, int]:
    """Rows per table where any text column contains any canary (case-insensitively)."""
    found: dict[str, int] = {}
    async with db.transaction() as session:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if not columns:  # no text to hold a canary (an empty OR would count every row)
                continue
            likes = [func.lower(c).like(f"%{canary.lower()}%") for c in columns for canary in CANARIES]
            if not likes:  # a table without text columns holds no patron text
                continue
            count = (
                await session.execute(select(func.count()).select_from(table).where(or_(*likes)))
            ).scalar()
            if count:
                found[table.name] = int(count)
    return found


async def drain(relay: Relay, *targets: str) -> None:
    for target in targets:
        while await relay.drain(target):
            pass


async def stage(database: Database) -> tuple[DeskService, Relay, RecordingDesk, FakeSource]:
    """Four mentions with every place patron data can reach, then a year and a bit of silence."""
    service = await make_service(database, desks=("test",), now=DAY0)
    desk, source = RecordingDesk(), FakeSource()
    relay = Relay(
        service, desks={"test": desk}, sources={"fake": source}, policy=Backoff(rng=random.Random(1))
    )
    for mention in (bluesky_post(), email(), blog_post(), open_post()):
        assert await service.ingest(mention.source, mention, None)
    assert (await service.handle(Reply(1, staff(1), "canary-reply-text, done"))).ok
    assert (await service.handle(Reply(2, staff(1), "canary-reply-text by mail"))).ok  # never sent
    await drain(relay, "test", "fake")  # reply 1 published: its URL embeds the DID
    source.fail_reply = Refused("canary-refusal: the platform quoted the post")
    assert (await service.handle(Reply(3, staff(1), "canary-reply-text refused"))).ok
    await drain(relay, "fake", "test")  # refused for good: parked as failed with its payload
    for action in (Resolve(1, staff(1)), Resolve(2, staff(1)), Ignore(3, staff(1))):
        assert (await service.handle(action)).ok
    async with database.transaction() as session:  # the edit trail another part keeps until purge
        await audit.record(
            session,
            actor="source:fake",
            action="edit",
            now=DAY0,
            mention_id=1,
            detail={"before": "canary-edit-before"},
        )
        session.add_all(
            [
                QuarantineRow(
                    source="fake",
                    external_id=f"at://{DID}/x",
                    reason="DataError",
                    payload="canary-quarantine",
                    received_at=DAY0,
                ),
                QuarantineRow(
                    source="fake",
                    external_id="young",
                    reason="DataError",
                    payload="young item",
                    received_at=LATER - timedelta(days=1),
                ),
            ]
        )
    await drain(relay, "test")
    return service, relay, desk, source


async def test_purge_leaves_no_identifier_and_redelivery_is_a_repeat(database: Database) -> None:
    service, relay, desk, _ = await stage(database)
    before = await canary_hits(database)
    assert {"mentions", "audit", "outbox", "quarantine"} <= before.keys()  # the scan can see them

    service.clock = lambda: LATER
    dry = await purge(service, days=365, dry_run=True)
    assert (dry.mentions, dry.expired, dry.quarantined) == (4, 1, 1)
    result = await purge(service, days=365)
    assert (result.mentions, result.cards, result.expired, result.quarantined) == (4, 4, 1, 1)
    assert await canary_hits(database) == {}

    async with database.transaction() as session:
        rows = list((await session.execute(select(MentionRow).order_by(MentionRow.id))).scalars())
        young = (await session.execute(select(QuarantineRow.external_id))).scalars().all()
        pending = (await session.execute(select(OutboxRow.kind).where(OutboxRow.state == "pending"))).all()
        expire = (await session.execute(select(AuditRow).where(AuditRow.action == "expire"))).scalars().all()
    assert all(r.external_id.startswith(pseudonyms.PREFIX) and len(r.external_id) == 66 for r in rows)
    assert len({r.external_id for r in rows}) == 4 and all(r.purged_at == LATER for r in rows)
    assert [r.status for r in rows] == ["resolved", "resolved", "ignored", "ignored"]
    assert list(young) == ["young"]  # quarantined items younger than retention stay
    assert sorted(kind for (kind,) in pending) == ["redact_card"] * 4  # the unsent reply went
    assert [(a.mention_id, a.actor) for a in expire] == [(4, "timer")]

    await drain(relay, "test")
    assert sorted(view.mention_id for _, view in desk.updates[-4:]) == [1, 2, 3, 4]
    outbox_before = await _count(database, OutboxRow)
    for mention in (bluesky_post(), email(), blog_post(), open_post()):  # a catch-up delivers them again
        assert await service.ingest(mention.source, mention, "cursor-after") is False
    assert await _count(database, MentionRow) == 4
    assert await _count(database, OutboxRow) == outbox_before  # no new card, no acknowledgement
    assert await canary_hits(database) == {}  # nor did the repeat store anything
    fresh = Mention(
        source="fake", external_id="at://did:plc:other/app.bsky.feed.post/1", text="hi", created_at=LATER
    )
    assert await service.ingest("fake", fresh, None)  # a new post is still new


async def test_a_post_stored_again_by_an_older_worker_does_not_stall_the_purge(database: Database) -> None:
    """During a rolling upgrade a worker without the pseudonym check may store a purged post again;
    its own purge must not collide with the first one's pseudonym (UNIQUE) and fail every day."""
    service = await make_service(database, desks=("test",), now=DAY0)
    assert await service.ingest("fake", bluesky_post(), None)
    assert (await service.handle(Resolve(1, staff(1)))).ok
    service.clock = lambda: LATER
    assert (await purge(service, days=365)).mentions == 1
    async with database.transaction() as session:  # what the older worker's plain INSERT did
        again = {"created_at": LATER, "received_at": LATER, "resolved_at": LATER, "role": "r", "rule": "x"}
        session.add(
            MentionRow(source="fake", external_id=bluesky_post().external_id, status="resolved", **again)
        )
    service.clock = lambda: LATER + timedelta(days=366)
    assert (await purge(service, days=365)).mentions == 1
    async with database.transaction() as session:
        first, second = (
            await session.execute(select(MentionRow.external_id).order_by(MentionRow.id))
        ).scalars()
    assert second == f"{first}:2" and await canary_hits(database) == {}
    assert await service.ingest("fake", bluesky_post(), None) is False


async def _count(db: Database, row: type[Base]) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(row))).scalar_one())


async def twin(db: Database, **settings: str) -> Database:
    """Another pool on the same database, as a second process would have."""
    if db.is_sqlite:
        return Database(db.url)
    async with db.engine.connect() as conn:
        schema = (await conn.exec_driver_sql("select current_schema()")).scalar_one()
    return Database(db.url, connect_args={"server_settings": {"search_path": schema, **settings}})


async def test_key_is_one_per_installation_under_concurrent_first_use(database: Database) -> None:
    others = [await twin(database) for _ in range(3)]
    try:
        keys = await asyncio.gather(*(d.write(pseudonyms.ensure_key) for d in others * 4))
        assert len(set(keys)) == 1 and len(keys[0]) == 32
        assert await database.write(pseudonyms.existing_key) == keys[0]  # and every later reader agrees
        assert await _count(database, MetaRow) == 1
    finally:
        for other in others:
            await other.aclose()


async def test_second_first_use_waits_for_the_first_and_takes_its_key(database: Database) -> None:
    """The first user's insert is still uncommitted when the second one tries: no error, one key."""
    name = f"keyrace-{random.getrandbits(32):08x}"
    second = await twin(database, application_name=name)
    try:
        async with database.engine.begin() as first:
            mine = await first.run_sync(pseudonyms.ensure_key)
            racing = asyncio.create_task(second.write(pseudonyms.ensure_key))
            if not database.is_sqlite:  # see the second insert blocked on the first one's row
                await _until_blocked(database, name)
        theirs = await racing
        assert theirs == mine
        assert await _count(database, MetaRow) == 1
    finally:
        await second.aclose()


async def _until_blocked(db: Database, application: str) -> None:
    query = text(
        "select count(*) from pg_stat_activity where application_name = :app and wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(30):
        while True:
            async with db.engine.connect() as conn:
                if (await conn.execute(query, {"app": application})).scalar_one():
                    return
            await asyncio.sleep(0.01)


async def test_the_key_is_never_logged(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    service, *_ = await stage(database)
    with caplog.at_level(logging.DEBUG):
        service.clock = lambda: LATER
        await purge(service, days=365)
        key = await database.write(pseudonyms.existing_key)
    assert key is not None
    assert key.hex() not in caplog.text.lower()


@given(
    key=st.binary(min_size=32, max_size=32),
    source=st.sampled_from(["mastodon", "bluesky", "feeds", "matrix", "slack", "webhook", "email"]),
    ids=st.lists(st.text(min_size=1, max_size=300), min_size=2, max_size=2, unique=True),
)
def test_pseudonyms_are_stable_distinct_and_fit_the_column(key: bytes, source: str, ids: list[str]) -> None:
    first, second = (pseudonyms.pseudonym(key, source, i) for i in ids)  # surrogates included: no raise
    assert first == pseudonyms.pseudonym(key, source, ids[0])
    assert first != second
    assert first != pseudonyms.pseudonym(key, source + "x", ids[0])  # per source
    assert first != pseudonyms.pseudonym(bytes(32) if any(key) else b"\x01" * 32, source, ids[0])
    assert first.startswith("h:") and len(first) == 66 and first.isascii()
