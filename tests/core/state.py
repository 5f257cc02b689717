"""The rows an action may change, read in one go: equal snapshots before and after mean "changed nothing"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.store.db import Database
from bot.store.tables import AuditRow, MentionRow, OutboxRow, ShiftRow, StaffRow

TABLES = {
    "mentions": MentionRow,
    "staff": StaffRow,
    "shifts": ShiftRow,
    "audit": AuditRow,
    "outbox": OutboxRow,
}


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the mentions, staff, shifts, audit and outbox tables, as plain tuples in id order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with db.transaction() as session:
        for name, table in TABLES.items():
            columns = list(table.__table__.columns)
            rows = await session.execute(select(*columns).order_by(columns[0]))
            found[name] = [tuple(row) for row in rows]
    return found
