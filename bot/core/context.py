"""What a use case needs from the service: the database, who is who, the rules and rota, the clock, and the
outbox calls every change makes (card updates, notices). Built by ``DeskService``; the use cases
(``actions``, ``rota_actions``, ``quarantine``) take it instead of the whole service, so they cannot
reach the service and the service can import them without a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.directory import Directory
from bot.core.views import ticket_view
from bot.domain.answers import AnswerBook
from bot.domain.history import history_line
from bot.domain.outbox import (
    HistoryPayload,
    Lane,
    NotifyPayload,
    OutboxKind,
    TextPayload,
    dedupe_key,
    encode,
    fold_rows,
)
from bot.domain.privacy import PrivacyGuard
from bot.errors import NotFound
from bot.models import Mention
from bot.rota.hours import Hours
from bot.rota.opening import Opening
from bot.rota.rota import Rota
from bot.routing.rules import RuleSet
from bot.store import audit, folds, mentions, outbox
from bot.store.db import Database
from bot.store.rota_repo import load_rota, rota_stamp, stamp_rota
from bot.views import TicketView

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.store.mentions import StoredMention

Validator = Callable[[Mention, str], None]


@dataclass(slots=True)
class RotaHolder:
    """The rota this process holds and the meta stamp it was read at; shared, so a reload is seen by all."""

    rota: Rota
    stamp: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    """The parts of the service a use case may use.

    Args:
        db: the database.
        directory: the staff directory (an in-memory cache of the staff table).
        rules: the validated rules file.
        held: the current rota (replaced in place when the rota is edited).
        opening_hours: the library's opening hours.
        desks: names of the desks that get a card for each mention.
        clock: returns an aware "now".
        wake: called with a desk or source name when the outbox has new work for it.
        validators: source name -> its reply check (length, target), run before a reply is queued.
        dated_hours: the opening hours read from LibCal, when they were (they win over ``opening_hours``).
        branch_hours: the same for each branch with an ``hours_url``, by branch key.
        public_url: where the HTTP server is reached from outside (rota feed addresses); "" when unset.
        card_history: queue one history line per change for each card's thread (``CARD_HISTORY``).
        answers: the saved answers (ANSWERS_FILE).
        guard: the privacy guard run on a reply and the patron's post before publishing.
        checkin_minutes: how long a shift's person has to check in (``CHECKIN_MINUTES``; 0 = no check-in).
    """

    db: Database
    directory: Directory
    rules: RuleSet
    held: RotaHolder
    opening_hours: tuple[Opening, ...]
    desks: tuple[str, ...]
    clock: Callable[[], datetime]
    wake: Callable[[str], None]
    validators: Mapping[str, Validator]
    dated_hours: Hours | None = None
    branch_hours: Mapping[str, Hours] = field(default_factory=dict)  # LibCal's hours per branch key
    public_url: str = ""
    card_history: bool = True  # CARD_HISTORY: a line per change in each card's thread
    answers: AnswerBook = field(default_factory=AnswerBook)
    guard: PrivacyGuard = field(default_factory=PrivacyGuard)
    checkin_minutes: int = 0

    @property
    def rota(self) -> Rota:
        """The rota as this process holds it now."""
        return self.held.rota

    def render(self, row: StoredMention) -> TicketView:
        """A stored mention as a card: staff names resolved, times in the zone of its role's branch."""
        rota = self.held.rota
        branch = rota.places.labels.get(row.role, "")
        return ticket_view(row, self.directory, zone=rota.zone_of(row.role), guard=self.guard, branch=branch)

    async def reload_rota(self, session: AsyncSession) -> None:
        """Re-read the rota after an edit (and stamp it, so other processes re-read it too)."""
        self.held.rota = await load_rota(session, self.held.rota.zone, self.held.rota.places)
        self.held.stamp = await stamp_rota(session)

    async def refresh(self) -> None:
        """Re-read the rota and staff when another process (a worker, the CLI) changed the rota."""
        async with self.db.transaction() as session:
            stamp = await rota_stamp(session)
            if stamp != self.held.stamp:
                self.held.rota = await load_rota(session, self.held.rota.zone, self.held.rota.places)
                await self.directory.load(session, merge=True)
                self.held.stamp = stamp

    async def row(self, session: AsyncSession, mention_id: int) -> StoredMention:
        """One mention row, or NotFound; the directory learns its people if another process made them."""
        row = await mentions.get(session, mention_id)
        if row is None:
            raise NotFound(f"no mention #{mention_id}")
        await self.directory.learn(session, row.assignee, row.replied_by)
        return row

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
        """Audit a change and queue the card update, and its history line, on every desk."""
        await audit.record(session, actor=actor, action=action, now=now, mention_id=row.id, detail=detail)
        fold_id = await folds.of(session, row.id)
        if fold_id is not None:  # a folded item changed: its summary card is refreshed too
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
        await self._history(session, row, actor=actor, action=action, now=now, detail=detail)
        for desk in self.desks:
            self.wake(desk)

    async def _history(
        self,
        session: AsyncSession,
        row: StoredMention,
        *,
        actor: str,
        action: str,
        now: datetime,
        detail: dict[str, Any] | None,
    ) -> None:
        """Queue the change's history line for the card's thread on every desk (in the same transaction
        as the audit row, so a crash loses neither); only whom it concerns is pinged."""
        if not self.card_history:
            return
        concerned = str((detail or {}).get("person", "")) or None
        who = self.directory.name(actor) if ":" not in actor and actor != "timer" else ""
        zone = self.held.rota.zone_of(row.role)
        line = history_line(action, who, detail, person=self.directory.name(concerned), zone=zone)
        if not line:
            return
        refs = {ref.desk: ref.user_id for ref in self.directory.refs((concerned,) if concerned else ())}
        for desk in self.desks:
            payload = HistoryPayload(line=line, ping=refs.get(desk, ""))
            await outbox.enqueue(
                session,
                kind=OutboxKind.HISTORY,
                target=desk,
                mention_id=row.id,
                dedupe_key=dedupe_key(OutboxKind.HISTORY, desk, row.id, uuid.uuid4().hex),
                now=now,
                payload=encode(payload),
            )

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
            notice = NotifyPayload(user_id=user_id, display=self.directory.name(staff_key), text=text)
            await outbox.enqueue(
                session,
                kind=OutboxKind.NOTIFY,
                target=desk,
                mention_id=None,
                dedupe_key=dedupe_key(OutboxKind.NOTIFY, desk, None, key or uuid.uuid4().hex),
                now=now,
                payload=encode(notice),
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
                payload=encode(TextPayload(text)),
            )
            self.wake(desk)
