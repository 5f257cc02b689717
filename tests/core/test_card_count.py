"""``mentions.card_count`` (kept by a trigger on cards, migration 0012) is the number of the
mention's cards whatever writes them, so the retention dry run's card count equals a real count."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

from bot.domain.transitions import Transition, allowed_from
from bot.store import retention
from bot.store.db import Database
from bot.store.mention_tables import CardRow, MentionRow
from tests.conftest import drop_database, make_database

from .test_reports_rollup import KINDS

LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)
DESKS = ("slack", "matrix", "email")
STEPS = st.lists(
    st.tuples(st.sampled_from(("post", "drop", "move", "forget")), st.integers(0, 4), st.sampled_from(DESKS)),
    max_size=20,
)


async def step(db: Database, what: str, n: int, desk: str, ids: list[int]) -> None:
    async with db.transaction() as session:
        mention = ids[n % len(ids)]
        if what == "post":
            have = select(func.count()).where(CardRow.mention_id == mention, CardRow.desk == desk)
            if not (await session.execute(have)).scalar_one():
                row = {"mention_id": mention, "desk": desk, "channel": "C", "message_id": f"{mention}{desk}"}
                await session.execute(insert(CardRow), [row])
        elif what == "drop":
            await session.execute(delete(CardRow).where(CardRow.mention_id == mention, CardRow.desk == desk))
        elif what == "move":  # a card moved to another mention (not done by the bot; still counted)
            other = ids[(n + 1) % len(ids)]
            taken = select(func.count()).where(CardRow.mention_id == other, CardRow.desk == desk)
            if not (await session.execute(taken)).scalar_one():
                await session.execute(
                    update(CardRow)
                    .where(CardRow.mention_id == mention, CardRow.desk == desk)
                    .values(mention_id=other)
                )
        else:  # the mention goes, and its cards with it
            await session.execute(delete(MentionRow).where(MentionRow.id == mention))
            ids.remove(mention)


async def check(db: Database, n: int, steps: list[tuple[str, int, str]]) -> None:
    async with db.transaction() as session:
        await session.execute(delete(MentionRow))
        rows = [
            {
                "source": "fake",
                "external_id": f"{n}-{i}",
                "created_at": LONG_AGO,
                "received_at": LONG_AGO + timedelta(minutes=i),
                "status": "posted" if i % 2 else "resolved",
                "resolved_at": None if i % 2 else LONG_AGO,
                "role": "r",
                "rule": "x",
            }
            for i in range(5)
        ]
        ids = list((await session.execute(insert(MentionRow).returning(MentionRow.id), rows)).scalars())
    for what, i, desk in steps:
        if ids:
            await step(db, what, i, desk, ids)
    async with db.transaction() as session:
        cutoff = LONG_AGO + timedelta(days=30)
        (done, done_cards), (stale, stale_cards), _ = await retention.count_due(
            session, cutoff, stale=allowed_from(Transition.EXPIRE)
        )
        real = (await session.execute(select(func.count()).select_from(CardRow))).scalar_one()
        stored = (await session.execute(select(func.count()).select_from(MentionRow))).scalar_one()
    assert (done + stale, done_cards + stale_cards) == (stored, real)


@pytest.mark.parametrize("kind", KINDS)
def test_the_dry_run_counts_the_cards_there_are(kind: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    db, schema = loop.run_until_complete(make_database(kind, tmp_path))
    count = itertools.count()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(STEPS)
    def run(steps: list[tuple[str, int, str]]) -> None:
        loop.run_until_complete(check(db, next(count), steps))

    try:
        run()
    finally:
        loop.run_until_complete(drop_database(db, schema))
        loop.close()
