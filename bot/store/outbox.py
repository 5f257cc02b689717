"""The outbox: side effects waiting to be carried out, leased one at a time, deleted when done."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.outbox import OutboxKind, dedupe_key, lane_for
from bot.store.outbox_tables import OutboxRow
from bot.store.sql import dialect, execute_hot


async def enqueue(
    session: AsyncSession,
    *,
    kind: OutboxKind,
    target: str,
    mention_id: int | None,
    dedupe_key: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> None:
    """Add an outbox row; a pending row with the same key is bumped instead (coalesced updates)."""
    await enqueue_many(
        session,
        [
            {
                "kind": kind,
                "target": target,
                "mention_id": mention_id,
                "dedupe_key": dedupe_key,
                "payload": payload,
            }
        ],
        now=now,
    )


def enqueue_rows(conn: Connection, rows: list[dict[str, Any]], *, now: datetime) -> None:
    """Several outbox rows in one statement (kind, target, mention_id, dedupe_key, payload each;
    ``lane`` when the kind alone does not say it: a new card's lane says whether it can be answered)."""
    params = [
        {
            "kind": row["kind"],
            "lane": int(row.get("lane", lane_for(OutboxKind(row["kind"])))),
            "target": row["target"],
            "mention_id": row["mention_id"],
            "payload": json.dumps(row.get("payload") or {}),
            "dedupe_key": row["dedupe_key"],
            "state": "pending",
            "version": 0,
            "attempts": 0,
            "next_attempt_at": now,
            "leased_until": None,
            "last_error": "",
            "created_at": now,
        }
        for row in rows
    ]
    if params:
        execute_hot(conn, "enqueue", params)


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]], *, now: datetime) -> None:
    """``enqueue_rows`` inside an async session's transaction."""
    if rows:
        await session.run_sync(lambda sync: enqueue_rows(sync.connection(), rows, now=now))


async def due(session: AsyncSession, *, target: str, now: datetime, limit: int = 20) -> list[OutboxRow]:
    """Pending rows for one target whose time has come and whose lease (if any) has run out.

    Lane first (``bot/domain/outbox.py``: staff actions, then answerable, then read-only), then the
    longest waiting: one query on ``ix_outbox_pick``.
    """
    stmt = (
        select(OutboxRow)
        .where(OutboxRow.target == target, OutboxRow.state == "pending", OutboxRow.next_attempt_at <= now)
        .where((OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now))
        .order_by(OutboxRow.lane, OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )
    if dialect(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


async def next_due(session: AsyncSession, *, target: str, now: datetime) -> datetime | None:
    """When the next pending row of ``target`` that nobody holds comes due (None: none waits)."""
    stmt = select(func.min(OutboxRow.next_attempt_at)).where(
        OutboxRow.target == target,
        OutboxRow.state == "pending",
        (OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now),
    )
    value = await session.scalar(stmt)
    if isinstance(value, str):  # min() bypasses the column type on SQLite
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def lease(session: AsyncSession, row_id: int, *, now: datetime, until: datetime) -> bool:
    """Take a row for processing and count the attempt; False if another worker has it."""
    stmt = (
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.state == "pending")
        .where((OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now))
        .values(leased_until=until, attempts=OutboxRow.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool((await session.execute(stmt)).rowcount == 1)  # type: ignore[attr-defined]


async def release(session: AsyncSession, row_id: int, *, until: datetime) -> None:
    """Give back this worker's lease (the one ending at ``until``); anyone else's stays."""
    stmt = update(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.leased_until == until)
    await session.execute(stmt.values(leased_until=None))


async def finish(session: AsyncSession, row_id: int, *, version: int) -> bool:
    """Delete a done row unless it was bumped meanwhile (then it runs again with the newer state)."""
    stmt = delete(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.version == version)
    if (await session.execute(stmt)).rowcount == 1:  # type: ignore[attr-defined]
        return True
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(leased_until=None))
    return False


async def reschedule(session: AsyncSession, row_id: int, *, when: datetime, error: str, failed: bool) -> None:
    """Record a failed attempt: try again at ``when``, or park the row as failed (kept, never dropped)."""
    values: dict[str, Any] = {"next_attempt_at": when, "last_error": error[:500], "leased_until": None}
    if failed:
        values["state"] = "failed"
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(**values))


async def defer(
    session: AsyncSession, waits: dict[int, datetime], *, now: datetime, leased: bool = False
) -> None:
    """Rows whose turn has not come (their channel is paced or held): run them at the given times.

    Not a failed attempt: no error is recorded. With ``leased`` (this worker holds the lease) the
    lease and its attempt are given back; without, a row another worker has taken meanwhile is left
    alone.
    """
    for row_id, when in waits.items():
        stmt = update(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.state == "pending")
        values: dict[str, Any] = {"next_attempt_at": when}
        if leased:
            values |= {"attempts": OutboxRow.attempts - 1, "leased_until": None}
        else:
            stmt = stmt.where((OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now))
        await session.execute(stmt.values(**values).execution_options(synchronize_session=False))


async def depth(session: AsyncSession) -> int:
    """Pending outbox rows."""
    stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "pending")
    return int((await session.execute(stmt)).scalar_one())


async def clear_leases(session: AsyncSession) -> int:
    """Free every lease: on SQLite only this process works the outbox, so a lease left at start
    belongs to a run that stopped mid-attempt (its row counts the attempt and will reconcile)."""
    result = await session.execute(
        update(OutboxRow).where(OutboxRow.leased_until.is_not(None)).values(leased_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def summary(session: AsyncSession) -> tuple[int, datetime | None, int]:
    """Pending rows, when the oldest pending row was created, and rows parked as failed."""
    pending = OutboxRow.state == "pending"
    depth, oldest = (
        await session.execute(select(func.count(), func.min(OutboxRow.created_at)).where(pending))
    ).one()
    failed = (await session.execute(select(func.count()).where(OutboxRow.state == "failed"))).scalar_one()
    if oldest is not None and oldest.tzinfo is None:  # min() bypasses the column type on SQLite
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
    return int(depth), oldest, int(failed)


async def post_pending(session: AsyncSession, *, desk: str, mention_id: int) -> bool:
    """Whether the card of this mention still waits to be posted on ``desk``."""
    stmt = select(OutboxRow.id).where(
        OutboxRow.dedupe_key == dedupe_key(OutboxKind.POST_CARD, desk, mention_id),
        OutboxRow.state == "pending",
    )
    return (await session.scalar(stmt)) is not None
