"""Where each mention's card lives on each desk, and the channel a role's cards go to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import CardRef
from bot.store.tables import CardRow, RoleRow


async def get_card(session: AsyncSession, mention_id: int, desk: str) -> CardRef | None:
    """The stored card of a mention on one desk, or None if it was never posted there."""
    row = await session.get(CardRow, (mention_id, desk))
    return None if row is None else CardRef(desk=row.desk, channel=row.channel, message_id=row.message_id)


async def save_card(session: AsyncSession, mention_id: int, ref: CardRef) -> None:
    """Remember where a mention's card was posted."""
    session.add(CardRow(mention_id=mention_id, desk=ref.desk, channel=ref.channel, message_id=ref.message_id))


async def role_channel(session: AsyncSession, role: str, desk: str) -> str:
    """The role's own channel/room on this desk, or "" for the desk's default."""
    row = (await session.execute(select(RoleRow).where(RoleRow.key == role))).scalar_one_or_none()
    if row is None:
        return ""
    return {"slack": row.slack_channel, "matrix": row.matrix_room}.get(desk, "")
