"""Where each mention's card lives on each desk, and the channel a role's cards go to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.mention_tables import CardRow
from bot.store.rota_tables import RoleRow
from bot.views import CardRef


async def get_card(session: AsyncSession, mention_id: int, desk: str) -> CardRef | None:
    """The stored card of a mention on one desk, or None if it was never posted there."""
    row = await session.get(CardRow, (mention_id, desk))
    return None if row is None else CardRef(desk=row.desk, channel=row.channel, message_id=row.message_id)


async def save_card(session: AsyncSession, mention_id: int, ref: CardRef) -> None:
    """Remember where a mention's card was posted."""
    session.add(CardRow(mention_id=mention_id, desk=ref.desk, channel=ref.channel, message_id=ref.message_id))


async def role_channel(session: AsyncSession, role: str, column: str | None) -> str:
    """The role's own channel/room held in the roles table's ``column`` (the desk's, from its spec),
    or "" for the desk's default (no such role, no such column for the desk, or none set)."""
    if column is None:
        return ""
    if column not in RoleRow.__table__.columns:
        raise ValueError(f"roles has no column {column!r}")
    row = (await session.execute(select(RoleRow).where(RoleRow.key == role))).scalar_one_or_none()
    return (getattr(row, column) or "") if row is not None else ""
