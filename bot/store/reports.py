"""The facts the reports are computed from (no patron text: source, role, rule, status and times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import MentionRow


async def facts_between(session: AsyncSession, start: datetime, end: datetime) -> list[Any]:
    """(source, role, rule, status, received_at, first_claimed_at, first_replied_at) of the mentions
    received from ``start`` to ``end`` inclusive, as rows (not copied: a 90-day report reads many)."""
    cols = (
        MentionRow.source,
        MentionRow.role,
        MentionRow.rule,
        MentionRow.status,
        MentionRow.received_at,
        MentionRow.first_claimed_at,
        MentionRow.first_replied_at,
    )
    stmt = select(*cols).where(MentionRow.received_at >= start, MentionRow.received_at <= end)
    return list((await session.execute(stmt)).all())
