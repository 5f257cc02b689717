"""What each outbox kind does: post or update a card, publish a reply, notify, announce, redact.

The relay (``bot/core/relay.py``) decides when a row runs and what happens after a failure; this module
only carries out one row. A desk or source not running in this process parks the row for ``PARK``
seconds (another worker may run it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core import folding
from bot.core.views import mention_from_row
from bot.crashpoints import crash_point, reconcile_enabled
from bot.domain.outbox import (
    CheckinPayload,
    DutyPayload,
    FoldPayload,
    HistoryPayload,
    NotifyPayload,
    OutboxKind,
    ReplyPayload,
    TextPayload,
    kind_of,
    payload_as,
)
from bot.domain.transitions import Transition
from bot.errors import NotYet, TransientError
from bot.models import StaffRef, Status, narrower
from bot.platforms import role_channel_column
from bot.platforms.capabilities import (
    Announces,
    AsksCheckIn,
    Paces,
    Redacts,
    ShowsFolds,
    SourceAdapter,
    StaffDesk,
    SyncsDutyGroups,
    Threads,
)
from bot.store import audit, cards, duty, folds, mentions, messages, outbox

if TYPE_CHECKING:
    from bot.store.outbox_tables import OutboxRow

PARK = 300.0  # seconds before retrying a row whose target is missing or refused it for now
FOLD_REFRESH = 2.0  # seconds between two edits of one summary card


class Effects:
    """The side effects of outbox rows, on this process's desks and sources (shared with the relay)."""

    def __init__(
        self, service: Any, *, desks: Mapping[str, StaffDesk], sources: Mapping[str, SourceAdapter]
    ) -> None:
        self.service = service
        self.db = service.db
        self.desks = desks
        self.sources = sources
        self._folds_shown: dict[str, datetime] = {}  # a summary card's outbox key -> when last drawn

    @property
    def clock(self) -> Callable[[], datetime]:
        """The service's clock."""
        return self.service.clock

    async def carry_out(self, row: OutboxRow) -> None:
        """Carry out one leased row; platform errors propagate to the relay, which retries or parks."""
        handler = {
            OutboxKind.POST_CARD: self._post_card,
            OutboxKind.UPDATE_CARD: self._update_card,
            OutboxKind.SEND_REPLY: self._send_reply,
            OutboxKind.SEND_ACK: self._send_ack,
            OutboxKind.NOTIFY: self._notify,
            OutboxKind.ANNOUNCE: self._announce,
            OutboxKind.REDACT_CARD: self._redact_card,
            OutboxKind.SHOW_FOLD: self._show_fold,
            OutboxKind.HISTORY: self._history,
            OutboxKind.CHECKIN: self._checkin,
            OutboxKind.DUTY_GROUP: self._duty_group,
        }[kind_of(row.kind)]
        await handler(row)

    async def turns(self, rows: list[OutboxRow]) -> dict[int, float]:
        """Seconds each new card must still wait for its channel, asked of a pacing desk before any
        row is taken (row id -> seconds; rows missing from the answer may go now)."""
        posts = [r for r in rows if r.kind == OutboxKind.POST_CARD and r.mention_id is not None]
        desk = self.desks.get(posts[0].target) if posts else None
        if desk is None or not isinstance(desk, Paces):
            return {}
        column = role_channel_column(desk.desk)
        found, channels = [], dict[str, str]()
        async with self.db.transaction() as session:
            ids = (r.mention_id for r in posts if r.mention_id is not None)
            stored = await mentions.get_many(session, ids)
            for row in posts:
                mention = stored.get(row.mention_id or 0)
                if mention is not None and row.attempts == 0:  # a retry reconciles first: let it run
                    if mention.role not in channels:
                        channels[mention.role] = await cards.role_channel(session, mention.role, column)
                    found.append((row, mention, channels[mention.role]))
        waits: dict[int, float] = {}
        for row, mention, channel in found:
            view = self.service.render(mention)
            wait = await desk.slot(view, channel=channel, dedupe_key=row.dedupe_key, lane=row.lane)
            if wait > 0:
                waits[row.id] = wait
        return waits

    async def _finish(self, row: OutboxRow) -> None:
        async with self.db.transaction() as session:
            await outbox.finish(session, row.id, version=row.version)

    def _desk(self, row: OutboxRow) -> StaffDesk:
        desk = self.desks.get(row.target)
        if desk is None:
            raise TransientError(f"desk {row.target} is not running here", retry_after=PARK)
        return desk

    def _source(self, row: OutboxRow) -> SourceAdapter:
        source = self.sources.get(row.target)
        if source is None:
            raise TransientError(f"source {row.target} is not running here", retry_after=PARK)
        return source

    async def _post_card(self, row: OutboxRow) -> None:
        desk = self._desk(row)
        assert row.mention_id is not None
        async with self.db.transaction() as session:
            card = await cards.get_card(session, row.mention_id, row.target)
            mention = await mentions.get(session, row.mention_id)
            column = role_channel_column(row.target)  # None: this desk has no role channels
            channel = "" if mention is None else await cards.role_channel(session, mention.role, column)
        if card is not None or mention is None:  # posted before a crash, or purged
            await self._finish(row)
            return
        view = self.service.render(mention)
        retry = row.attempts > 0 and reconcile_enabled()  # tried before: it may have landed
        ref = await desk.post_card(view, channel=channel, dedupe_key=row.dedupe_key, retry=retry)
        metrics.POSTED.labels(row.target).inc()
        async with self.db.transaction() as session:
            await cards.save_card(session, mention.id, ref)
            await mentions.transition(
                session,
                mention.id,
                Transition.POSTED,
                values={"status": Status.POSTED.value},
            )
            await outbox.finish(session, row.id, version=row.version)

    async def _update_card(self, row: OutboxRow) -> None:
        desk = self._desk(row)
        assert row.mention_id is not None
        async with self.db.transaction() as session:
            card = await cards.get_card(session, row.mention_id, row.target)
            mention = await mentions.get(session, row.mention_id)
            posting = card is None and await outbox.post_pending(
                session, desk=row.target, mention_id=row.mention_id
            )
        if posting:  # an earlier attempt may have landed, drawn before this change: update it once stored
            raise NotYet("card not stored yet", retry_after=1.0)
        if card is None or mention is None:  # never posted here, or purged
            await self._finish(row)
            return
        crash_point("before_card_update")
        await desk.update_card(card, self.service.render(mention))
        crash_point("after_card_update")
        await self._finish(row)

    async def _show_fold(self, row: OutboxRow) -> None:
        """Post or refresh a summary card; refreshes come at most every ``FOLD_REFRESH`` per card."""
        desk = self._desk(row)
        if not isinstance(desk, ShowsFolds):  # this desk cannot show one: its items stay in the list
            await self._finish(row)
            return
        fold_id = payload_as(FoldPayload, row.kind, row.payload).fold
        async with self.db.transaction() as session:
            stats = await folds.stats(session, fold_id)
            ref = await folds.get_card(session, fold_id, row.target)
            column = role_channel_column(row.target)
            channel = "" if stats is None else await cards.role_channel(session, stats.role, column)
        if stats is None:
            await self._finish(row)
            return
        view = folding.fold_view(stats)
        if ref is None:
            ref = await desk.post_fold(
                view,
                channel=channel,
                dedupe_key=row.dedupe_key,
                retry=row.attempts > 0 and reconcile_enabled(),
            )
            async with self.db.transaction() as session:
                await folds.save_card(session, fold_id, ref)
                await outbox.finish(session, row.id, version=row.version)
        else:
            shown = self._folds_shown.get(row.dedupe_key)
            wait = 0.0 if shown is None else FOLD_REFRESH - (self.clock() - shown).total_seconds()
            if wait > 0:  # a burst bumps this row on every item: draw the counts now and then
                raise NotYet("summary card refreshed a moment ago", retry_after=wait)
            await desk.update_fold(ref, view)
            await self._finish(row)
        self._folds_shown[row.dedupe_key] = self.clock()

    async def _redact_card(self, row: OutboxRow) -> None:
        """Retention: remove the patron's words from the chat copy (a desk may truly redact)."""
        desk = self._desk(row)
        assert row.mention_id is not None
        async with self.db.transaction() as session:
            ref = await cards.get_card(session, row.mention_id, row.target)
            mention = await mentions.get(session, row.mention_id)
        if ref is not None and mention is not None:
            view = self.service.render(mention)
            if isinstance(desk, Redacts):
                await desk.redact_card(ref, view)
            else:
                await desk.update_card(ref, view)
        await self._finish(row)

    async def _send_reply(self, row: OutboxRow) -> None:
        source = self._source(row)
        assert row.mention_id is not None
        async with self.db.transaction() as session:
            mention = await mentions.get(session, row.mention_id)
        if mention is None:
            await self._finish(row)
            return
        payload = payload_as(ReplyPayload, row.kind, row.payload)
        to = mention_from_row(mention)
        if payload.visibility:  # staff chose a narrower audience for the reply
            to = replace(to, visibility=narrower(to.visibility, payload.visibility))
        crash_point("before_source_reply")
        ref = await source.reply(to, payload.text, idempotency_key=row.dedupe_key)
        crash_point("after_source_reply")
        metrics.REPLIED.labels(row.target).inc()
        now = self.clock()
        async with self.db.transaction() as session:
            await mentions.record_reply_published(session, mention.id, url=ref.url, now=now)
            await messages.remember_reply(
                session, mention_id=mention.id, source=mention.source, external_id=ref.external_id, now=now
            )
            await self.service.record_change(
                session, mention, actor=f"source:{row.target}", action="reply_published", now=now
            )
            await outbox.finish(session, row.id, version=row.version)

    async def _send_ack(self, row: OutboxRow) -> None:
        """The closed-hours acknowledgement: a reply that changes nothing on the card."""
        source = self._source(row)
        assert row.mention_id is not None
        async with self.db.transaction() as session:
            mention = await mentions.get(session, row.mention_id)
        if mention is not None and mention.status == Status.QUEUED.value:  # nobody answered meanwhile
            text = payload_as(TextPayload, row.kind, row.payload).text
            await source.reply(mention_from_row(mention), text, idempotency_key=row.dedupe_key)
            async with self.db.transaction() as session:
                await audit.record(
                    session,
                    actor=f"source:{row.target}",
                    action="auto_ack",
                    now=self.clock(),
                    mention_id=mention.id,
                )
        await self._finish(row)

    async def _announce(self, row: OutboxRow) -> None:
        """A message to the desk's staff channel; desks without ``announce`` skip it."""
        desk = self._desk(row)
        if isinstance(desk, Announces):
            await desk.announce(payload_as(TextPayload, row.kind, row.payload).text)
        await self._finish(row)

    async def _history(self, row: OutboxRow) -> None:
        """One line in the card's thread; a desk without threads, or a card never posted, skips it."""
        desk = self._desk(row)
        assert row.mention_id is not None
        if not isinstance(desk, Threads):
            await self._finish(row)
            return
        async with self.db.transaction() as session:
            card = await cards.get_card(session, row.mention_id, row.target)
            posting = card is None and await outbox.post_pending(
                session, desk=row.target, mention_id=row.mention_id
            )
        if posting:  # the thread starts at the card: wait until it is stored
            raise TransientError("card not stored yet", retry_after=1.0)
        if card is not None:
            payload = payload_as(HistoryPayload, row.kind, row.payload)
            await desk.history(card, payload.line, ping=payload.ping, key=row.dedupe_key)
        await self._finish(row)

    async def _notify(self, row: OutboxRow) -> None:
        payload = payload_as(NotifyPayload, row.kind, row.payload)
        desk = self._desk(row)
        await desk.tell(StaffRef(row.target, payload.user_id, payload.display), payload.text)
        await self._finish(row)

    async def _checkin(self, row: OutboxRow) -> None:
        """A shift's check-in question: the desk's own controls where it has them, else a notice."""
        payload = payload_as(CheckinPayload, row.kind, row.payload)
        desk = self._desk(row)
        who = StaffRef(row.target, payload.user_id, payload.display)
        if isinstance(desk, AsksCheckIn):
            await desk.ask_checkin(who, payload.text, checkin_id=payload.checkin, key=row.dedupe_key)
        else:
            await desk.tell(who, payload.text)
        await self._finish(row)

    async def _duty_group(self, row: OutboxRow) -> None:
        """A user group set to whoever holds its role now; a desk without groups skips it."""
        payload = payload_as(DutyPayload, row.kind, row.payload)
        desk = self._desk(row)
        if isinstance(desk, SyncsDutyGroups):
            async with self.db.transaction() as session:
                users = await duty.wanted(session, row.target, payload.role)
            if users:
                await desk.set_duty_group(payload.group, users)
        await self._finish(row)
