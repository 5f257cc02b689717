"""Ingest: a source's mentions, edits and withdrawals stored, each in one transaction (invariant 9).

A mixin of ``DeskService`` (``bot/core/service.py``), which holds the state it uses; the staff actions
live there. An item whose values the database refuses, or that sanitize or routing cannot handle, is
set aside in quarantine with the cursor moved on; a connection error is raised for the caller to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core import quarantine
from bot.core.authz import may_change
from bot.crashpoints import crash_point
from bot.domain.outbox import Lane, OutboxKind, TextPayload, dedupe_key, encode, fold_rows, lane_for
from bot.domain.sanitize import safe_change, safe_mention, storable
from bot.domain.transitions import Transition, allowed_from, status_after
from bot.models import Decision, Mention, MentionChange, Status
from bot.platforms import answerable
from bot.platforms.base import Ingest
from bot.routing.router import route
from bot.store import cursors, faults, folds, mentions, messages, outbox

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from bot.core.context import Context, RotaHolder
    from bot.routing.rules import RuleSet
    from bot.store.db import Database

log = logging.getLogger(__name__)


class Intake:
    """Ingest and source-side changes; the attributes below are ``DeskService``'s."""

    db: Database
    rules: RuleSet
    held: RotaHolder
    desks: tuple[str, ...]
    clock: Callable[[], datetime]
    wake: Callable[[str], None]
    auto_ack: str
    fold_at: int
    row: Callable[..., Awaitable[Any]]
    record_change: Callable[..., Awaitable[None]]

    @property
    def context(self) -> Context:
        """The use cases' view of the service (``DeskService`` builds it)."""
        raise NotImplementedError

    async def ingest(
        self, source: str, mention: Mention | None, cursor: str | None, *, stream: str = "default"
    ) -> bool:
        """Store a mention, its routing decision, its card posts and the cursor in one transaction.

        Returns True when the mention was new or was set aside in quarantine (it is taken care of);
        a repeat (same source and external id) is a no-op apart from the cursor, and so is a
        ``join_only`` follow-up with no open mention to join (dropped: neither stored nor logged).
        """
        return await self.store(source, mention, cursor, stream=stream) is not False

    async def store(
        self,
        source: str,
        mention: Mention | None,
        cursor: str | None,
        *,
        stream: str = "default",
        tell: bool = True,
    ) -> bool | None:
        """``ingest``, saying what happened: True new, False a repeat, None set aside in quarantine.

        An item whose values the database refuses, or that routing cannot handle, is quarantined
        with the cursor moved on (invariant 9); a connection error is raised for the caller to retry.
        """
        now = self.clock()
        if cursor is not None and storable(cursor) != cursor:  # a paging token with a NUL or surrogate
            log.warning("source %s sent a position that cannot be stored; the previous one is kept", source)
            cursor = None
        try:  # sanitize and route are pure: a failure of either belongs to this item alone
            if mention is not None and not mention.sanitized:  # a last line of defence: parsers
                mention = safe_mention(mention, now=now)  # mark what they sanitized, with a clock
            decision = (  # a join-only item needs no role: it never starts a card
                route(mention, self.rules, self.held.rota, now)
                if mention is not None and not mention.join_only
                else None
            )
        except Exception as exc:
            assert mention is not None
            await self._set_aside(source, mention, cursor, stream, type(exc).__name__, tell=tell)
            return None

        joined: messages.Joined | None = None

        def work(conn: Connection) -> int | None:
            nonlocal joined
            mention_id = None
            if mention is not None:
                joined = messages.join(conn, mention, now=now)
                if joined is None and decision is not None:  # join-only, nothing to join: dropped
                    mention_id = mentions.insert(conn, mention, decision, now=now)
                    if mention_id is not None:
                        rows = self._first_rows(conn, source, mention, decision, mention_id, now=now)
                        outbox.enqueue_rows(conn, rows, now=now)
                elif joined is not None and joined.mention_id is not None:
                    outbox.enqueue_rows(conn, self._follow_up_effects(joined.mention_id), now=now)
            if cursor is not None:
                cursors.save(conn, source, stream, cursor, now=now)
            crash_point("in_ingest")
            return mention_id

        try:
            mention_id = await self.db.write(work)
        except Exception as exc:
            reason = faults.data_error(exc)
            if reason is None or mention is None:
                raise
            await self._set_aside(source, mention, cursor, stream, reason, tell=tell)
            return None
        crash_point("after_ingest_commit")
        if joined is not None:
            return self._joined(source, joined)
        if mention_id is not None and decision is not None:
            metrics.INGESTED.labels(source).inc()
            metrics.ROUTED.labels(decision.role, str(decision.queued).lower()).inc()
            log.info("ingested mention %s from %s", mention_id, source)
            for target in (*self.desks, source):
                self.wake(target)
        return mention_id is not None

    async def _set_aside(
        self, source: str, mention: Mention, cursor: str | None, stream: str, reason: str, *, tell: bool
    ) -> None:
        ctx = self.context
        await quarantine.set_aside(ctx, source, mention, cursor, stream=stream, reason=reason, tell=tell)

    async def apply_change(self, change: MentionChange) -> None:
        """The author edited or withdrew a stored mention: update the card, never lose the audit trail.

        An edit replaces the text (the text before it is kept in the audit row until purge). A
        withdrawal blanks the text and link (the patron took it back) and closes the mention as
        ignored unless someone already answered. A change not made by the author (or, for a
        withdrawal, a platform moderator) changes nothing.
        """
        now, change = self.clock(), safe_change(change)
        async with self.db.transaction() as session:
            row = await mentions.find_unpurged(session, change.source, change.external_id)
            if row is None:
                return
            if not may_change(change, row.author_id):
                log.info("refused %s of mention %s: not from its author", change.kind, row.id)
                return
            detail: dict[str, Any] | None = None
            via = Transition.EDIT if change.kind == "edit" else Transition.WITHDRAW
            if via is Transition.EDIT:
                values: dict[str, Any] = {"text": change.text, "note": "Edited by its author."}
                detail = {"before": row.text}  # patron text: retention blanks it with the mention
            else:
                values = {
                    "text": "(withdrawn by its author)",
                    "url": None,
                    "note": "The author deleted this post.",
                }
                current = Status(row.status)
                after = status_after(via, current) if current in allowed_from(via) else current
                if after != current:
                    values |= {"status": after.value, "resolved_at": now}
            if await mentions.transition(session, row.id, via, values=values):
                fresh = await self.row(session, row.id)
                await self.record_change(
                    session,
                    fresh,
                    actor=f"source:{change.source}",
                    action=change.kind,
                    now=now,
                    detail=detail,
                )

    async def take_change(self, change: MentionChange) -> None:
        """``apply_change`` as sources call it: a change whose values the database refuses is skipped
        (counted, logged by class) so that it can never hold up the items after it (invariant 9)."""
        try:
            await self.apply_change(change)
        except Exception as exc:
            reason = faults.data_error(exc)
            if reason is None:
                raise
            metrics.ERRORS.labels(change.source, reason).inc()
            what = (change.source, change.kind, reason)
            log.warning("source %s: a %s could not be stored (%s); the card keeps its text", *what)

    def _joined(self, source: str, joined: messages.Joined) -> bool:
        """A follow-up went onto an earlier card (True), or had done so before (False)."""
        if joined.mention_id is None:
            return False
        metrics.INGESTED.labels(source).inc()
        log.info("follow-up from %s joined mention %s", source, joined.mention_id)
        for desk in self.desks:
            self.wake(desk)
        return True

    def _follow_up_effects(self, mention_id: int) -> list[dict[str, Any]]:
        """A follow-up joined a mention: its cards are updated (coalesced with any pending update)."""
        return [
            {
                "kind": OutboxKind.UPDATE_CARD,
                "target": desk,
                "mention_id": mention_id,
                "dedupe_key": dedupe_key(OutboxKind.UPDATE_CARD, desk, mention_id),
            }
            for desk in self.desks
        ]

    def _first_rows(
        self,
        conn: Connection,
        source: str,
        mention: Mention,
        decision: Decision,
        mention_id: int,
        *,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """A new mention's outbox rows; a read-only item in a burst joins its source's summary card."""
        if not answerable(source):
            fold_id = folds.place(
                conn,
                source=source,
                role=decision.role,
                mention_id=mention_id,
                now=now,
                threshold=self.fold_at,
            )
            if fold_id is not None:
                return fold_rows(fold_id, self.desks, lane=Lane.READ)
        return self._first_effects(source, mention, decision, mention_id)

    def _first_effects(
        self, source: str, mention: Mention, decision: Decision, mention_id: int
    ) -> list[dict[str, Any]]:
        """The outbox rows a new mention starts with: a card per desk, and the closed-hours ack."""
        lane = lane_for(OutboxKind.POST_CARD, answerable=answerable(source))
        rows: list[dict[str, Any]] = [
            {
                "kind": OutboxKind.POST_CARD,
                "lane": lane,
                "target": desk,
                "mention_id": mention_id,
                "dedupe_key": dedupe_key(OutboxKind.POST_CARD, desk, mention_id),
            }
            for desk in self.desks
        ]
        if decision.queued and self.auto_ack and mention.can_reply:
            rows.append(
                {
                    "kind": OutboxKind.SEND_ACK,
                    "target": source,
                    "mention_id": mention_id,
                    "dedupe_key": dedupe_key(OutboxKind.SEND_ACK, source, mention_id),
                    "payload": encode(TextPayload(self.auto_ack)),
                }
            )
        return rows

    def ingest_for(self, source: str, *, stream: str = "default") -> Ingest:
        """The callback a push source calls before it acknowledges its platform."""

        async def ingest(mention: Mention | None, cursor: str | None) -> bool:
            return await self.ingest(source, mention, cursor, stream=stream)

        return ingest

    async def cursor(self, source: str, stream: str = "default") -> str | None:
        """The stored cursor of a source stream."""
        async with self.db.transaction() as session:
            return await cursors.load(session, source, stream)
