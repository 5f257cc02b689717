"""Replies held for approval, on real databases: a reply from a role with ``approval`` is published
only after Approve (exactly once, even with two approvers at once) and never after Reject; only the
named approver or a manager decides; the writer is told the outcome."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, time

from sqlalchemy import select

from bot.backoff import Backoff
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.models import Approve, Claim, Mention, Reject, Reply, ReplyRef, StaffRef, Status
from bot.platforms import source_platforms
from bot.rota.rota import Rota, Shift
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from tests.fakes.recording import FakeSource, RecordingDesk

RULES = """
default_role = "complaints"
[roles.complaints]
approval = "carol"
[roles.director]
[roles.reference]
approval = "director"
[[rules]]
name = "research"
role = "reference"
keywords = ["archive"]
[[staff]]
key = "alice"
name = "Alice"
slack_user_id = "UALICE"
manager = true
[[staff]]
key = "bob"
name = "Bob"
slack_user_id = "UBOB"
[[staff]]
key = "carol"
name = "Carol"
slack_user_id = "UCAROL"
[[staff]]
key = "dan"
name = "Dan"
slack_user_id = "UDAN"
"""


class CountingSource(FakeSource):
    """The fake source, also counting every publish call (a repeat with one key would hide in ``replies``)."""

    calls: int = 0

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        self.calls += 1
        return await super().reply(to, text, idempotency_key=idempotency_key)


ALICE, BOB, CAROL, DAN = (StaffRef("slack", f"U{n.upper()}", n) for n in ("alice", "bob", "carol", "dan"))
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


async def build(db: Database) -> tuple[DeskService, Relay, RecordingDesk, CountingSource]:
    from bot.store.rota_repo import sync_roles, sync_staff

    rules = load_rules(RULES, platforms=source_platforms())
    async with db.transaction() as session:
        await sync_roles(session, rules)
        await sync_staff(session, rules.staff)
    every = frozenset(range(7))
    rota = Rota(
        zone=rules_zone(),
        shifts=(
            Shift(1, "complaints", "bob", every, time(0), time(0)),
            Shift(2, "director", "dan", every, time(0), time(0)),
            Shift(3, "reference", "bob", every, time(0), time(0)),
        ),
    )
    service = DeskService(db, rules=rules, rota=rota, desks=("slack",), clock=lambda: NOW)
    await service.start()
    desk, source = RecordingDesk(desk="slack"), CountingSource()
    policy = Backoff(rng=random.Random(1))
    relay = Relay(service, desks={"slack": desk}, sources={"fake": source}, policy=policy)
    return service, relay, desk, source


def rules_zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo("UTC")


def mention(n: int, text: str = "Your staff were rude to me") -> Mention:
    return Mention(source="fake", external_id=f"ext-{n}", text=text, created_at=NOW, author_id="pat")


async def deliver(relay: Relay, desk: RecordingDesk) -> list[tuple[str, str]]:
    before = len(desk.told)
    for target in ("fake", "slack"):
        while await relay.drain(target):
            pass
    return [(who.user_id, text) for who, text in desk.told[before:]]


async def sends(db: Database) -> list[OutboxRow]:
    async with db.transaction() as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == "send_reply")
        return list((await session.execute(stmt)).scalars())


async def test_a_held_reply_is_published_only_after_approve(database: Database) -> None:
    service, relay, desk, source = await build(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, BOB))).ok
    held = await service.handle(Reply(1, BOB, "We are sorry; the manager will call you."))
    assert held.ok and "held for approval by carol" in held.message
    assert held.view is not None and held.view.status is Status.APPROVAL
    told = await deliver(relay, desk)
    assert source.replies == {} and await sends(database) == []  # nothing went out
    assert [who for who, text in told if "waits for your approval" in text] == ["UCAROL"]
    refused = await service.handle(Approve(1, DAN))  # staff, but not the approver of complaints
    assert not refused.ok and "Only carol or a manager" in refused.message
    assert not (await service.handle(Approve(1, BOB))).ok  # nor the writer
    assert (await service.view(1)).status is Status.APPROVAL
    approved = await service.handle(Approve(1, CAROL))
    assert approved.ok and len(await sends(database)) == 1
    again = await service.handle(Approve(1, CAROL))
    assert not again.ok and len(await sends(database)) == 1  # approving twice queues it once
    told = await deliver(relay, desk)
    assert [text for _, text in source.replies.values()] == ["We are sorry; the manager will call you."]
    assert source.calls == 1
    assert ("UBOB", "Your reply to #1 was approved by Carol and is being published.") in told
    assert (await service.view(1)).status is Status.REPLIED


async def test_a_rejected_reply_is_never_published(database: Database) -> None:
    service, relay, desk, source = await build(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Reply(1, BOB, "Not our problem."))).ok
    rejected = await service.handle(Reject(1, ALICE, "Too curt; apologise first."))  # a manager may
    assert rejected.ok
    told = await deliver(relay, desk)
    assert (
        "UBOB",
        "Your reply to #1 was not approved by Alice: Too curt; apologise first. "
        "It was not published; it is yours again.",
    ) in told
    view = await service.view(1)
    assert view.status is Status.CLAIMED and view.assignee == "Bob"
    assert not (await service.handle(Approve(1, CAROL))).ok  # nothing is held any more
    await deliver(relay, desk)
    assert source.replies == {} and source.calls == 0


async def test_the_approver_edits_and_a_role_approver_is_whoever_holds_it(database: Database) -> None:
    service, relay, desk, source = await build(database)
    await service.ingest("fake", mention(1, "Is the archive open?"), None)  # reference: approval director
    assert (await service.handle(Reply(1, BOB, "ya"))).ok
    assert not (await service.handle(Approve(1, CAROL))).ok  # carol approves complaints, not this
    assert (await service.handle(Approve(1, DAN, "Yes, the archive is open 9-5."))).ok  # dan is director
    await deliver(relay, desk)
    assert [text for _, text in source.replies.values()] == ["Yes, the archive is open 9-5."]
    # the approver replying directly needs no approval of their own
    await service.ingest("fake", mention(2, "archive again"), None)
    direct = await service.handle(Reply(2, DAN, "Open until five."))
    assert direct.ok and "queued" in direct.message


async def test_two_approvers_at_once_publish_once(database: Database) -> None:
    service, relay, desk, source = await build(database)
    for n in range(1, 4):
        await service.ingest("fake", mention(n), None)
        assert (await service.handle(Reply(n, BOB, f"Answer {n}"))).ok
        results = await asyncio.gather(
            service.handle(Approve(n, CAROL)),
            service.handle(Approve(n, ALICE)),
            service.handle(Reject(n, ALICE, "no")),
        )
        winners = [r for r in results if r.ok]
        assert len(winners) == 1, [r.message for r in results]
        for loser in (r for r in results if not r.ok):
            assert loser.message.startswith(("Someone else decided", "Cannot")), loser.message
        approved = any(r.ok and r.message.startswith("Approved") for r in results)
        assert [row.mention_id for row in await sends(database)] == ([n] if approved else [])
        await deliver(relay, desk)
    assert source.calls == len(source.replies)  # each publish once, none repeated
    published = [to.external_id for to, _ in source.replies.values()]
    assert len(published) == len(set(published))
