"""The retention statements: which mentions are due, closing the stale ones, blanking and
pseudonymizing the purged ones and scrubbing what refers to them (bot/core/retention.py runs them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, case, delete, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.transitions import FINISHED
from bot.models import Status
from bot.store import pseudonyms
from bot.store.ingest_tables import QuarantineRow
from bot.store.mention_tables import CardRow, MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow

UNSENDABLE = ("send_reply", "send_ack", "history")  # target post gone once ids are hashed; lines moot
BLANK: dict[str, Any] = {
    "text": "",
    "full_text": "",
    "author_id": "",
    "author_handle": "",
    "author_name": "",
    "url": None,
    "content_warning": "",
    "reply_ref": "",
    "reply_text": None,
    "reply_url": None,
    "note": "",
    "staff_notes": "",  # internal notes go with the patron's words (their count stays, as a statistic)
}


def quiet_since(cutoff: datetime) -> list[ColumnElement[bool]]:
    """Nothing happened to the mention at or after ``cutoff``: no arrival, claim, reply,
    escalation or reminder (each staff action and published reply sets one of these)."""
    later = [MentionRow.claimed_at, MentionRow.replied_at, MentionRow.escalated_at, MentionRow.reminded_at]
    return [MentionRow.received_at < cutoff, *((col.is_(None) | (col < cutoff)) for col in later)]


def _finished_due(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [
        MentionRow.status.in_([s.value for s in FINISHED]),
        MentionRow.resolved_at < cutoff,
        MentionRow.purged_at.is_(None),
    ]


def _stale_due(cutoff: datetime, statuses: Iterable[Status]) -> list[ColumnElement[bool]]:
    return [
        MentionRow.status.in_([s.value for s in statuses]),
        # Always true of an unfinished mention (only finishing sets resolved_at); it lets both
        # databases find these few rows in ix_mentions_purge_due instead of a year of arrivals.
        MentionRow.resolved_at.is_(None),
        MentionRow.purged_at.is_(None),
        *quiet_since(cutoff),
    ]


async def count_due(
    session: AsyncSession, cutoff: datetime, *, stale: Iterable[Status]
) -> tuple[tuple[int, int], tuple[int, int], int]:
    """(mentions, cards) finished before ``cutoff``; (mentions, cards) in ``stale`` statuses and
    quiet since ``cutoff``; quarantined items received before it. One statement, one round trip."""
    # Each mention's card_count is kept by a trigger on cards (migration 0013): a correlated count
    # per stale mention cost 26,000 index lookups on 1,000,000 mentions, and an IN (subquery) join
    # made PostgreSQL hash the whole cards table. ix_mentions_open_quiet holds card_count, so the
    # stale count reads that index alone. JIT is off on PostgreSQL connections (bot/store/engine.py).
    cards = MentionRow.card_count
    kinds = [
        select(func.count().label("m"), func.coalesce(func.sum(cards), 0).label("c")).where(*where).cte(name)
        for name, where in (("finished", _finished_due(cutoff)), ("stale", _stale_due(cutoff, stale)))
    ]
    old = select(func.count().label("n")).where(QuarantineRow.received_at < cutoff).cte("old")
    one_row_each = kinds[0].join(kinds[1], true()).join(old, true())
    stmt = select(kinds[0].c.m, kinds[0].c.c, kinds[1].c.m, kinds[1].c.c, old.c.n).select_from(one_row_each)
    done, done_cards, quiet, quiet_cards, quarantined = (await session.execute(stmt)).one()
    return (int(done), int(done_cards)), (int(quiet), int(quiet_cards)), int(quarantined)


async def finished_due(session: AsyncSession, cutoff: datetime, *, limit: int) -> list[int]:
    """Ids of mentions finished before ``cutoff`` and not purged yet."""
    due = select(MentionRow.id).where(*_finished_due(cutoff)).limit(limit)
    return list((await session.execute(due)).scalars())


async def expire(
    session: AsyncSession,
    cutoff: datetime,
    now: datetime,
    *,
    stale: Iterable[Status],
    answered: Status,
    unanswered: Status,
    limit: int,
) -> list[int]:
    """Close mentions in ``stale`` statuses untouched since ``cutoff``: a published reply as
    ``answered``, the rest as ``unanswered`` (the timer cannot know the patron was answered)."""
    replied = (MentionRow.status == Status.REPLIED.value) & MentionRow.replied_at.is_not(None)
    status = case((replied, answered.value), else_=unanswered.value)
    return await _close(
        session, _stale_due(cutoff, stale), {"status": status}, action="expire", now=now, limit=limit
    )


async def resolve_quiet_replies(
    session: AsyncSession,
    cutoff: datetime,
    now: datetime,
    *,
    statuses: Iterable[Status],
    values: dict[str, Any],
    limit: int,
) -> list[int]:
    """Close replied mentions (a reply published) in ``statuses`` quiet since ``cutoff``."""
    where = [
        MentionRow.status.in_([s.value for s in statuses]),
        MentionRow.replied_at.is_not(None),
        MentionRow.purged_at.is_(None),
        *quiet_since(cutoff),
    ]
    return await _close(session, where, values, action="auto_resolve", now=now, limit=limit)


async def _close(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    values: dict[str, Any],
    *,
    action: str,
    now: datetime,
    limit: int,
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
        rows = [{"at": now, "actor": "timer", "action": action, "mention_id": i, "detail": "{}"} for i in ids]
        await session.execute(insert(AuditRow), rows)
    return ids


async def blank(session: AsyncSession, ids: list[int], now: datetime) -> list[Row[int, str, str]]:
    """Blank the patron fields of the mentions no other worker purged first; their original
    (id, source, external_id)."""
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


async def pseudonymize(session: AsyncSession, won: list[Row[int, str, str]]) -> None:
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


async def scrub_related(session: AsyncSession, ids: list[int]) -> list[tuple[str, int]]:
    """Blank the audit details and outbox payloads of purged mentions; their cards as (desk, mention id)."""
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
    cards = await session.execute(select(CardRow.desk, CardRow.mention_id).where(CardRow.mention_id.in_(ids)))
    return [(desk, mention_id) for desk, mention_id in cards.all()]
