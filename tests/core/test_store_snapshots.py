"""The store hands out frozen snapshots of mentions, not ORM rows: nothing past the store can change a
mention except through the transition table, and nothing loads lazily after its session closed."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain import transitions
from bot.models import Claim, Status
from bot.store import mentions
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.mentions import StoredMention

from .helpers import make_service, mention, staff


def test_the_snapshot_has_every_column_of_the_table() -> None:
    fields = [field.name for field in dataclasses.fields(StoredMention)]
    assert fields == [column.key for column in MentionRow.__table__.columns]


async def test_every_read_path_returns_a_frozen_snapshot(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(Claim(1, staff(1)))).ok
    async with database.transaction() as session:
        one = await mentions.get(session, 1)
        found = await mentions.find_unpurged(session, "fake", mention(1).external_id)
        listed = await mentions.in_statuses(session, transitions.ACTIVE, limit=10)
    assert one is not None and found == one and listed == [one]
    assert type(one) is StoredMention and one.status == Status.CLAIMED.value
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.status = Status.RESOLVED.value  # type: ignore[misc]
    view = service.render(one)  # the renderers' input, after the session closed
    assert view.status is Status.CLAIMED and view.assignee == "Claimer 1"


async def test_the_snapshot_is_read_fresh_not_from_the_session_cache(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    await service.ingest("fake", mention(1), None)
    async with database.transaction() as session:
        before = await mentions.get(session, 1)
        assert before is not None
        await mentions.transition(
            session, 1, transitions.Transition.CLAIM, values={"status": "claimed", "assignee": "sam"}
        )
        after = await mentions.get(session, 1)
    assert before.status == Status.ROUTED.value and before.assignee is None  # the copy did not move
    assert after is not None and after.status == "claimed" and after.version == before.version + 1
