"""The use cases: the staff actions on a mention, each one transaction (ingest is in `intake.py`, a mixin).

Every state change is a conditional UPDATE whose row count decides (two claims: one wins), writes
an audit row, and queues the card update in the outbox; nothing here talks to a platform.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core import actions, approval, checkin, desk_queue, folding, notes, reply_text, rota_actions, snooze
from bot.core.answers_file import AnswersFile
from bot.core.base import ACTION_FAILED
from bot.core.context import Context, RotaHolder, Validator
from bot.core.directory import Directory
from bot.core.intake import Intake
from bot.domain.answers import AnswerBook
from bot.domain.outbox import PayloadError, ReplyPayload, payload_as
from bot.domain.privacy import PrivacyGuard
from bot.domain.transitions import Transition, target
from bot.errors import NotFound
from bot.models import (
    MAX_ID,
    AddNote,
    Approve,
    CheckIn,
    Claim,
    DeskQuery,
    FoldAction,
    Ignore,
    OpenForm,
    Reassign,
    Reject,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    SetTag,
    Snooze,
    StaffAction,
    Wake,
)
from bot.rota.hours import Hours
from bot.rota.opening import Opening, parse_opening_hours
from bot.rota.rota import Rota
from bot.routing.rules import RuleSet
from bot.store import mentions, outbox
from bot.store.db import Database
from bot.store.rota_repo import rota_stamp
from bot.views import ActionResult, TicketView

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.store.mentions import StoredMention
    from bot.store.outbox_tables import OutboxRow

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
        self.held = RotaHolder(rota)
        self.desks = tuple(desks)
        self.clock = clock
        self.wake = wake
        self.auto_ack = auto_ack
        self.fold_at = fold_at
        self.opening_hours = opening_hours or parse_opening_hours("")
        self.dated_hours: Hours | None = None  # LibCal's hours when read (bot/core/rota_sync.py)
        self.branch_hours: dict[str, Hours] = {}  # the same per branch with an hours_url
        self.public_url = ""  # where the HTTP server is reached from outside (rota feed addresses)
        self.card_history = True  # queue a history line for each card's thread (CARD_HISTORY)
        self.answers = AnswerBook()  # ANSWERS_FILE (set by the app)
        self.answers_file: AnswersFile | None = None  # when set, read again on use when edited
        self.guard = PrivacyGuard()  # CARD_NUMBER_PATTERN (set by the app)
        self.checkin_minutes = 0  # CHECKIN_MINUTES (set by the app; 0 = no shift check-in)
        self.directory = Directory()
        # source name -> its reply check (length, target), run before a reply is queued
        self.validators: dict[str, Validator] = {}

    @property
    def context(self) -> Context:
        """What the use cases get, built from the settings as they stand (tests and the app set some late)."""
        return Context(
            db=self.db,
            directory=self.directory,
            rules=self.rules,
            held=self.held,
            opening_hours=self.opening_hours,
            desks=self.desks,
            clock=self.clock,
            wake=self.wake,
            validators=self.validators,
            dated_hours=self.dated_hours,
            branch_hours=self.branch_hours,
            public_url=self.public_url,
            card_history=self.card_history,
            answers=self.answers_file.current() if self.answers_file else self.answers,
            guard=self.guard,
            checkin_minutes=self.checkin_minutes,
        )

    @property
    def rota(self) -> Rota:
        """The rota as this process holds it now (reloaded after rota edits)."""
        return self.held.rota

    async def start(self) -> None:
        """Load the staff directory."""
        async with self.db.transaction() as session:
            await self.directory.load(session)
            self.held.stamp = await rota_stamp(session)

    async def reload_rota(self, session: AsyncSession) -> None:
        """Re-read the rota after an edit (and stamp it, so other processes re-read it too)."""
        await self.context.reload_rota(session)

    async def refresh(self) -> None:
        """Re-read the rota and staff when another process (a worker, the CLI) changed the rota."""
        await self.context.refresh()

    # --- views ------------------------------------------------------------------------------

    async def view(self, mention_id: int) -> TicketView:
        """The card of one mention as it stands."""
        async with self.db.transaction() as session:
            row = await mentions.get(session, mention_id)
        if row is None:
            raise NotFound(f"no mention #{mention_id}")
        return self.render(row)

    def render(self, row: StoredMention) -> TicketView:
        """A stored mention as a card: staff names resolved, times in the library's zone."""
        return self.context.render(row)

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
                return await actions.change(self.context, action)
            case Reply():
                return await actions.reply(self.context, action)
            case Reassign():
                return await actions.reassign(self.context, action)
            case Snooze():
                return await snooze.snooze(self.context, action)
            case Wake():
                return await snooze.wake(self.context, action)
            case Approve() | Reject():
                return await approval.decide(self.context, action)
            case AddNote():
                return await notes.add_note(self.context, action)
            case SetTag():
                return await notes.set_tag(self.context, action)
            case RotaCommand():
                return await rota_actions.run(self.context, action)
            case DeskQuery():
                return await desk_queue.queue(self.context, action)
            case FoldAction():
                return await folding.run(self.context, action)
            case CheckIn():
                return await checkin.answer(self.context, action)
            case OpenForm(decide=verb) if verb:  # Edit or Reject on a held reply: approvers only
                return await approval.open_decision(self.context, action)
            case OpenForm():  # the gate in front of the service has already said yes; the form shows the card
                return await reply_text.open_form(self.context, action)
        raise TypeError(f"unknown action {action!r}")  # pragma: no cover - the union is closed

    async def row(self, session: AsyncSession, mention_id: int) -> StoredMention:
        """One mention row, or NotFound; the directory learns its people if another process made them."""
        return await self.context.row(session, mention_id)

    async def record_change(
        self,
        session: AsyncSession,
        row: StoredMention,
        *,
        actor: str,
        action: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit a change and queue the card update on every desk (and its summary card's, if folded)."""
        await self.context.record_change(session, row, actor=actor, action=action, now=now, detail=detail)

    async def reply_failed(self, row: OutboxRow, *, reason: str) -> None:
        """A platform refused a reply for good: keep the row (failed), reopen the claim, tell the replier."""
        now = self.clock()
        try:
            by = payload_as(ReplyPayload, row.kind, row.payload).by
        except PayloadError:  # read before the reply was tried, so only if the row changed since
            by = ""
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
        """Queue a private notice to one staff member on every desk that knows them (once per ``key``)."""
        await self.context.notify(session, staff_key, text, now=now, key=key)

    async def announce(self, session: AsyncSession, text: str, *, now: datetime) -> None:
        """Queue a message to every desk's staff channel (daily duty post, reports)."""
        await self.context.announce(session, text, now=now)
