"""The use cases: the staff actions on a mention, each one transaction (ingest is in `intake.py`, a mixin).

Every state change is a conditional UPDATE whose row count decides (two claims: one wins), writes
an audit row, and queues the card update in the outbox; nothing here talks to a platform.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core import actions, folding, rota_actions
from bot.core.base import ACTION_FAILED
from bot.core.directory import Directory
from bot.core.intake import Intake
from bot.core.views import ticket_view
from bot.domain.outbox import Lane, OutboxKind, dedupe_key, fold_rows
from bot.domain.transitions import Transition, target
from bot.errors import NotFound
from bot.models import (
    MAX_ID,
    ActionResult,
    Claim,
    DeskQuery,
    FoldAction,
    Ignore,
    Mention,
    OpenForm,
    Reassign,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    StaffAction,
    TicketView,
)
from bot.rota.opening import Opening, parse_opening_hours
from bot.rota.rota import Rota
from bot.routing.rules import RuleSet
from bot.store import audit, folds, mentions, outbox
from bot.store.db import Database
from bot.store.rota_repo import load_rota, rota_stamp, stamp_rota

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.store.tables import MentionRow, OutboxRow

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeskService(Intake):
    """Ingest and staff actions over one database.

    Args:
        db: the database.
        rules: the validated rules file.
        rota: the rota as loaded at start (reloaded after rota edits).
        desks: names of the desks that get a card for each mention.
        clock: returns an aware "now"; injectable for tests.
        wake: called with a desk or source name when the outbox has new work for it.
        auto_ack: reply sent to mentions that arrive while nobody is on duty ("" = off).
        fold_at: read-only items of one source waiting for a card that start a summary card
            instead (``FEED_BURST_FOLD``; 0 = never fold).
    """

    def __init__(
        self,
        db: Database,
        *,
        rules: RuleSet,
        rota: Rota,
        desks: Sequence[str],
        clock: Callable[[], datetime] = _utcnow,
        wake: Callable[[str], None] = lambda target: None,
        auto_ack: str = "",
        fold_at: int = 10,
        opening_hours: tuple[Opening, ...] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.rota = rota
        self.desks = tuple(desks)
        self.clock = clock
        self.wake = wake
        self.auto_ack = auto_ack
        self.fold_at = fold_at
        self.opening_hours = opening_hours or parse_opening_hours("")
        self.directory = Directory()
        self.rota_stamp = ""  # the meta stamp of the rota this process holds
        # source name -> its reply check (length, target), run before a reply is queued
        self.validators: dict[str, Callable[[Mention, str], None]] = {}

    async def start(self) -> None:
        """Load the staff directory."""
        async with self.db.transaction() as session:
            await self.directory.load(session)
            self.rota_stamp = await rota_stamp(session)

    async def reload_rota(self, session: AsyncSession) -> None:
        """Re-read the rota after an edit (and stamp it, so other processes re-read it too)."""
        self.rota = await load_rota(session, self.rota.zone)
        self.rota_stamp = await stamp_rota(session)

    async def refresh(self) -> None:
        """Re-read the rota and staff when another process (a worker, the CLI) changed the rota."""
        async with self.db.transaction() as session:
            stamp = await rota_stamp(session)
            if stamp != self.rota_stamp:
                self.rota = await load_rota(session, self.rota.zone)
                await self.directory.load(session, merge=True)
                self.rota_stamp = stamp

    # --- views ------------------------------------------------------------------------------

    async def view(self, mention_id: int) -> TicketView:
        """The card of one mention as it stands."""
        async with self.db.transaction() as session:
            row = await mentions.get(session, mention_id)
        if row is None:
            raise NotFound(f"no mention #{mention_id}")
        return ticket_view(row, self.directory)

    # --- staff actions ----------------------------------------------------------------------

    async def handle(self, action: StaffAction) -> ActionResult:
        """Apply one staff action; the result's message is for the actor only."""
        try:
            return await self._dispatch(action)
        except NotFound as exc:
            return ActionResult(False, f"{exc}. Check the number on the card.")
        except Exception as exc:  # any other failure: rolled back, the actor told, the process goes on
            return await self._failed(action, exc)

    async def _failed(self, action: StaffAction, exc: Exception) -> ActionResult:
        """Log the failure by class (the message may hold patron text) and reload the directory,
        whose cache may hold a row of the rolled-back transaction."""
        log.error("%s failed: %s", type(action).__name__, type(exc).__name__)
        metrics.ACTIONS.labels(type(action).__name__.lower(), "error").inc()
        try:
            async with self.db.transaction() as session:
                await self.directory.load(session)
        except Exception as again:
            log.error("staff directory not reloaded: %s", type(again).__name__)
        return ActionResult(False, ACTION_FAILED)

    async def _dispatch(self, action: StaffAction) -> ActionResult:
        mention_id = getattr(action, "mention_id", None)
        if mention_id is not None and not 0 < mention_id <= MAX_ID:
            raise NotFound(f"no mention #{mention_id}")
        match action:
            case Claim() | Release() | Resolve() | Ignore():
                return await actions.change(self, action)
            case Reply():
                return await actions.reply(self, action)
            case Reassign():
                return await actions.reassign(self, action)
            case RotaCommand():
                return await rota_actions.run(self, action)
            case DeskQuery():
                return await rota_actions.queue(self, action)
            case FoldAction():
                return await folding.run(self, action)
            case OpenForm():
                return ActionResult(True, "")  # the gate in front of the service has already said yes
        raise TypeError(f"unknown action {action!r}")  # pragma: no cover - the union is closed

    async def row(self, session: AsyncSession, mention_id: int) -> MentionRow:
        """One mention row, or NotFound; the directory learns its people if another process made them."""
        row = await mentions.get(session, mention_id)
        if row is None:
            raise NotFound(f"no mention #{mention_id}")
        await self.directory.learn(session, row.assignee, row.replied_by)
        return row

    async def record_change(
        self,
        session: AsyncSession,
        row: MentionRow,
        *,
        actor: str,
        action: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit a change and queue the card update on every desk (and its summary card's, if folded)."""
        await audit.record(session, actor=actor, action=action, now=now, mention_id=row.id, detail=detail)
        fold_id = await folds.of(session, row.id)
        if fold_id is not None:
            await outbox.enqueue_many(session, fold_rows(fold_id, self.desks, lane=Lane.UPDATE), now=now)
        for desk in self.desks:
            await outbox.enqueue(
                session,
                kind=OutboxKind.UPDATE_CARD,
                target=desk,
                mention_id=row.id,
                dedupe_key=dedupe_key(OutboxKind.UPDATE_CARD, desk, row.id),
                now=now,
            )
        for desk in self.desks:
            self.wake(desk)

    async def reply_failed(self, row: OutboxRow, *, reason: str) -> None:
        """A platform refused a reply for good: keep the row (failed), reopen the claim, tell the replier."""
        now = self.clock()
        by = json.loads(row.payload).get("by", "")
        assert row.mention_id is not None
        async with self.db.transaction() as session:
            await outbox.reschedule(session, row.id, when=now, error=reason, failed=True)
            await mentions.transition(
                session,
                row.mention_id,
                Transition.REPLY_FAILED,
                values={
                    "status": target(Transition.REPLY_FAILED).value,
                    "note": f"Reply not published: {reason}",
                },
            )
            mention = await self.row(session, row.mention_id)
            await self.record_change(
                session, mention, actor=f"source:{row.target}", action="reply_failed", now=now
            )
            text = f"Your reply to #{mention.id} was not published ({reason}). Edit it and reply again."
            await self.notify(session, by, text, now=now)

    async def notify(
        self, session: AsyncSession, staff_key: str, text: str, *, now: datetime, key: str | None = None
    ) -> None:
        """Queue a private notice to one staff member on every desk that knows them.

        With ``key``, the notice is sent at most once however often this is called.
        """
        refs = {ref.desk: ref for ref in self.directory.refs((staff_key,))}
        for desk in self.desks:
            ref = refs.get(desk)
            user_id = ref.user_id if ref else staff_key
            if ref is None and desk in self.directory.columns:
                continue  # a desk with chat ids that does not know this person
            if key and not await audit.mark(session, kind="notify", key=f"{desk}:{key}", now=now):
                continue  # sent before
            await outbox.enqueue(
                session,
                kind=OutboxKind.NOTIFY,
                target=desk,
                mention_id=None,
                dedupe_key=dedupe_key(OutboxKind.NOTIFY, desk, None, key or uuid.uuid4().hex),
                now=now,
                payload={"user_id": user_id, "display": self.directory.name(staff_key), "text": text},
            )
            self.wake(desk)

    async def announce(self, session: AsyncSession, text: str, *, now: datetime) -> None:
        """Queue a message to every desk's staff channel (daily duty post, reports)."""
        for desk in self.desks:
            await outbox.enqueue(
                session,
                kind=OutboxKind.ANNOUNCE,
                target=desk,
                mention_id=None,
                dedupe_key=dedupe_key(OutboxKind.ANNOUNCE, desk, None, uuid.uuid4().hex),
                now=now,
                payload={"text": text},
            )
            self.wake(desk)
