"""Follow-ups (``Mention.follows``): a later message of a conversation joins the open mention's card
once, moves an answered mention back to its claimer, and starts a new card when the conversation is
closed; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from bot.models import Claim, Ignore, Reply, Snooze, Status
from bot.store.db import Database
from bot.store.ingest_tables import CursorRow
from bot.store.mention_tables import MentionRow, MessageRow
from bot.store.report_tables import AuditRow

from .helpers import make_service, mention, staff


async def rows(db: Database) -> list[MentionRow]:
    async with db.transaction() as session:
        return list((await session.execute(select(MentionRow).order_by(MentionRow.id))).scalars())


async def count(db: Database, table: type) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_follow_up_joins_once_and_reopens_an_answer(database: Database) -> None:
    service = await make_service(database)
    first = replace(mention(1, "First question"), full_text="")
    assert await service.ingest("fake", first, "c1")
    assert (await service.handle(Claim(1, staff(1)))).ok
    assert (await service.handle(Reply(1, staff(1), "An answer"))).ok
    follow = replace(
        mention(2, "A second question"),
        follows=("unknown", "ext-1"),
        reply_ref='{"to": "newest"}',
    )
    assert await service.ingest("fake", follow, "c2")
    assert not await service.ingest("fake", follow, "c3")  # delivered again: joined before, a no-op
    (row,) = await rows(database)
    assert row.status == Status.CLAIMED.value  # the patron wrote again: back to the claimer
    assert row.text.count("A second question") == 1 and row.text.startswith("First question")
    assert row.reply_ref == '{"to": "newest"}'  # the answer goes under the newest message
    assert await count(database, MessageRow) == 1
    async with database.transaction() as session:
        actions = (await session.execute(select(AuditRow.action).where(AuditRow.mention_id == 1))).scalars()
        assert list(actions).count("follow_up") == 1  # the trail says the patron wrote again, once
        cursor = (await session.execute(select(CursorRow.value))).scalar_one()
    assert cursor == "c3"  # stored with the repeat too: the cursor always moves on

    # a follow-up of the follow-up finds the conversation through the joined message
    third = replace(mention(3, "A third question"), follows=("ext-2",))
    assert await service.ingest("fake", third, None)
    assert len(await rows(database)) == 1 and "A third question" in (await rows(database))[0].text


async def test_a_closed_conversation_starts_a_new_card(database: Database) -> None:
    service = await make_service(database)
    assert await service.ingest("fake", mention(1, "First"), None)
    assert (await service.handle(Ignore(1, staff(1)))).ok
    later = replace(mention(2, "Later"), follows=("ext-1",))
    assert await service.ingest("fake", later, None)
    assert [row.text for row in await rows(database)] == ["First", "Later"]
    assert await count(database, MessageRow) == 0
    assert not await service.ingest("fake", later, None)  # and it stays one card when read again


async def test_only_the_authors_own_messages_join(database: Database) -> None:
    service = await make_service(database)
    assert await service.ingest("fake", replace(mention(1, "First"), author_id="pat"), None)
    stranger = replace(
        mention(2, "Send the answer to me"), author_id="eve", follows=("ext-1",), reply_ref="eve"
    )
    assert await service.ingest("fake", stranger, None)
    first, second = await rows(database)
    assert first.text == "First" and first.reply_ref == ""  # the thread's answer still goes to pat
    assert second.text == "Send the answer to me"  # a card of its own
    assert await count(database, MessageRow) == 0


async def test_a_follow_up_of_another_source_never_joins(database: Database) -> None:
    service = await make_service(database)
    assert await service.ingest("fake", mention(1, "First"), None)
    other = replace(mention(2, "Elsewhere", source="other"), follows=("ext-1",))
    assert await service.ingest("other", other, None)
    assert len(await rows(database)) == 2


async def test_a_join_only_message_with_nothing_to_join_is_dropped_and_the_cursor_moves(
    database: Database,
) -> None:
    service = await make_service(database)
    chat = replace(mention(1, "Anyone seen my cat?"), follows=("ext-0",), join_only=True)
    assert not await service.ingest("fake", chat, "c1")  # no open mention: nothing stored, no card
    lone = replace(mention(2, "Lovely weather"), join_only=True)  # no earlier post at all
    assert not await service.ingest("fake", lone, "c2")
    assert await rows(database) == [] and await count(database, MessageRow) == 0
    async with database.transaction() as session:
        cursor = (await session.execute(select(CursorRow.value))).scalar_one()
    assert cursor == "c2"


async def test_a_join_only_message_joins_only_its_authors_open_mention(database: Database) -> None:
    service = await make_service(database)
    assert await service.ingest("fake", replace(mention(1, "First"), author_id="pat"), None)
    assert (await service.handle(Claim(1, staff(1)))).ok
    assert (await service.handle(Snooze(1, staff(1)))).ok
    stranger = replace(mention(2, "Me too"), author_id="eve", follows=("ext-1",), join_only=True)
    assert not await service.ingest("fake", stranger, "c1")  # someone else in the thread: dropped
    assert [(row.status, row.text) for row in await rows(database)] == [(Status.SNOOZED.value, "First")]
    again = replace(mention(3, "More detail"), author_id="pat", follows=("ext-1",), join_only=True)
    assert await service.ingest("fake", again, "c2")
    assert not await service.ingest("fake", again, "c3")  # delivered again: joined once
    (row,) = await rows(database)
    assert row.status == Status.CLAIMED.value and row.snoozed_until is None  # the snooze woke
    assert row.text.count("More detail") == 1 and await count(database, MessageRow) == 1
    assert (await service.handle(Ignore(1, staff(1)))).ok
    late = replace(mention(4, "Thanks!"), author_id="pat", follows=("ext-1",), join_only=True)
    assert not await service.ingest("fake", late, None)  # the conversation is closed: no new card
    assert len(await rows(database)) == 1


async def test_an_answer_to_our_published_reply_joins_the_mention(database: Database) -> None:
    import random

    from bot.backoff import Backoff
    from bot.core.relay import Relay
    from tests.fakes.recording import FakeSource, RecordingDesk

    service = await make_service(database, desks=("test",))
    source = FakeSource()
    relay = Relay(
        service,
        desks={"test": RecordingDesk()},
        sources={"fake": source},
        policy=Backoff(rng=random.Random(1)),
    )
    assert await service.ingest("fake", mention(1, "Are dogs allowed?"), None)
    assert (await service.handle(Claim(1, staff(1)))).ok
    assert (await service.handle(Reply(1, staff(1), "Guide dogs only", confirmed=True))).ok
    while await relay.drain("fake"):
        pass
    [published] = source.replies  # the id the platform gave our answer
    answer = replace(mention(2, "And cats?"), follows=(published,), join_only=True)
    stranger = replace(mention(3, "Me too"), author_id="eve", follows=(published,), join_only=True)
    assert not await service.ingest("fake", stranger, None)  # not the patron: dropped, no card
    assert await service.ingest("fake", answer, None)
    (row,) = await rows(database)
    assert "And cats?" in row.text and "Me too" not in row.text
    assert row.status == Status.CLAIMED.value
