"""The mention transition of the store: guards decide, first-time columns keep their first value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.transitions import Transition
from bot.models import Claim, Release
from bot.store import mentions
from bot.store.db import Database
from bot.store.mentions import Guard, StoredMention

from .helpers import NOW, make_service, mention, staff


async def stored(db: Database, mention_id: int) -> StoredMention:
    async with db.transaction() as session:
        row = await mentions.get(session, mention_id)
    assert row is not None
    return row


async def test_a_second_claim_keeps_the_first_claim_time(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    service.clock = lambda: NOW
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, staff(1)))).ok
    assert (await service.handle(Release(1, staff(1)))).ok
    later = NOW + timedelta(minutes=30)
    service.clock = lambda: later
    assert (await service.handle(Claim(1, staff(2)))).ok
    row = await stored(database, 1)
    assert row.claimed_at == later and row.first_claimed_at == NOW


async def test_guards_refuse_and_allow(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, staff(1)))).ok
    holder = (await stored(database, 1)).assignee
    assert holder is not None
    async with database.transaction() as session:
        note = {"note": "x"}
        assert not await mentions.transition(
            session, 1, via=Transition.REMIND, values=note, guard=Guard(unassigned=True)
        )
        assert not await mentions.transition(
            session, 1, via=Transition.REMIND, values=note, guard=Guard(held_by=holder + "-other")
        )
        assert not await mentions.transition(
            session, 1, via=Transition.REMIND, values=note, guard=Guard(escalation_level=1)
        )
        assert await mentions.transition(
            session,
            1,
            via=Transition.REMIND,
            values=note,
            guard=Guard(free_or_held_by=holder, not_reminded=True),
        )


async def test_only_first_time_columns_take_a_first_value(database: Database) -> None:
    await make_service(database, desks=("test",))
    async with database.transaction() as session:
        with pytest.raises(ValueError, match="not a first-time column"):
            await mentions.transition(session, 1, via=Transition.EDIT, values={}, first={"claimed_at": NOW})


async def test_a_status_outside_the_transition_is_refused(database: Database) -> None:
    """A status change must be the named transition's target: nothing else reaches the row."""
    service = await make_service(database, desks=("test",))
    await service.ingest("fake", mention(1), None)
    before = await stored(database, 1)
    async with database.transaction() as session:
        with pytest.raises(ValueError, match="does not lead to"):
            await mentions.transition(session, 1, Transition.REMIND, values={"status": "ignored"})
        with pytest.raises(ValueError, match="does not lead to"):
            await mentions.transition(session, 1, Transition.CLAIM, values={"status": "resolved"})
    after = await stored(database, 1)
    assert (after.status, after.version) == (before.status, before.version)
    async with database.transaction() as session:
        assert await mentions.transition(session, 1, Transition.CLAIM, values={"status": "claimed"})
    assert (await stored(database, 1)).status == "claimed"
