"""The report roll-up's statements (migration 0013): which days are rolled up, the marks of days
that changed since, replacing days and reading a report's days back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.report_tables import ReportDayRow, ReportDirtyRow
from bot.store.sql import dialect

ROLLUP_LOCK = 0x5245504F  # one roll-up at a time on PostgreSQL (SQLite: BEGIN IMMEDIATE does it)
CHUNK = 500
# PostgreSQL: the DELETE removes only marks committed before it (a writer still in flight keeps its
# own for the next roll-up); the hours are truncated in UTC whatever the session's zone.
TAKE_PG = text(
    "WITH gone AS (DELETE FROM report_dirty RETURNING at) "
    "SELECT DISTINCT date_trunc('hour', at AT TIME ZONE 'UTC') FROM gone"
)


async def lock(session: AsyncSession) -> None:
    """Wait for any other process rolling up (PostgreSQL; SQLite transactions are serialized)."""
    if dialect(session) == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(ROLLUP_LOCK)))


async def marked(session: AsyncSession) -> bool:
    """Whether a mention changed since the last roll-up."""
    return (await session.execute(select(ReportDirtyRow.id).limit(1))).first() is not None


async def take_marks(session: AsyncSession) -> list[datetime]:
    """Remove the committed marks; the distinct hours (UTC, truncated) of the arrivals they name."""
    if dialect(session) == "postgresql":
        taken = (await session.execute(TAKE_PG)).scalars()
        return [h.replace(tzinfo=UTC) for h in taken]
    # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE): nothing commits in between.
    found = await session.execute(select(func.distinct(func.substr(ReportDirtyRow.at, 1, 13))))
    hours = [datetime.strptime(h, "%Y-%m-%d %H").replace(tzinfo=UTC) for h in found.scalars()]
    await session.execute(delete(ReportDirtyRow))
    return hours


async def built(session: AsyncSession, first: int, last: int, clock: str) -> set[int]:
    """The days from ``first`` to ``last`` rolled up for this clock key."""
    stmt = select(ReportDayRow.day).where(
        ReportDayRow.day >= first, ReportDayRow.day <= last, ReportDayRow.clock == clock
    )
    return set((await session.execute(stmt)).scalars())


async def drop_other_clocks(session: AsyncSession, clock: str) -> None:
    """Forget the days rolled up for other opening hours or another zone: the marks taken now are
    read in this clock's days, so those rows could not be kept current."""
    await session.execute(
        delete(ReportDayRow).where(ReportDayRow.clock != clock).execution_options(synchronize_session=False)
    )


async def built_among(session: AsyncSession, days: Iterable[int]) -> set[int]:
    """Which of ``days`` are rolled up (for any clock)."""
    wanted = sorted(set(days))
    out: set[int] = set()
    for at in range(0, len(wanted), CHUNK):
        stmt = select(ReportDayRow.day).where(ReportDayRow.day.in_(wanted[at : at + CHUNK]))
        out |= set((await session.execute(stmt)).scalars())
    return out


async def replace_days(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """These rows (day, clock, counts, claims, replies) replace the days they name."""
    for at in range(0, len(rows), CHUNK):
        days = [row["day"] for row in rows[at : at + CHUNK]]
        await session.execute(
            delete(ReportDayRow)
            .where(ReportDayRow.day.in_(days))
            .execution_options(synchronize_session=False)
        )
    if rows:
        await session.execute(insert(ReportDayRow), list(rows))


async def days_between(session: AsyncSession, first: int, last: int) -> list[Any]:
    """(day, counts, claims, replies) of the rolled-up days from ``first`` to ``last``."""
    table = ReportDayRow
    stmt = select(table.day, table.counts, table.claims, table.replies).where(
        table.day >= first, table.day <= last
    )
    return list((await session.execute(stmt)).all())
