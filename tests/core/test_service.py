"""The service on real databases: idempotent ingest, one winner per claim race, manager-only rota edits."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.domain.sanitize import safe_mention
from bot.models import Claim, Reassign, Release, Reply, Resolve, RotaCommand, StaffRef, Status
from bot.store.db import Database
from bot.store.ingest_tables import CursorRow
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow
from bot.store.rota_tables import ShiftRow

from .helpers import NOW, make_service, mention, staff


async def count(db: Database, what: object, *where: object) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(what).where(*where))).scalar_one())


async def test_repeated_mention_is_stored_once(database: Database) -> None:
    service = await make_service(database, desks=("slack", "matrix"))
    assert await service.ingest("fake", mention(1), "c1") is True
    assert await service.ingest("fake", mention(1), "c2") is False
    assert await count(database, MentionRow) == 1
    assert (
        await count(database, OutboxRow, OutboxRow.kind == "post_card") == 2
    )  # one per desk, not per delivery
    async with database.transaction() as session:
        cursor = await session.get(CursorRow, ("fake", "default"))
    assert cursor is not None and cursor.value == "c2"  # a repeat still advances the cursor


async def test_ingest_sanitizes_a_mention_unless_safe_mention_marked_it(database: Database) -> None:
    """Sanitize once: a parser's marked mention is stored as it is; a copy changed after (an adapter's
    ``replace``) or one built directly loses the mark and ingest makes it safe (invariant 9)."""
    service = await make_service(database)
    parsed = safe_mention(mention(1), now=NOW)
    changed = replace(parsed, external_id="ext-2", text="one \x00 two", author_name="\u202eevil\nname")
    built = replace(mention(3), author_handle="@a\r\nb")
    for item in (parsed, changed, built):
        assert await service.ingest("fake", item, None) is True
    async with database.transaction() as session:
        rows = (await session.execute(select(MentionRow).order_by(MentionRow.id))).scalars().all()
    assert [(r.text, r.author_name, r.author_handle) for r in rows] == [
        (parsed.text, parsed.author_name, parsed.author_handle),
        ("one  two", "evil name", parsed.author_handle),
        (built.text, built.author_name, "@a b"),
    ]


async def test_concurrent_duplicate_deliveries_store_one(database: Database) -> None:
    service = await make_service(database)
    results = await asyncio.gather(*(service.ingest("fake", mention(7), None) for _ in range(10)))
    assert results.count(True) == 1
    assert await count(database, MentionRow) == 1
    assert await count(database, OutboxRow) == 1


async def test_routing_decision_is_stored(database: Database) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1, "My book is overdue, can I renew?"), None)
    await service.ingest("fake", mention(2, "Love the new mural!"), None)
    first, second = await service.view(1), await service.view(2)
    assert (first.role, first.rule, first.on_duty) == ("circulation", "renewals", ("Bob Baker",))
    assert (second.role, second.rule, second.on_duty) == ("social-media", "default", ("Alice Archer",))
    assert first.on_duty_refs == (StaffRef("slack", "UBOB001", "Bob Baker"),)


@pytest.mark.slow
@pytest.mark.parametrize("claimers", [2, 10, 50])
async def test_claim_race_has_exactly_one_winner(database: Database, claimers: int) -> None:
    service = await make_service(database)
    for trial in range(5):
        await service.ingest("fake", mention(trial), None)
        mention_id = trial + 1
        results = await asyncio.gather(
            *(service.handle(Claim(mention_id, staff(n))) for n in range(claimers))
        )
        winners = [n for n, r in enumerate(results) if r.ok]
        assert len(winners) == 1, f"trial {trial}: {len(winners)} winners"
        winner_name = f"Claimer {winners[0]}"
        for n, result in enumerate(results):
            if n != winners[0]:
                assert result.message == f"#{mention_id} is already claimed by {winner_name}."
        view = await service.view(mention_id)
        assert view.status is Status.CLAIMED and view.assignee == winner_name
        async with database.transaction() as session:
            update = (
                await session.execute(
                    select(OutboxRow).where(OutboxRow.dedupe_key == f"update_card:test:{mention_id}")
                )
            ).scalar_one()
        assert update.version == 0  # the card is updated once, by the winner only
        assert (
            await count(database, AuditRow, AuditRow.action == "claim", AuditRow.mention_id == mention_id)
            == 1
        )


async def test_release_only_by_holder_and_reclaim(database: Database) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, staff(1)))).ok
    denied = await service.handle(Release(1, staff(2)))
    assert not denied.ok and "only they can release" in denied.message
    assert (await service.handle(Release(1, staff(1)))).ok
    assert (await service.view(1)).status is Status.POSTED
    assert (await service.handle(Claim(1, staff(2)))).ok


async def test_reply_queues_one_send_and_claims(database: Database) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    result = await service.handle(Reply(1, staff(3), "  Yes: sign in and press Renew.  "))
    assert result.ok and result.view is not None
    assert result.view.status is Status.REPLIED and result.view.assignee == "Claimer 3"
    async with database.transaction() as session:
        rows = list(
            (await session.execute(select(OutboxRow).where(OutboxRow.kind == "send_reply"))).scalars()
        )
    assert [(r.target, r.mention_id) for r in rows] == [("fake", 1)]
    other = await service.handle(Reply(1, staff(4), "me too"))
    assert not other.ok and "already claimed by Claimer 3" in other.message


async def test_empty_reply_and_unknown_mention_are_explained(database: Database) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    assert "empty" in (await service.handle(Reply(1, staff(1), "   "))).message
    missing = await service.handle(Claim(99, staff(1)))
    assert not missing.ok and "#99" in missing.message


async def test_resolved_mention_cannot_be_claimed(database: Database) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Resolve(1, staff(1)))).ok
    late = await service.handle(Claim(1, staff(2)))
    assert not late.ok and "resolved" in late.message


async def test_reassign_to_role_recomputes_duty(database: Database) -> None:
    service = await make_service(database)
    await service.ingest("fake", mention(1, "hello"), None)
    result = await service.handle(Reassign(1, staff(1), role="circulation"))
    assert result.ok and result.view is not None
    assert (result.view.role, result.view.on_duty) == ("circulation", ("Bob Baker",))
    bad = await service.handle(Reassign(1, staff(1), role="astronauts"))
    assert not bad.ok and "Unknown role" in bad.message


async def test_non_manager_cannot_change_rota(database: Database) -> None:
    service = await make_service(database)
    before = await count(database, ShiftRow)
    bob = StaffRef("slack", "UBOB001", "Bob")
    denied = await service.handle(RotaCommand(bob, "add @bob circulation mon-fri 09:00-17:00"))
    assert not denied.ok and "Only rota managers" in denied.message
    assert await count(database, ShiftRow) == before
    assert await count(database, AuditRow, AuditRow.action.like("rota_%")) == 0
    stranger = await service.handle(
        RotaCommand(StaffRef("matrix", "@x:example.org", "x"), "close 2026-12-25")
    )
    assert not stranger.ok and await count(database, ShiftRow) == before


async def test_manager_changes_rota_with_audit(database: Database) -> None:
    service = await make_service(database)
    alice = StaffRef("slack", "UALICE1", "Alice")
    added = await service.handle(RotaCommand(alice, "add @bob circulation mon-fri 09:00-17:00"))
    assert added.ok, added.message
    assert await count(database, ShiftRow) == 1
    assert await count(database, AuditRow, AuditRow.action == "rota_add") == 1
    assert service.rota.shifts and service.rota.shifts[-1].person == "bob"
    bad = await service.handle(RotaCommand(alice, "add @bob circulation mon-fri 25:00-17:00"))
    assert not bad.ok and "25:00" in bad.message
    assert await count(database, ShiftRow) == 1


async def test_author_edit_and_withdrawal_update_the_card(database: Database) -> None:
    from bot.models import MentionChange

    service = await make_service(database)
    await service.ingest("fake", mention(1), None)
    await service.ingest("fake", mention(2), None)
    # the fake platform, like Mastodon, lets only the author edit or delete (tests/core/test_authz.py
    # covers changes that must be compared with the stored author)
    await service.apply_change(
        MentionChange("fake", "ext-1", "edit", text="Can I renew twice?", author_only=True)
    )
    edited = await service.view(1)
    assert edited.text == "Can I renew twice?" and edited.note == "Edited by its author."
    await service.apply_change(MentionChange("fake", "ext-2", "withdraw", author_only=True))
    gone = await service.view(2)
    assert gone.status is Status.IGNORED and gone.url is None and "ext" not in gone.text
    await service.apply_change(MentionChange("fake", "unknown", "withdraw"))  # not ours: nothing happens
    assert await count(database, OutboxRow, OutboxRow.kind == "update_card") == 2
