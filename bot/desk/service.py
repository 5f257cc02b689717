"""The use cases: ingest a mention, and the staff actions on it. Each is one transaction.

Every state change is a conditional UPDATE whose row count decides (two claims: one wins), writes
an audit row, and queues the card update in the outbox; nothing here talks to a platform.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.adapters.base import Ingest
from bot.crashpoints import crash_point
from bot.desk import actions, rota_actions, transitions
from bot.desk.directory import Directory
from bot.desk.views import ticket_view
from bot.domain.sanitize import safe_change, safe_mention
from bot.errors import NotFound
from bot.models import (
    ActionResult,
    Claim,
    Decision,
    DeskQuery,
    Ignore,
    Mention,
    MentionChange,
    Reassign,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    StaffAction,
    Status,
    TicketView,
)
from bot.routing.opening import Opening, parse_opening_hours
from bot.routing.rota import Rota
from bot.routing.router import route
from bot.routing.rules import RuleSet
from bot.store import repo
from bot.store.db import Database
from bot.store.rota_repo import load_rota
from bot.store.tables import MentionRow, OutboxRow

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeskService:
    """Ingest and staff actions over one database.

    Args:
        db: the database.
        rules: the validated rules file.
        rota: the rota as loaded at start (reloaded after rota edits).
        desks: names of the desks that get a card for each mention.
        clock: returns an aware "now"; injectable for tests.
        wake: called with a desk or source name when the outbox has new work for it.
        auto_ack: reply sent to mentions that arrive while nobody is on duty ("" = off).
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
        opening_hours: tuple[Opening, ...] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.rota = rota
        self.desks = tuple(desks)
        self.clock = clock
        self.wake = wake
        self.auto_ack = auto_ack
        self.opening_hours = opening_hours or parse_opening_hours("")
        self.directory = Directory()
        # source name -> its reply check (length, target), run before a reply is queued
        self.validators: dict[str, Callable[[Mention, str], None]] = {}

    async def start(self) -> None:
        """Load the staff directory."""
        async with self.db.transaction() as session:
            await self.directory.load(session)

    async def reload_rota(self, session: AsyncSession) -> None:
        """Re-read the rota after an edit."""
        self.rota = await load_rota(session, self.rota.zone)

    # --- ingest -----------------------------------------------------------------------------

    async def ingest(
        self, source: str, mention: Mention | None, cursor: str | None, *, stream: str = "default"
    ) -> bool:
        """Store a mention, its routing decision, its card posts and the cursor in one transaction.

        Returns True when the mention was new; a repeat (same source and external id) is a no-op
        apart from the cursor.
        """
        now = self.clock()
        mention = safe_mention(mention, now=now) if mention is not None else None  # last line of defence
        decision = route(mention, self.rules, self.rota, now) if mention is not None else None

        def work(conn: Connection) -> int | None:
            mention_id = None
            if mention is not None and decision is not None:
                mention_id = repo.insert_mention(conn, mention, decision, now=now)
                if mention_id is not None:
                    repo.enqueue_rows(
                        conn, self._first_effects(source, mention, decision, mention_id), now=now
                    )
            if cursor is not None:
                repo.save_cursor(conn, source, stream, cursor, now=now)
            crash_point("in_ingest")
            return mention_id

        mention_id = await self.db.write(work)
        crash_point("after_ingest_commit")
        if mention_id is not None and decision is not None:
            metrics.INGESTED.labels(source).inc()
            metrics.ROUTED.labels(decision.role, str(decision.queued).lower()).inc()
            log.info("ingested mention %s from %s", mention_id, source)
            for target in (*self.desks, source):
                self.wake(target)
        return mention_id is not None

    async def apply_change(self, change: MentionChange) -> None:
        """The author edited or withdrew a stored mention: update the card, never lose the audit trail.

        An edit replaces the text. A withdrawal blanks the text and link (the patron took it back)
        and closes the mention as ignored unless someone already answered.
        """
        now, change = self.clock(), safe_change(change)
        where = (MentionRow.source == change.source, MentionRow.external_id == change.external_id)
        async with self.db.transaction() as session:
            row = (
                await session.execute(select(MentionRow).where(*where, MentionRow.purged_at.is_(None)))
            ).scalar_one_or_none()
            if row is None:
                return
            if change.kind == "edit":
                values: dict[str, Any] = {"text": change.text, "note": "Edited by its author."}
                allowed = frozenset(Status)
            else:
                values = {
                    "text": "(withdrawn by its author)",
                    "url": None,
                    "note": "The author deleted this post.",
                }
                allowed = frozenset(Status) - {Status.REPLIED, Status.RESOLVED}
                if row.status in transitions.ACTIVE - {Status.REPLIED}:
                    values |= {"status": Status.IGNORED.value, "resolved_at": now}
            if await repo.transition(session, row.id, allowed_from=allowed, values=values):
                fresh = await self.row(session, row.id)
                await self.record_change(
                    session, fresh, actor=f"source:{change.source}", action=change.kind, now=now
                )

    def _first_effects(
        self, source: str, mention: Mention, decision: Decision, mention_id: int
    ) -> list[dict[str, Any]]:
        """The outbox rows a new mention starts with: a card per desk, and the closed-hours ack."""
        rows: list[dict[str, Any]] = [
            {
                "kind": "post_card",
                "target": desk,
                "mention_id": mention_id,
                "dedupe_key": f"post_card:{desk}:{mention_id}",
            }
            for desk in self.desks
        ]
        if decision.queued and self.auto_ack and mention.can_reply:
            rows.append(
                {
                    "kind": "send_ack",
                    "target": source,
                    "mention_id": mention_id,
                    "dedupe_key": f"ack:{mention_id}",
                    "payload": {"text": self.auto_ack},
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
            return await repo.load_cursor(session, source, stream)

    # --- views ------------------------------------------------------------------------------

    async def view(self, mention_id: int) -> TicketView:
        """The card of one mention as it stands."""
        async with self.db.transaction() as session:
            row = await repo.get_mention(session, mention_id)
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
        except Exception:
            async with self.db.transaction() as session:  # the cache may hold a rolled-back row
                await self.directory.load(session)
            raise

    async def _dispatch(self, action: StaffAction) -> ActionResult:
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
        raise TypeError(f"unknown action {action!r}")  # pragma: no cover - the union is closed

    async def row(self, session: AsyncSession, mention_id: int) -> MentionRow:
        """One mention row, or NotFound."""
        row = await repo.get_mention(session, mention_id)
        if row is None:
            raise NotFound(f"no mention #{mention_id}")
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
        """Audit a change and queue the card update on every desk."""
        await repo.audit(session, actor=actor, action=action, now=now, mention_id=row.id, detail=detail)
        for desk in self.desks:
            await repo.enqueue(
                session,
                kind="update_card",
                target=desk,
                mention_id=row.id,
                dedupe_key=f"update_card:{desk}:{row.id}",
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
            await repo.reschedule(session, row.id, when=now, error=reason, failed=True)
            await repo.transition(
                session,
                row.mention_id,
                allowed_from=transitions.allowed("reply_failed"),
                values={"status": Status.CLAIMED.value, "note": f"Reply not published: {reason}"},
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
            if desk in ("slack", "matrix") and ref is None:
                continue
            if key and not await repo.mark(session, kind="notify", key=f"{desk}:{key}", now=now):
                continue  # sent before
            await repo.enqueue(
                session,
                kind="notify",
                target=desk,
                mention_id=None,
                dedupe_key=f"notify:{desk}:{key or uuid.uuid4().hex}",
                now=now,
                payload={"user_id": user_id, "display": self.directory.name(staff_key), "text": text},
            )
            self.wake(desk)

    async def announce(self, session: AsyncSession, text: str, *, now: datetime) -> None:
        """Queue a message to every desk's staff channel (daily duty post, reports)."""
        for desk in self.desks:
            await repo.enqueue(
                session,
                kind="announce",
                target=desk,
                mention_id=None,
                dedupe_key=f"announce:{desk}:{uuid.uuid4().hex}",
                now=now,
                payload={"text": text},
            )
            self.wake(desk)
