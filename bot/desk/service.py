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

from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.base import Ingest
from bot.desk import rota_actions, transitions
from bot.desk.directory import Directory
from bot.desk.views import ticket_view
from bot.errors import NotFound
from bot.models import (
    ActionResult,
    Claim,
    DeskQuery,
    Ignore,
    Mention,
    Reassign,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    StaffAction,
    Status,
    TicketView,
)
from bot.routing.rota import Rota
from bot.routing.router import route
from bot.routing.rules import RuleSet
from bot.store import repo
from bot.store.db import Database
from bot.store.rota_repo import load_rota
from bot.store.tables import MentionRow, OutboxRow, StaffRow

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
    ) -> None:
        self.db = db
        self.rules = rules
        self.rota = rota
        self.desks = tuple(desks)
        self.clock = clock
        self.wake = wake
        self.directory = Directory()

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
        mention_id: int | None = None
        async with self.db.transaction() as session:
            if mention is not None:
                decision = route(mention, self.rules, self.rota, now)
                mention_id = await repo.insert_mention(session, mention, decision, now=now)
                if mention_id is not None:
                    posts = [
                        {
                            "kind": "post_card",
                            "target": desk,
                            "mention_id": mention_id,
                            "dedupe_key": f"post_card:{desk}:{mention_id}",
                        }
                        for desk in self.desks
                    ]
                    await repo.enqueue_many(session, posts, now=now)
            if cursor is not None:
                await repo.save_cursor(session, source, stream, cursor, now=now)
        if mention_id is not None:
            log.info("ingested mention %s from %s", mention_id, source)
            for desk in self.desks:
                self.wake(desk)
        return mention_id is not None

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
            case Claim():
                return await self._change(action, "claim", self._claim_values)
            case Release():
                return await self._change(action, "release", self._release_values)
            case Resolve():
                return await self._change(action, "resolve", self._done_values)
            case Ignore():
                return await self._change(action, "ignore", self._done_values)
            case Reply():
                return await self._reply(action)
            case Reassign():
                return await self._reassign(action)
            case RotaCommand():
                return await rota_actions.run(self, action)
            case DeskQuery():
                return await rota_actions.queue(self, action)
        raise TypeError(f"unknown action {action!r}")  # pragma: no cover - the union is closed

    def _claim_values(self, me: StaffRow, now: datetime) -> tuple[dict[str, Any], list[Any]]:
        return {"status": Status.CLAIMED.value, "assignee": me.key, "claimed_at": now}, []

    def _release_values(self, me: StaffRow, now: datetime) -> tuple[dict[str, Any], list[Any]]:
        values = {"status": Status.POSTED.value, "assignee": None, "claimed_at": None}
        return values, [MentionRow.assignee == me.key]

    def _done_values(self, me: StaffRow, now: datetime) -> tuple[dict[str, Any], list[Any]]:
        return {"resolved_at": now}, []

    async def _change(
        self,
        action: Claim | Release | Resolve | Ignore,
        verb: str,
        values_for: Callable[[StaffRow, datetime], tuple[dict[str, Any], list[Any]]],
    ) -> ActionResult:
        now = self.clock()
        async with self.db.transaction() as session:
            me = await self.directory.ensure(session, action.actor)
            values, where = values_for(me, now)
            values.setdefault("status", transitions.target(verb).value)
            won = await repo.transition(
                session,
                action.mention_id,
                allowed_from=transitions.allowed(verb),
                values=values,
                extra_where=where,
            )
            row = await self._row(session, action.mention_id)
            if won:
                await self.record_change(session, row, actor=me.key, action=verb, now=now)
        view = ticket_view(row, self.directory)
        if won:
            return ActionResult(True, f"{_past(verb)} #{row.id}.", view, changed=True)
        return ActionResult(False, self._why_not(verb, row, me), view)

    def _why_not(self, verb: str, row: MentionRow, me: StaffRow) -> str:
        who = self.directory.name(row.assignee)
        held = row.status in (Status.CLAIMED, Status.REPLIED)
        if verb in ("claim", "reply") and held and row.assignee != me.key:
            return f"#{row.id} is already claimed by {who}."
        if verb == "claim" and row.assignee == me.key:
            return f"You already have #{row.id}."
        if verb == "release" and row.assignee and row.assignee != me.key:
            return f"#{row.id} is claimed by {who}; only they can release it."
        return f"Cannot {verb} #{row.id}: it is {row.status}."

    async def _row(self, session: AsyncSession, mention_id: int) -> MentionRow:
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

    async def _reply(self, action: Reply) -> ActionResult:
        text = action.text.strip()
        if not text:
            return ActionResult(False, "The reply is empty. Write the answer after `reply N`.")
        now = self.clock()
        async with self.db.transaction() as session:
            me = await self.directory.ensure(session, action.actor)
            row = await self._row(session, action.mention_id)
            if not row.can_reply:
                msg = f"#{row.id} comes from {row.source}, which is read-only: open the link to answer there"
                return ActionResult(False, msg + ", then resolve it.", ticket_view(row, self.directory))
            won = await repo.transition(
                session,
                action.mention_id,
                allowed_from=transitions.allowed("reply"),
                values={
                    "status": Status.REPLIED.value,
                    "assignee": me.key,
                    "claimed_at": row.claimed_at or now,
                    "reply_text": text,
                    "replied_by": me.key,
                    "replied_at": None,
                    "reply_url": None,
                    "note": "",
                },
                extra_where=[(MentionRow.assignee.is_(None)) | (MentionRow.assignee == me.key)],
            )
            if won:
                row = await self._row(session, action.mention_id)
                await repo.enqueue(
                    session,
                    kind="send_reply",
                    target=row.source,
                    mention_id=row.id,
                    dedupe_key=f"reply:{row.id}:{row.version}",
                    now=now,
                    payload={"text": text, "by": me.key},
                )
                await self.record_change(
                    session, row, actor=me.key, action="reply", now=now, detail={"chars": len(text)}
                )
        if won:
            self.wake(row.source)
            return ActionResult(
                True, f"Reply to #{row.id} queued for {row.source}.", ticket_view(row, self.directory), True
            )
        return ActionResult(False, self._why_not("reply", row, me), ticket_view(row, self.directory))

    async def _reassign(self, action: Reassign) -> ActionResult:
        now = self.clock()
        async with self.db.transaction() as session:
            me = await self.directory.ensure(session, action.actor)
            if action.person:
                person = self.directory.find(action.person)
                if person is None:
                    return ActionResult(
                        False, f"Unknown person {action.person!r}. Try `rota show` to see names."
                    )
                verb, values = "reassign_person", {"assignee": person.key, "claimed_at": now}
                detail: dict[str, Any] = {"person": person.key}
            elif action.role and action.role in self.rules.roles:
                on_duty = self.rota.on_duty(action.role, now)
                verb, values = (
                    "reassign",
                    {"role": action.role, "on_duty": ",".join(on_duty), "assignee": None},
                )
                detail = {"role": action.role}
            else:
                known = ", ".join(sorted(self.rules.roles))
                return ActionResult(False, f"Unknown role {action.role!r}. Roles: {known}.")
            values["status"] = transitions.target(verb).value
            won = await repo.transition(
                session, action.mention_id, allowed_from=transitions.allowed(verb), values=values
            )
            row = await self._row(session, action.mention_id)
            if won:
                await self.record_change(session, row, actor=me.key, action=verb, now=now, detail=detail)
        view = ticket_view(row, self.directory)
        if won:
            target = self.directory.name(action.person and row.assignee) or row.role
            return ActionResult(True, f"Reassigned #{row.id} to {target}.", view, changed=True)
        return ActionResult(False, f"Cannot reassign #{row.id}: it is {row.status}.", view)

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
            mention = await self._row(session, row.mention_id)
            await self.record_change(
                session, mention, actor=f"source:{row.target}", action="reply_failed", now=now
            )
            text = f"Your reply to #{mention.id} was not published ({reason}). Edit it and reply again."
            await self.notify(session, by, text, now=now)

    async def notify(self, session: AsyncSession, staff_key: str, text: str, *, now: datetime) -> None:
        """Queue a private notice to one staff member on every desk that knows them."""
        refs = {ref.desk: ref for ref in self.directory.refs((staff_key,))}
        for desk in self.desks:
            ref = refs.get(desk)
            user_id = ref.user_id if ref else staff_key
            if desk in ("slack", "matrix") and ref is None:
                continue
            await repo.enqueue(
                session,
                kind="notify",
                target=desk,
                mention_id=None,
                dedupe_key=f"notify:{desk}:{uuid.uuid4().hex}",
                now=now,
                payload={"user_id": user_id, "display": self.directory.name(staff_key), "text": text},
            )
            self.wake(desk)


def _past(verb: str) -> str:
    return {"claim": "Claimed", "release": "Released", "resolve": "Resolved", "ignore": "Ignored"}[verb]
