"""The rows an action may change, read in one go: equal snapshots before and after mean "changed nothing"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow
from bot.store.rota_tables import ShiftRow, StaffRow

TABLES = {
    "mentions": MentionRow,
    "staff": StaffRow,
    "shifts": ShiftRow,
    "audit": AuditRow,
    "outbox": OutboxRow,
}


async def snapshot(db: Database, *, skip: frozenset[int] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the mentions, staff, shifts, audit and outbox tables, as plain tuples in id order.

    ``skip``: mentions left out with their audit and outbox rows (a test's own later posts).
    """
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with db.transaction() as session:
        for name, table in TABLES.items():
            columns = list(table.__table__.columns)
            stmt = select(*columns).order_by(columns[0])
            key = table.__table__.c.get("mention_id", table.__table__.c.id if name == "mentions" else None)
            if skip and key is not None:
                stmt = stmt.where(key.is_(None) | key.not_in(skip))
            found[name] = [tuple(row) for row in await session.execute(stmt)]
    return found
