"""Retention: after RETENTION_DAYS, finished mentions lose their patron text, handles and links.

Counts, roles, rules and timings stay for reports. Each chat card of a purged mention is redacted
once, through the outbox. The platform id (external_id) stays: without it a source that delivers
an old post again would create a new mention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, update

from bot.models import Status
from bot.store import quarantine, repo
from bot.store.tables import AuditRow, CardRow, MentionRow, OutboxRow

if TYPE_CHECKING:
    from bot.desk.service import DeskService

FINISHED = (Status.RESOLVED.value, Status.IGNORED.value)
BATCH = 500


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """How many mentions were (or would be) purged, and how many chat cards redacted."""

    mentions: int
    cards: int


def _due(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [
        MentionRow.status.in_(FINISHED),
        MentionRow.resolved_at < cutoff,
        MentionRow.purged_at.is_(None),
    ]


async def purge(service: DeskService, *, days: int, dry_run: bool = False) -> PurgeResult:
    """Purge finished mentions older than ``days``; with ``dry_run``, only count them."""
    now = service.clock()
    cutoff = now - timedelta(days=days)
    if dry_run:
        async with service.db.transaction() as session:
            ids = select(MentionRow.id).where(*_due(cutoff))
            mentions = (await session.execute(select(func.count()).select_from(ids.subquery()))).scalar_one()
            cards = (
                await session.execute(select(func.count()).where(CardRow.mention_id.in_(ids)))
            ).scalar_one()
        return PurgeResult(int(mentions), int(cards))
    async with service.db.transaction() as session:  # set-aside items hold patron text too
        await quarantine.purge_before(session, cutoff)
    total = PurgeResult(0, 0)
    while True:
        batch = await _purge_batch(service, cutoff, now)
        total = PurgeResult(total.mentions + batch.mentions, total.cards + batch.cards)
        if batch.mentions < BATCH:
            return total


async def _purge_batch(service: DeskService, cutoff: datetime, now: datetime) -> PurgeResult:
    async with service.db.transaction() as session:
        ids = list((await session.execute(select(MentionRow.id).where(*_due(cutoff)).limit(BATCH))).scalars())
        if not ids:
            return PurgeResult(0, 0)
        await session.execute(
            update(MentionRow)
            .where(MentionRow.id.in_(ids), MentionRow.purged_at.is_(None))
            .values(
                text="",
                author_id="",
                author_handle="",
                author_name="",
                url=None,
                content_warning="",
                reply_ref="",
                reply_text=None,
                reply_url=None,
                note="",
                purged_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        await session.execute(  # parked replies hold staff text that may quote the patron
            update(OutboxRow)
            .where(OutboxRow.mention_id.in_(ids), OutboxRow.state == "failed")
            .values(payload="{}")
        )
        await session.execute(  # an edit's audit row keeps the text before the edit until now
            update(AuditRow)
            .where(AuditRow.mention_id.in_(ids), AuditRow.action == "edit")
            .values(detail="{}")
            .execution_options(synchronize_session=False)
        )
        cards = list((await session.execute(select(CardRow).where(CardRow.mention_id.in_(ids)))).scalars())
        rows = [
            {
                "kind": "redact_card",
                "target": card.desk,
                "mention_id": card.mention_id,
                "dedupe_key": f"redact_card:{card.desk}:{card.mention_id}",
            }
            for card in cards
        ]
        await repo.enqueue_many(session, rows, now=now)
        await repo.audit(session, actor="timer", action="purge", now=now, detail={"mentions": len(ids)})
    for desk in {card.desk for card in cards}:
        service.wake(desk)
    return PurgeResult(len(ids), len(cards))
