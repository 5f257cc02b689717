"""Any platform id, however odd (quotes, LIKE wildcards, RTL marks, emoji, 500 characters), is
replaced by its pseudonym at purge and a later delivery of it is still a repeat (Hypothesis, SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.core.retention import purge
from bot.models import Mention, Resolve
from bot.store.mention_tables import MentionRow
from tests.conftest import make_database

from .helpers import make_service, staff

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
IDS = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=500
)  # NUL and lone surrogates never reach the store (the sanitize boundary), everything else may


def test_any_id_is_hashed_at_purge_and_still_deduplicates(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    db, _ = loop.run_until_complete(make_database("sqlite", tmp_path))
    service = loop.run_until_complete(make_service(db, desks=("test",), now=T0))
    clock, counter = [T0], [0]
    service.clock = lambda: clock[0]

    async def one(generated: str, source: str) -> None:
        counter[0] += 1
        external_id = f"{counter[0]}{generated}"  # examples may repeat an id; each must start new
        mention = Mention(source=source, external_id=external_id, text="hello", created_at=clock[0])
        assert await service.ingest(source, mention, None)
        async with db.transaction() as session:
            mention_id = int((await session.execute(select(func.max(MentionRow.id)))).scalar_one())
        assert (await service.handle(Resolve(mention_id, staff(1)))).ok
        clock[0] += timedelta(days=366)
        assert (await purge(service, days=365)).mentions >= 1  # with the last example's open one
        async with db.transaction() as session:
            row = await service.row(session, mention_id)
        kept = row.external_id
        assert kept.startswith("h:") and len(kept) == 66 and (len(generated) < 8 or generated not in kept)
        assert await service.ingest(source, mention, None) is False  # delivered again: a repeat
        other = Mention(source=source, external_id=external_id + "2", text="hello", created_at=clock[0])
        assert await service.ingest(source, other, None)  # a different id is new

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(external_id=IDS, source=st.sampled_from(["mastodon", "bluesky", "feeds", "matrix", "webhook"]))
    def check(external_id: str, source: str) -> None:
        loop.run_until_complete(one(external_id, source))

    try:
        check()
    finally:
        loop.run_until_complete(db.aclose())
        loop.close()
