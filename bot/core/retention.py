"""Retention: after RETENTION_DAYS nothing about a mention identifies its patron or holds their words.

Due are mentions finished more than RETENTION_DAYS ago, and open ones nobody has touched for that
long (closed first, audit action "expire": resolved if a reply was published, else ignored; then
purged in the same transaction), so no mention stays for ever. A purge blanks the patron's text,
names, handles and links, replaces the platform id with its keyed pseudonym
(``bot.store.pseudonyms``: a re-delivery is still a repeat), empties the details of the mention's
audit rows and the payloads of its outbox rows, drops replies that can no longer be sent, and
redacts each chat card once through the outbox. Quarantined items older than RETENTION_DAYS are
deleted, and so are shift check-ins of shifts that ended before then. Counts, roles, rules and
timings stay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.history import history_line
from bot.domain.outbox import HistoryPayload, OutboxKind, dedupe_key, encode
from bot.domain.transitions import Transition, allowed_from, target
from bot.store import audit, checkins, outbox, quarantine
from bot.store import retention as store

if TYPE_CHECKING:
    from bot.core.service import DeskService

BATCH = 500


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """How many mentions were (or would be) purged, chat cards redacted, stale mentions closed
    first (``expired``, part of ``mentions``) and quarantined items deleted."""

    mentions: int
    cards: int
    expired: int = 0
    quarantined: int = 0


async def purge(service: DeskService, *, days: int, dry_run: bool = False) -> PurgeResult:
    """Purge mentions due after ``days`` and old quarantined items; with ``dry_run``, only count."""
    now = service.clock()
    cutoff = now - timedelta(days=days)
    if dry_run:
        return await _count(service, cutoff)
    async with service.db.transaction() as session:
        quarantined = await quarantine.purge_before(session, cutoff)  # set-aside items hold patron text
        await checkins.purge_before(session, cutoff)  # who was on shift and answered: staff, not counted
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
    async with service.db.transaction() as session:
        due = await store.count_due(session, cutoff, stale=allowed_from(Transition.EXPIRE))
    (done, done_cards), (stale, stale_cards), quarantined = due
    return PurgeResult(done + stale, done_cards + stale_cards, stale, quarantined)


async def _purge_batch(service: DeskService, cutoff: datetime, now: datetime) -> PurgeResult:
    async with service.db.transaction() as session:
        ids = await store.finished_due(session, cutoff, limit=BATCH)
        expired = []
        if len(ids) < BATCH:
            expired = await store.expire(
                session,
                cutoff,
                now,
                stale=allowed_from(Transition.EXPIRE),
                answered=target(Transition.AUTO_RESOLVE),
                unanswered=target(Transition.EXPIRE),
                limit=BATCH - len(ids),
            )
        won = await store.blank(session, ids + expired, now)
        if not won:
            return PurgeResult(0, 0)
        await store.pseudonymize(session, won)
        mention_ids = [row.id for row in won]
        cards = await store.scrub_related(session, mention_ids)
        redactions = [
            {
                "kind": OutboxKind.REDACT_CARD,
                "target": desk,
                "mention_id": i,
                "dedupe_key": dedupe_key(OutboxKind.REDACT_CARD, desk, i),
            }
            for desk, i in cards
        ]
        await outbox.enqueue_many(session, redactions, now=now)
        await audit.record(session, actor="timer", action="purge", now=now, detail={"mentions": len(won)})
    for desk in {desk for desk, _ in cards}:
        service.wake(desk)
    return PurgeResult(len(won), len(cards), len(set(expired) & set(mention_ids)))


async def auto_resolve(service: DeskService, *, days: int) -> int:
    """Resolve replied mentions quiet for ``days`` (0: off); each is audited and its card updated.

    A reply still being published (``replied_at`` unset) is left alone: it is not an answer yet.
    """
    if days <= 0:
        return 0
    now = service.clock()
    values = {
        "status": target(Transition.AUTO_RESOLVE).value,
        "note": f"Resolved automatically: no activity for {days} days after the reply.",
    }
    total = 0
    while True:
        async with service.db.transaction() as session:
            ids = await store.resolve_quiet_replies(
                session,
                now - timedelta(days=days),
                now,
                statuses=allowed_from(Transition.AUTO_RESOLVE),
                values=values,
                limit=BATCH,
            )
            cards = [
                {
                    "kind": OutboxKind.UPDATE_CARD,
                    "target": desk,
                    "mention_id": i,
                    "dedupe_key": dedupe_key(OutboxKind.UPDATE_CARD, desk, i),
                }
                for i in ids
                for desk in service.desks
            ]
            await outbox.enqueue_many(session, cards + _history_rows(service, ids), now=now)
        for desk in service.desks if ids else ():
            service.wake(desk)
        total += len(ids)
        if len(ids) < BATCH:
            return total


def _history_rows(service: DeskService, ids: list[int]) -> list[dict[str, Any]]:
    """One "resolved automatically" line for each card's thread (CARD_HISTORY), like a staff Resolve."""
    if not service.card_history or not ids:
        return []
    payload = encode(HistoryPayload(line=history_line("auto_resolve", "")))
    return [
        {
            "kind": OutboxKind.HISTORY,
            "target": desk,
            "mention_id": i,
            "dedupe_key": dedupe_key(OutboxKind.HISTORY, desk, i, uuid.uuid4().hex),
            "payload": payload,
        }
        for i in ids
        for desk in service.desks
    ]
