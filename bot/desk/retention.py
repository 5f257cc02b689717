"""Retention: after RETENTION_DAYS nothing about a mention identifies its patron or holds their words.

Due are mentions finished more than RETENTION_DAYS ago, and open ones nobody has touched for that
long (closed first, audit action "expire": resolved if a reply was published, else ignored; then
purged in the same transaction), so no mention stays for ever. A purge blanks the patron's text,
names, handles and links, replaces the platform id with its keyed pseudonym
(``bot.store.pseudonyms``: a re-delivery is still a repeat), empties the details of the mention's
audit rows and the payloads of its outbox rows, drops replies that can no longer be sent, and
redacts each chat card once through the outbox. Quarantined items older than RETENTION_DAYS are
deleted. Counts, roles, rules and timings stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, case, delete, func, insert, select, text, update

from bot.desk import transitions
from bot.models import Status
from bot.store import pseudonyms, quarantine, repo
from bot.store.tables import AuditRow, CardRow, MentionRow, OutboxRow, QuarantineRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.desk.service import DeskService

FINISHED = (Status.RESOLVED.value, Status.IGNORED.value)
BATCH = 500
UNSENDABLE = ("send_reply", "send_ack")  # their target post is gone once its ids are hashed
BLANK: dict[str, Any] = {
    "text": "",
    "author_id": "",
    "author_handle": "",
    "author_name": "",
    "url": None,
    "content_warning": "",
    "reply_ref": "",
    "reply_text": None,
    "reply_url": None,
    "note": "",
}


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """How many mentions were (or would be) purged, chat cards redacted, stale mentions closed
    first (``expired``, part of ``mentions``) and quarantined items deleted."""

    mentions: int
    cards: int
    expired: int = 0
    quarantined: int = 0


def quiet_since(cutoff: datetime) -> list[ColumnElement[bool]]:
    """Nothing happened to the mention at or after ``cutoff``: no arrival, claim, reply,
    escalation or reminder (each staff action and published reply sets one of these)."""
    later = [MentionRow.claimed_at, MentionRow.replied_at, MentionRow.escalated_at, MentionRow.reminded_at]
    return [MentionRow.received_at < cutoff, *((col.is_(None) | (col < cutoff)) for col in later)]


def _finished_due(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [
        MentionRow.status.in_(FINISHED),
        MentionRow.resolved_at < cutoff,
        MentionRow.purged_at.is_(None),
    ]


def _stale_due(cutoff: datetime) -> list[ColumnElement[bool]]:
    statuses = [s.value for s in transitions.allowed("expire")]
    return [
        MentionRow.status.in_(statuses),
        # Always true of an unfinished mention (only finishing sets resolved_at); it lets both
        # databases find these few rows in ix_mentions_purge_due instead of a year of arrivals.
        MentionRow.resolved_at.is_(None),
        MentionRow.purged_at.is_(None),
        *quiet_since(cutoff),
    ]


async def purge(service: DeskService, *, days: int, dry_run: bool = False) -> PurgeResult:
    """Purge mentions due after ``days`` and old quarantined items; with ``dry_run``, only count."""
    now = service.clock()
    cutoff = now - timedelta(days=days)
    if dry_run:
        return await _count(service, cutoff)
    async with service.db.transaction() as session:
        quarantined = await quarantine.purge_before(session, cutoff)  # set-aside items hold patron text
    total = PurgeResult(0, 0, 0, quarantined)
    while True:
        batch = await _purge_batch(service, cutoff, now)
        total = PurgeResult(
            total.mentions + batch.mentions,
            total.cards + batch.cards,
            total.expired + batch.expired,
            quarantined,
        )
        if batch.mentions < BATCH:
            return total


async def _count(service: DeskService, cutoff: datetime) -> PurgeResult:
    # One statement per kind with a correlated card count: an IN (subquery) join made PostgreSQL
    # hash the whole cards table (docs/benchmarks.md, proposal 4).
    cards = select(func.count()).where(CardRow.mention_id == MentionRow.id).scalar_subquery()
    async with service.db.transaction() as session:
        if not service.db.is_sqlite:  # the due estimate is inflated (see docs): JIT costs 100+ ms
            await session.execute(text("SET LOCAL jit = off"))
        counts = []
        for where in (_finished_due(cutoff), _stale_due(cutoff)):
            stmt = select(func.count(), func.coalesce(func.sum(cards), 0)).where(*where)
            mentions, card_count = (await session.execute(stmt)).one()
            counts.append((int(mentions), int(card_count)))
        old = select(func.count()).where(QuarantineRow.received_at < cutoff)
        quarantined = int((await session.execute(old)).scalar_one())
    (done, done_cards), (stale, stale_cards) = counts
    return PurgeResult(done + stale, done_cards + stale_cards, stale, quarantined)


async def _purge_batch(service: DeskService, cutoff: datetime, now: datetime) -> PurgeResult:
    async with service.db.transaction() as session:
        due = select(MentionRow.id).where(*_finished_due(cutoff)).limit(BATCH)
        ids = list((await session.execute(due)).scalars())
        expired = await _expire(session, cutoff, now, BATCH - len(ids)) if len(ids) < BATCH else []
        won = await _blank(session, ids + expired, now)
        if not won:
            return PurgeResult(0, 0)
        await _pseudonymize(session, won)
        mention_ids = [row.id for row in won]
        cards = await _scrub_related(session, mention_ids, now)
        await repo.audit(session, actor="timer", action="purge", now=now, detail={"mentions": len(won)})
    for desk in {card.desk for card in cards}:
        service.wake(desk)
    return PurgeResult(len(won), len(cards), len(set(expired) & set(mention_ids)))


async def _expire(session: AsyncSession, cutoff: datetime, now: datetime, limit: int) -> list[int]:
    """Close open mentions untouched since ``cutoff``: a published reply as resolved, the rest as
    ignored (the timer cannot know the patron was answered)."""
    answered = (MentionRow.status == Status.REPLIED.value) & MentionRow.replied_at.is_not(None)
    status = case(
        (answered, transitions.target("auto_resolve").value), else_=transitions.target("expire").value
    )
    return await _close(
        session, _stale_due(cutoff), {"status": status}, action="expire", now=now, limit=limit
    )


async def _close(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    values: dict[str, Any],
    *,
    action: str,
    now: datetime,
    limit: int = BATCH,
) -> list[int]:
    """Close up to ``limit`` mentions meeting ``where``, each with a "timer" audit row.

    The UPDATE repeats ``where``, so a staff action committed since the SELECT wins (no close).
    No ORDER BY: every row found can be closed, and ordering by id made PostgreSQL walk the
    primary key past every row closed by the batches before.
    """
    due = select(MentionRow.id).where(*where).limit(limit)
    candidates = list((await session.execute(due)).scalars())
    if not candidates:
        return []
    closed = await session.execute(
        update(MentionRow)
        .where(MentionRow.id.in_(candidates), *where)
        .values(**values, resolved_at=now, version=MentionRow.version + 1)
        .returning(MentionRow.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(closed.scalars())
    if ids:
        audit = [
            {"at": now, "actor": "timer", "action": action, "mention_id": i, "detail": "{}"} for i in ids
        ]
        await session.execute(insert(AuditRow), audit)
    return ids


async def _blank(session: AsyncSession, ids: list[int], now: datetime) -> list[Row[int, str, str]]:
    """Blank the patron fields of the mentions no other worker purged first; their original ids."""
    if not ids:
        return []
    result = await session.execute(
        update(MentionRow)
        .where(MentionRow.id.in_(ids), MentionRow.purged_at.is_(None))
        .values(**BLANK, purged_at=now)
        .returning(MentionRow.id, MentionRow.source, MentionRow.external_id)
        .execution_options(synchronize_session=False)
    )
    return list(result.all())


async def _pseudonymize(session: AsyncSession, won: list[Row[int, str, str]]) -> None:
    """Replace each platform id by its pseudonym. A mention stored again after its post was purged
    (by a worker still on an older version) would take the same pseudonym and break the UNIQUE
    constraint, stalling every later purge; it gets its row id appended instead."""
    key = await session.run_sync(lambda sync: pseudonyms.ensure_key(sync.connection()))
    hashed = {m.id: (m.source, pseudonyms.pseudonym(key, m.source, m.external_id)) for m in won}
    taken: set[tuple[str, str]] = set()
    for source in {pair[0] for pair in hashed.values()}:  # per source: the UNIQUE index answers
        mine = [pair[1] for pair in hashed.values() if pair[0] == source]
        found = select(MentionRow.external_id).where(
            MentionRow.source == source, MentionRow.external_id.in_(mine)
        )
        taken |= {(source, external_id) for external_id in (await session.execute(found)).scalars()}
    rows = [
        {"id": i, "external_id": f"{pair[1]}:{i}" if pair in taken else pair[1]} for i, pair in hashed.items()
    ]
    await session.execute(update(MentionRow), rows)  # ORM bulk UPDATE by primary key


async def _scrub_related(session: AsyncSession, ids: list[int], now: datetime) -> list[CardRow]:
    """Audit details and outbox payloads of purged mentions; queue one redaction per chat card."""
    # Staff text may quote the patron (replies, edits kept for the audit trail); a reply still
    # queued cannot be sent once the post's ids are hashed, so it goes; parked rows stay, blank.
    await session.execute(
        update(AuditRow)
        .where(AuditRow.mention_id.in_(ids))
        .values(detail="{}")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(OutboxRow)
        .where(OutboxRow.mention_id.in_(ids), OutboxRow.kind.in_(UNSENDABLE), OutboxRow.state == "pending")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.mention_id.in_(ids))
        .values(payload="{}", last_error="")
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
    return cards


async def auto_resolve(service: DeskService, *, days: int) -> int:
    """Resolve replied mentions quiet for ``days`` (0: off); each is audited and its card updated.

    A reply still being published (``replied_at`` unset) is left alone: it is not an answer yet.
    """
    if days <= 0:
        return 0
    now = service.clock()
    where = [
        MentionRow.status.in_([s.value for s in transitions.allowed("auto_resolve")]),
        MentionRow.replied_at.is_not(None),
        MentionRow.purged_at.is_(None),
        *quiet_since(now - timedelta(days=days)),
    ]
    values = {
        "status": transitions.target("auto_resolve").value,
        "note": f"Resolved automatically: no activity for {days} days after the reply.",
    }
    total = 0
    while True:
        async with service.db.transaction() as session:
            ids = await _close(session, where, values, action="auto_resolve", now=now)
            cards = [
                {
                    "kind": "update_card",
                    "target": desk,
                    "mention_id": i,
                    "dedupe_key": f"update_card:{desk}:{i}",
                }
                for i in ids
                for desk in service.desks
            ]
            await repo.enqueue_many(session, cards, now=now)
        for desk in service.desks if ids else ():
            service.wake(desk)
        total += len(ids)
        if len(ids) < BATCH:
            return total
