"""Folds: a burst of read-only items from one source shown as one summary card, and its members.

``place`` runs inside ingest's transaction: once a source has ``threshold`` read-only items waiting
for a card, the waiting ones and every new one join one fold (their own card rows are removed), and
the fold keeps taking that source's new items while they keep coming (``WINDOW``). Folded mentions
stay ordinary mentions: counted by reports, listed, claimed and resolved like any other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.outbox import Lane, OutboxKind
from bot.store.fold_tables import FoldCardRow, FoldItemRow, FoldRow
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.views import CardRef

WINDOW = timedelta(hours=1)  # a fold takes its source's new items until this long after the last


@dataclass(frozen=True, slots=True)
class FoldStats:
    """One fold as its summary card shows it."""

    id: int
    source: str
    role: str
    total: int
    statuses: dict[str, int]  # status -> folded mentions in it


def place(
    conn: Connection, *, source: str, role: str, mention_id: int, now: datetime, threshold: int
) -> int | None:
    """Fold the new read-only ``mention_id`` if its source is in a burst; return the fold's id or None."""
    if threshold <= 0:
        return None
    fold_id = conn.execute(
        select(FoldRow.id)
        .where(FoldRow.source == source, FoldRow.role == role, FoldRow.last_at >= now - WINDOW)
        .order_by(FoldRow.id.desc())
        .limit(1)
    ).scalar()
    if fold_id is None:
        waiting = _waiting(conn, source=source, role=role, now=now)
        if len(waiting) + 1 < threshold:
            return None
        fold_id = conn.execute(
            insert(FoldRow).values(source=source, role=role, opened_at=now, last_at=now).returning(FoldRow.id)
        ).scalar_one()
        members = [*waiting, mention_id]
        conn.execute(insert(FoldItemRow), [{"mention_id": m, "fold_id": fold_id} for m in members])
        conn.execute(
            delete(OutboxRow).where(
                OutboxRow.kind == OutboxKind.POST_CARD.value,
                OutboxRow.mention_id.in_(waiting),
                OutboxRow.state == "pending",
                OutboxRow.leased_until.is_(None) | (OutboxRow.leased_until < now),
            )
        )
        return int(fold_id)
    conn.execute(insert(FoldItemRow).values(mention_id=mention_id, fold_id=fold_id))
    conn.execute(update(FoldRow).where(FoldRow.id == fold_id).values(last_at=now))
    return int(fold_id)


def _waiting(conn: Connection, *, source: str, role: str, now: datetime) -> list[int]:
    """This source's read-only mentions whose card rows all still wait (none taken by a worker)."""
    rows = conn.execute(
        select(OutboxRow.mention_id, OutboxRow.leased_until)
        .join(MentionRow, MentionRow.id == OutboxRow.mention_id)
        .where(
            OutboxRow.state == "pending",
            OutboxRow.lane == int(Lane.READ),
            OutboxRow.kind == OutboxKind.POST_CARD.value,
            MentionRow.source == source,
            MentionRow.role == role,
        )
    ).all()
    taken = {m for m, leased in rows if leased is not None and leased >= now}
    return sorted({m for m, _ in rows if m is not None and m not in taken})


async def of(session: AsyncSession, mention_id: int) -> int | None:
    """The fold a mention belongs to, if any."""
    stmt = select(FoldItemRow.fold_id).where(FoldItemRow.mention_id == mention_id)
    return await session.scalar(stmt)


async def stats(session: AsyncSession, fold_id: int) -> FoldStats | None:
    """The fold's counts by status (one GROUP BY), or None when there is no such fold."""
    fold = await session.get(FoldRow, fold_id)
    if fold is None:
        return None
    stmt = (
        select(MentionRow.status, func.count())
        .join(FoldItemRow, FoldItemRow.mention_id == MentionRow.id)
        .where(FoldItemRow.fold_id == fold_id)
        .group_by(MentionRow.status)
    )
    statuses = Counter({str(status): int(n) for status, n in (await session.execute(stmt)).all()})
    return FoldStats(fold.id, fold.source, fold.role, sum(statuses.values()), dict(statuses))


async def members(
    session: AsyncSession, fold_id: int, *, offset: int = 0, limit: int | None = None
) -> list[MentionRow]:
    """The fold's mentions, oldest first (a page of them with ``offset``/``limit``)."""
    stmt = (
        select(MentionRow)
        .join(FoldItemRow, FoldItemRow.mention_id == MentionRow.id)
        .where(FoldItemRow.fold_id == fold_id)
        .order_by(MentionRow.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def member_ids(session: AsyncSession, fold_id: int) -> list[int]:
    """Ids of the fold's mentions, oldest first."""
    stmt = (
        select(FoldItemRow.mention_id).where(FoldItemRow.fold_id == fold_id).order_by(FoldItemRow.mention_id)
    )
    return [int(i) for i in (await session.execute(stmt)).scalars()]


async def get_card(session: AsyncSession, fold_id: int, desk: str) -> CardRef | None:
    """Where the fold's summary card lives on ``desk``."""
    row = await session.get(FoldCardRow, (fold_id, desk))
    return None if row is None else CardRef(desk, row.channel, row.message_id)


async def save_card(session: AsyncSession, fold_id: int, ref: CardRef) -> None:
    """Remember where the summary card was posted."""
    session.add(FoldCardRow(fold_id=fold_id, desk=ref.desk, channel=ref.channel, message_id=ref.message_id))
