"""Source cursors: where each source stream resumes, saved in the same transaction as what it read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.ingest_tables import CursorRow
from bot.store.sql import execute_hot


def save(conn: Connection, source: str, stream: str, value: str, *, now: datetime) -> None:
    """Insert or replace the cursor of one source stream (a sync connection: ingest runs as one
    function inside ``Database.write``)."""
    params = {"source": source, "stream": stream, "value": value, "updated_at": now}
    execute_hot(conn, "cursor", params)


async def save_in(session: AsyncSession, source: str, stream: str, value: str, *, now: datetime) -> None:
    """``save`` inside an async session's transaction."""
    await session.run_sync(lambda sync: save(sync.connection(), source, stream, value, now=now))


async def load(session: AsyncSession, source: str, stream: str) -> str | None:
    """The stored cursor, or None on a first start."""
    row = await session.get(CursorRow, (source, stream))
    return row.value if row else None
