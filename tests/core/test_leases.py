"""Several workers on one PostgreSQL: each source stream is pumped by exactly one worker at a time,
and another takes over when the holder dies."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.store.db import Database
from bot.store.leases import lock_key, run_with_lease
from tests.conftest import PG_URL
from tests.waiting import until


def pumper(counts: dict[str, int], name: str):  # type: ignore[no-untyped-def]
    async def work() -> None:
        while True:
            counts[name] += 1
            await asyncio.sleep(0.005)

    return work


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")
async def test_one_holder_and_takeover_when_it_dies() -> None:
    stream = f"test-{uuid.uuid4().hex}"
    first, second = Database(PG_URL), Database(PG_URL)
    counts = {"first": 0, "second": 0}
    a = asyncio.create_task(run_with_lease(first, stream, pumper(counts, "first"), retry=0.05, check=0.1))
    tasks = [a]
    try:
        await until(lambda: counts["first"] > 5)
        b = asyncio.create_task(
            run_with_lease(second, stream, pumper(counts, "second"), retry=0.05, check=0.1)
        )
        tasks.append(b)
        seen = counts["first"]
        await until(lambda: counts["first"] > seen + 100)  # plenty of time for the second to try
        assert counts["second"] == 0  # never both
        # the holder's database session dies (a crashed worker): the lock is freed
        key = lock_key(stream)  # only this stream's holder: other tests and processes share the server
        async with second.engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
                ),
                {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
            )
        await until(lambda: counts["second"] > 5)
        frozen = counts["first"]
        await until(lambda: counts["second"] > 200)
        # the old holder stopped pumping within its check interval (a few items under load), not
        # alongside the new one (which pumped about 195 items meanwhile)
        assert counts["first"] - frozen <= 20
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await first.aclose()
        await second.aclose()


async def test_sqlite_runs_the_work_directly(tmp_path: object) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    ran: list[int] = []

    async def work() -> None:
        ran.append(1)

    await run_with_lease(db, "feeds", work)
    assert ran == [1]
    await db.aclose()


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")
async def test_an_error_of_the_work_is_the_works_not_a_lost_lease() -> None:
    """A data error raised by the work (a NUL PostgreSQL refuses) is raised once, and the lease is let
    go for whoever restarts the work; it is never taken for a lost lease and re-run every few seconds."""
    stream = f"test-{uuid.uuid4().hex}"
    db, other = Database(PG_URL), Database(PG_URL)
    runs: list[int] = []

    async def work() -> None:
        runs.append(1)
        if len(runs) == 1:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
        # a second run (the old code re-ran the work after "losing" the lease) just ends

    try:
        with pytest.raises(DBAPIError) as raised:
            await run_with_lease(db, stream, work, retry=0.01, check=0.1)
        assert runs == [1]
        assert getattr(raised.value.orig, "sqlstate", "") == "22021"  # a data error, not a connection's
        async with other.engine.connect() as conn:  # the lease was let go with the connection
            key = {"k": lock_key(stream)}
            free = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key)).scalar()
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
        assert free is True
    finally:
        await db.aclose()
        await other.aclose()
