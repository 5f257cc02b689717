"""Shift check-ins: one row per shift start, moved forward only by conditional UPDATEs.

A step happens when its UPDATE changed the row (``rowcount == 1``): two processes, or a restart
that runs a step again, find the row already moved and do nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.rota_tables import CheckinRow
from bot.store.sql import insert_for


class Step(StrEnum):
    """Where a check-in is (the ``state`` column)."""

    ASKED = "asked"  # the person was asked at the shift's start
    HERE = "here"  # they checked in
    BACKUP = "backup"  # no answer in time, or "need cover": the backup role was asked
    CHANNEL = "channel"  # still open: the staff channel was asked for a volunteer, managers told
    FILLED = "filled"  # someone took the rest of the shift


OPEN_GAP = (Step.BACKUP, Step.CHANNEL)  # steps at which anyone qualified may take the shift


@dataclass(frozen=True, slots=True)
class Checkin:
    """One check-in as stored."""

    id: int
    role: str
    person: str
    began: datetime
    ends: datetime
    state: Step
    due_at: datetime
    answer: str
    filled_by: str | None


def _snapshot(row: CheckinRow) -> Checkin:
    return Checkin(
        id=row.id,
        role=row.role,
        person=row.person,
        began=row.began,
        ends=row.ends,
        state=Step(row.state),
        due_at=row.due_at,
        answer=row.answer,
        filled_by=row.filled_by,
    )


async def open_one(
    session: AsyncSession,
    *,
    role: str,
    person: str,
    began: datetime,
    ends: datetime,
    due: datetime,
    state: Step,
) -> int | None:
    """Insert the check-in of one shift start; its id, or None when it exists already."""
    conn = await session.connection()
    values = {
        "role": role,
        "person": person,
        "began": began,
        "ends": ends,
        "state": state.value,
        "due_at": due,
        "answer": "",
    }
    stmt = insert_for(conn.dialect.name, CheckinRow).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["role", "person", "began"]).returning(CheckinRow.id)
    return (await conn.execute(stmt)).scalar()


async def get(session: AsyncSession, checkin_id: int) -> Checkin | None:
    """One check-in, or None."""
    row = await session.get(CheckinRow, checkin_id, populate_existing=True)
    return None if row is None else _snapshot(row)


async def due(session: AsyncSession, *, now: datetime, limit: int = 200) -> list[Checkin]:
    """Check-ins whose next step is due (asked or an open gap, before their shift ended)."""
    stmt = (
        select(CheckinRow)
        .where(
            CheckinRow.state.in_([Step.ASKED.value, Step.BACKUP.value]),
            CheckinRow.due_at <= now,
            CheckinRow.ends > now,
        )
        .order_by(CheckinRow.due_at, CheckinRow.id)
        .limit(limit)
    )
    return [_snapshot(r) for r in (await session.execute(stmt)).scalars()]


async def find(
    session: AsyncSession,
    *,
    now: datetime,
    states: Iterable[Step],
    person: str | None = None,
    roles: Iterable[str] | None = None,
    filled_by: str | None = None,
) -> list[Checkin]:
    """Check-ins of shifts not over at ``now`` in ``states``, newest first, narrowed as asked."""
    stmt = select(CheckinRow).where(
        CheckinRow.state.in_([s.value for s in states]), CheckinRow.ends > now, CheckinRow.began <= now
    )
    if person is not None:
        stmt = stmt.where(CheckinRow.person == person)
    if roles is not None:
        stmt = stmt.where(CheckinRow.role.in_(list(roles)))
    if filled_by is not None:
        stmt = stmt.where(CheckinRow.filled_by == filled_by)
    stmt = stmt.order_by(CheckinRow.began.desc(), CheckinRow.id.desc()).limit(50)
    return [_snapshot(r) for r in (await session.execute(stmt)).scalars()]


async def move(
    session: AsyncSession, checkin_id: int, *, from_: Iterable[Step], to: Step, **values: Any
) -> bool:
    """Move a check-in from one of ``from_`` to ``to`` (with ``values``); True when this call did."""
    stmt = (
        update(CheckinRow)
        .where(CheckinRow.id == checkin_id, CheckinRow.state.in_([s.value for s in from_]))
        .values(state=to.value, **values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


async def purge_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete check-ins of shifts that ended before ``cutoff`` (retention: who was asked, who answered)."""
    result = await session.execute(delete(CheckinRow).where(CheckinRow.ends < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
