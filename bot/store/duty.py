"""Who each desk's duty user group was last set to, in ``meta`` (one key per desk and role)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.bookkeeping_tables import MetaRow
from bot.store.rota_repo import get_meta
from bot.store.sql import insert_for


def duty_key(desk: str, role: str) -> str:
    """The ``meta`` key holding the user ids a desk's group for ``role`` should have."""
    return f"duty:{desk}:{role}"[:64]


async def wanted(session: AsyncSession, desk: str, role: str) -> list[str]:
    """The user ids the group should hold now ([] when never set)."""
    value = await get_meta(session, duty_key(desk, role))
    return [u for u in (value or "").split(",") if u]


async def swap(session: AsyncSession, desk: str, role: str, users: list[str]) -> bool:
    """Record ``users`` as the group's people; True only when this call changed them (compare and set,
    so two processes seeing the same shift change queue one update)."""
    key, value = duty_key(desk, role), ",".join(users)
    old = await get_meta(session, key)
    if old == value:
        return False
    conn = await session.connection()
    if old is None:
        stmt = insert_for(conn.dialect.name, MetaRow).values(key=key, value=value)
        result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
    else:
        stmt2 = update(MetaRow).where(MetaRow.key == key, MetaRow.value == old).values(value=value)
        result = await conn.execute(stmt2)
    return bool(result.rowcount == 1)
