"""The audit trail (append-only) and the marks that make a timer step happen once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.bookkeeping_tables import MarkRow
from bot.store.sql import insert_for, statements


async def record(
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
    await conn.execute(statements(conn.dialect.name)["audit"], params)


async def mark(session: AsyncSession, *, kind: str, key: str, now: datetime) -> bool:
    """Insert a (kind, key) mark; False when it exists already (the step was done)."""
    conn = await session.connection()
    stmt = insert_for(conn.dialect.name, MarkRow).values(kind=kind, key=key, at=now)
    result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["kind", "key"]))
    return bool(result.rowcount == 1)
