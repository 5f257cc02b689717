"""Queries used by the service and the relay. Every state change is a conditional statement."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Decision, Mention, Status
from bot.store import pseudonyms
from bot.store.tables import AuditRow, CursorRow, MarkRow, MentionRow, OutboxRow


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(dialect: str, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@cache
def _statements(dialect: str) -> dict[str, Any]:
    """The hot-path statements, built once per dialect; values come as bound parameters so
    SQLAlchemy compiles each statement once (Core tables, not the ORM's bulk path)."""
    mentions, outbox, cursors = MentionRow.__table__, OutboxRow.__table__, CursorRow.__table__
    insert_mention = (
        _insert(dialect, mentions)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(mentions.c.id)
    )
    cursor = _insert(dialect, cursors)
    cursor = cursor.on_conflict_do_update(
        index_elements=["source", "stream"],
        set_={"value": cursor.excluded.value, "updated_at": cursor.excluded.updated_at},
    )
    enqueue = _insert(dialect, outbox)
    enqueue = enqueue.on_conflict_do_update(
        index_elements=["dedupe_key"],
        set_={
            "version": outbox.c.version + 1,
            "next_attempt_at": enqueue.excluded.next_attempt_at,
            "payload": enqueue.excluded.payload,
        },
    )
    return {
        "mention": insert_mention,
        "cursor": cursor,
        "enqueue": enqueue,
        "audit": insert(AuditRow),
    }


def insert_mention(conn: Connection, mention: Mention, decision: Decision, *, now: datetime) -> int | None:
    """Store a mention; return its id, or None when it is a repeat.

    A repeat is a stored (source, external_id), or a purged mention whose external_id became the
    keyed pseudonym of this id: the INSERT … ON CONFLICT DO NOTHING comes first, then
    ``pseudonyms.drop_if_purged`` (its docstring says why this order has no race). Takes a sync
    connection: ingest runs as one function inside ``Database.write``.
    """
    status = Status.QUEUED if decision.queued else Status.ROUTED
    params = {
        "source": mention.source,
        "external_id": mention.external_id,
        "url": mention.url,
        "author_id": mention.author_id,
        "author_handle": mention.author_handle,
        "author_name": mention.author_name,
        "text": mention.text,
        "lang": mention.lang,
        "visibility": mention.visibility.value,
        "content_warning": mention.content_warning,
        "can_reply": mention.can_reply,
        "reply_ref": mention.reply_ref,
        "created_at": mention.created_at,
        "received_at": now,
        "status": status.value,
        "role": decision.role,
        "rule": decision.rule,
        "reason": decision.reason,
        "on_duty": ",".join(decision.on_duty),
        "queued_until": decision.queued_until,
        "note": mention.note,
        "version": 0,
        "escalation_level": 0,
    }
    new_id: int | None = conn.execute(_statements(conn.dialect.name)["mention"], params).scalar_one_or_none()
    if new_id is not None and pseudonyms.drop_if_purged(conn, new_id, mention.source, mention.external_id):
        return None  # delivered again after its purge
    return new_id


def save_cursor(conn: Connection, source: str, stream: str, value: str, *, now: datetime) -> None:
    """Insert or replace the cursor of one source stream (sync connection, see insert_mention)."""
    params = {"source": source, "stream": stream, "value": value, "updated_at": now}
    conn.execute(_statements(conn.dialect.name)["cursor"], params)


async def load_cursor(session: AsyncSession, source: str, stream: str) -> str | None:
    """The stored cursor, or None on a first start."""
    row = await session.get(CursorRow, (source, stream))
    return row.value if row else None


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
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
    """Several outbox rows in one statement (kind, target, mention_id, dedupe_key, payload each)."""
    params = [
        {
            "kind": row["kind"],
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
        conn.execute(_statements(conn.dialect.name)["enqueue"], params)


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]], *, now: datetime) -> None:
    """``enqueue_rows`` inside an async session's transaction."""
    if rows:
        await session.run_sync(lambda sync: enqueue_rows(sync.connection(), rows, now=now))


async def audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    now: datetime,
    mention_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row. ``detail`` holds no patron text, except an edit's ``before`` (purged)."""
    params = {"at": now, "actor": actor, "action": action, "mention_id": mention_id}
    params["detail"] = json.dumps(detail or {})
    conn = await session.connection()
    await conn.execute(_statements(conn.dialect.name)["audit"], params)


async def transition(
    session: AsyncSession,
    mention_id: int,
    *,
    allowed_from: Iterable[Status],
    values: dict[str, Any],
    extra_where: Sequence[Any] = (),
) -> bool:
    """Conditional UPDATE of one mention; True when this call won (row count 1)."""
    stmt = (
        update(MentionRow)
        .where(MentionRow.id == mention_id, MentionRow.status.in_([s.value for s in allowed_from]))
        .where(*extra_where)
        .values(**values, version=MentionRow.version + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def get_mention(session: AsyncSession, mention_id: int) -> MentionRow | None:
    """One mention row, fresh from the database."""
    stmt = select(MentionRow).where(MentionRow.id == mention_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def due_outbox(
    session: AsyncSession, *, target: str, now: datetime, limit: int = 20
) -> list[OutboxRow]:
    """Pending rows for one target whose time has come and whose lease (if any) has run out."""
    stmt = (
        select(OutboxRow)
        .where(OutboxRow.target == target, OutboxRow.state == "pending", OutboxRow.next_attempt_at <= now)
        .where((OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


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


async def outbox_depth(session: AsyncSession) -> int:
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


async def mark(session: AsyncSession, *, kind: str, key: str, now: datetime) -> bool:
    """Insert a (kind, key) mark; False when it exists already (the step was done)."""
    conn = await session.connection()
    stmt = _insert(conn.dialect.name, MarkRow).values(kind=kind, key=key, at=now)
    result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "key"]))
    return bool(result.rowcount == 1)


async def outbox_summary(session: AsyncSession) -> tuple[int, datetime | None, int]:
    """Pending rows, when the oldest pending row was created, and rows parked as failed."""
    pending = OutboxRow.state == "pending"
    depth, oldest = (
        await session.execute(select(func.count(), func.min(OutboxRow.created_at)).where(pending))
    ).one()
    failed = (await session.execute(select(func.count()).where(OutboxRow.state == "failed"))).scalar_one()
    if oldest is not None and oldest.tzinfo is None:  # min() bypasses the column type on SQLite
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
    return int(depth), oldest, int(failed)
