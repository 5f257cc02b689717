"""Rota entries read from a role's calendar: marked with their origin, replaced by each sync."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rota.rota import OverrideKind
from bot.store.rota_repo import add_override, edit_lock
from bot.store.rota_tables import ShiftRow


def calendar_origin(role: str) -> str:
    """The ``origin`` of the entries read from ``role``'s calendar."""
    return f"calendar:{role}"[:80]


async def entry_origin(session: AsyncSession, entry_id: int) -> str | None:
    """Where an entry came from (None: typed in chat, the CLI or a rota file)."""
    row = await session.get(ShiftRow, entry_id)
    return row.origin if row else None


async def sync_calendar(
    session: AsyncSession, *, role: str, shifts: Iterable[tuple[str, datetime, datetime]]
) -> tuple[int, int]:
    """Make ``role``'s calendar entries equal ``(person, start, end)`` (naive local); (added, removed).

    Entries that stay keep their ids; only what changed is written.
    """
    await edit_lock(session)
    origin = calendar_origin(role)
    rows = (await session.execute(select(ShiftRow).where(ShiftRow.origin == origin))).scalars()
    have = {(r.person, r.starts_at, r.ends_at): r.id for r in rows}
    want = set(shifts)
    gone = [entry for key, entry in have.items() if key not in want]
    if gone:
        await session.execute(delete(ShiftRow).where(ShiftRow.id.in_(gone)))
    for person, start, end in sorted(want - set(have)):
        row = add_override(session, role=role, person=person, start=start, end=end, kind=OverrideKind.ADD)
        row.origin = origin
    await session.flush()
    return len(want - set(have)), len(gone)


async def drop_calendars(session: AsyncSession, keep: Iterable[str]) -> int:
    """Remove the calendar entries of roles that no longer follow a calendar; how many."""
    origins = [calendar_origin(role) for role in keep]
    result = await session.execute(
        delete(ShiftRow).where(ShiftRow.origin.is_not(None), ShiftRow.origin.not_in(origins))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
