"""Mentions: the insert of ingest, the conditional UPDATE every status change goes through, and the
selections the use cases and timers read (each named for what it is for, oldest first).

Reads return ``StoredMention``, a frozen copy of the row: what crosses into views, renderers, timers
and reports cannot be changed behind the transition table's back, nor load lazily after its session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import transitions
from bot.domain.transitions import Transition
from bot.models import Decision, Mention, Status
from bot.store import pseudonyms
from bot.store.mention_tables import MentionRow
from bot.store.sql import execute_hot


@dataclass(frozen=True, slots=True)
class StoredMention:
    """One mention as stored (every column of ``MentionRow``), frozen when read."""

    id: int
    source: str
    external_id: str
    url: str | None
    author_id: str
    author_handle: str
    author_name: str
    text: str
    full_text: str  # the whole message when ``text`` is trimmed (email quotes, signature)
    lang: str | None
    visibility: str
    content_warning: str
    can_reply: bool
    reply_ref: str
    created_at: datetime
    received_at: datetime
    status: str
    role: str
    rule: str
    reason: str
    on_duty: str  # comma-separated staff keys
    queued_until: datetime | None
    assignee: str | None
    claimed_at: datetime | None
    replied_at: datetime | None
    resolved_at: datetime | None
    reply_text: str | None
    reply_url: str | None
    replied_by: str | None
    note: str
    first_claimed_at: datetime | None
    first_replied_at: datetime | None
    escalation_level: int
    escalated_at: datetime | None
    reminded_at: datetime | None
    snoozed_until: datetime | None
    purged_at: datetime | None
    version: int
    staff_notes: str = ""  # JSON list of the latest notes ({"by", "at", "text"})
    note_count: int = 0
    tags: str = ""  # comma-separated
    read_level: int | None = None
    directional: bool | None = None
    card_count: int = 0  # the mention's cards, kept by a trigger (the retention dry run counts them)


_COLUMNS = tuple(field.name for field in fields(StoredMention))


def snapshot(row: MentionRow) -> StoredMention:
    """The frozen copy of a row (tests/core/test_store_snapshots.py keeps the fields and columns equal)."""
    return StoredMention(*(getattr(row, name) for name in _COLUMNS))


FIRST_TIMES = frozenset({"first_claimed_at", "first_replied_at"})  # set once, never overwritten


@dataclass(frozen=True, slots=True)
class Guard:
    """Extra conditions of a transition besides its allowed statuses (all that are set must hold)."""

    held_by: str | None = None  # assigned to this staff key
    unassigned: bool = False
    free_or_held_by: str | None = None  # unassigned, or assigned to this staff key
    escalation_level: int | None = None  # still at this level (no other worker escalated it)
    not_reminded: bool = False
    version: int | None = None  # nobody changed the row since it was read (a held reply not rewritten)

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions as SQL."""
        out: list[ColumnElement[bool]] = []
        if self.held_by is not None:
            out.append(MentionRow.assignee == self.held_by)
        if self.unassigned:
            out.append(MentionRow.assignee.is_(None))
        if self.free_or_held_by is not None:
            out.append(MentionRow.assignee.is_(None) | (MentionRow.assignee == self.free_or_held_by))
        if self.escalation_level is not None:
            out.append(MentionRow.escalation_level == self.escalation_level)
        if self.not_reminded:
            out.append(MentionRow.reminded_at.is_(None))
        if self.version is not None:
            out.append(MentionRow.version == self.version)
        return out


def insert(conn: Connection, mention: Mention, decision: Decision, *, now: datetime) -> int | None:
    """Store a mention; return its id, or None when it is a repeat.

    A repeat is a stored (source, external_id), or a purged mention whose external_id became the
    keyed pseudonym of this id: the INSERT … ON CONFLICT DO NOTHING comes first, then
    ``pseudonyms.drop_if_purged`` (its docstring says why this order has no race). Takes a sync
    connection: ingest runs as one function inside ``Database.write``.
    """
    status = Status.QUEUED if decision.queued else Status.ROUTED
    params = {
        "source": mention.source,
        "external_id": mention.external_id,
        "url": mention.url,
        "author_id": mention.author_id,
        "author_handle": mention.author_handle,
        "author_name": mention.author_name,
        "text": mention.text,
        "full_text": mention.full_text,
        "lang": mention.lang,
        "visibility": mention.visibility.value,
        "content_warning": mention.content_warning,
        "can_reply": mention.can_reply,
        "reply_ref": mention.reply_ref,
        "created_at": mention.created_at,
        "received_at": now,
        "status": status.value,
        "role": decision.role,
        "rule": decision.rule,
        "reason": decision.reason,
        "on_duty": ",".join(decision.on_duty),
        "queued_until": decision.queued_until,
        "note": mention.note,
        "tags": ",".join(decision.tags),
        "staff_notes": "",
        "note_count": 0,
        "version": 0,
        "escalation_level": 0,
    }
    new_id: int | None = execute_hot(conn, "mention", params)
    if new_id is not None and pseudonyms.drop_if_purged(conn, new_id, mention.source, mention.external_id):
        return None  # delivered again after its purge
    return new_id


async def transition(
    session: AsyncSession,
    mention_id: int,
    via: Transition,
    *,
    values: dict[str, Any],
    guard: Guard = Guard(),
    first: Mapping[str, datetime] | None = None,
) -> bool:
    """Conditional UPDATE of one mention with its version bump; True when this call won (row count 1).

    ``via`` names the transition (``bot.domain.transitions``): the row must be in one of its start
    statuses, and a status written must be its target. ``first`` sets each named first-time column
    (``FIRST_TIMES``) unless it is set already.
    """
    if "status" in values and not transitions.writes(via, Status(values["status"])):
        raise ValueError(f"{via} does not lead to {values['status']}")
    allowed_from = transitions.allowed_from(via)
    changes: dict[str, Any] = dict(values)
    for name, when in (first or {}).items():
        if name not in FIRST_TIMES:
            raise ValueError(f"not a first-time column: {name}")
        changes[name] = func.coalesce(getattr(MentionRow, name), when)
    stmt = (
        update(MentionRow)
        .where(MentionRow.id == mention_id, MentionRow.status.in_([s.value for s in allowed_from]))
        .where(*guard.where())
        .values(**changes, version=MentionRow.version + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def record_reply_published(
    session: AsyncSession, mention_id: int, *, url: str | None, now: datetime
) -> bool:
    """The source published the reply: its link and time (first time kept), through ``transition``
    so the version moves on like any other change of the card."""
    return await transition(
        session,
        mention_id,
        Transition.PUBLISHED,  # whatever staff did meanwhile, the reply is out
        values={"reply_url": url, "replied_at": now},
        first={"first_replied_at": now},
    )


async def get(session: AsyncSession, mention_id: int) -> StoredMention | None:
    """One mention, fresh from the database."""
    stmt = select(MentionRow).where(MentionRow.id == mention_id).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).scalar_one_or_none()
    return None if row is None else snapshot(row)


async def get_many(session: AsyncSession, mention_ids: Iterable[int]) -> dict[int, StoredMention]:
    """Several mention rows in one query, fresh from the database (id -> row; missing ids left out)."""
    ids = sorted(set(mention_ids))
    if not ids:
        return {}
    stmt = select(MentionRow).where(MentionRow.id.in_(ids)).execution_options(populate_existing=True)
    return {row.id: snapshot(row) for row in (await session.execute(stmt)).scalars()}


async def get_locked(session: AsyncSession, mention_id: int) -> StoredMention | None:
    """One mention, its row locked until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's
    one writer at a time makes the lock needless there): a read-modify-write that cannot lose an update."""
    stmt = (
        select(MentionRow)
        .where(MentionRow.id == mention_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    return None if row is None else snapshot(row)


async def find_unpurged(session: AsyncSession, source: str, external_id: str) -> StoredMention | None:
    """The stored, not yet purged mention with this platform id (an edit or withdrawal finds it)."""
    stmt = select(MentionRow).where(
        MentionRow.source == source, MentionRow.external_id == external_id, MentionRow.purged_at.is_(None)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    return None if row is None else snapshot(row)


async def in_statuses(
    session: AsyncSession, statuses: Iterable[Status], *where: ColumnElement[bool], limit: int
) -> list[StoredMention]:
    """Mentions in ``statuses`` that also meet ``where``, oldest first, at most ``limit``."""
    stmt = (
        select(MentionRow)
        .where(MentionRow.status.in_([s.value for s in statuses]), *where)
        .order_by(MentionRow.id)
        .limit(limit)
    )
    return [snapshot(row) for row in (await session.execute(stmt)).scalars()]


# The timers' selections: their conditions are in SQL so a batch holds only rows the step can act
# on (with a plain status filter and a limit, rows already handled could fill every batch).


async def queued_for_roles(session: AsyncSession, roles: Iterable[str], *, limit: int) -> list[StoredMention]:
    """Queued mentions of roles someone now covers."""
    return await in_statuses(session, {Status.QUEUED}, MentionRow.role.in_(list(roles)), limit=limit)


async def due_for_escalation(
    session: AsyncSession, statuses: Iterable[Status], *, waiting_since: datetime, limit: int
) -> list[StoredMention]:
    """Unclaimed mentions in ``statuses`` waiting (since arrival or the last escalation) since
    ``waiting_since`` or longer."""
    since = func.coalesce(MentionRow.escalated_at, MentionRow.received_at)
    return await in_statuses(
        session, statuses, MentionRow.assignee.is_(None), since <= waiting_since, limit=limit
    )


async def due_for_reminder(
    session: AsyncSession, *, claimed_before: datetime, limit: int
) -> list[StoredMention]:
    """Claims made at or before ``claimed_before`` whose claimer was not reminded yet."""
    due = (MentionRow.reminded_at.is_(None), MentionRow.claimed_at <= claimed_before)
    return await in_statuses(session, {Status.CLAIMED}, *due, limit=limit)


async def due_to_wake(session: AsyncSession, *, now: datetime, limit: int) -> list[StoredMention]:
    """Snoozed mentions whose time has come (a snooze until the patron has no time: never here)."""
    stmt = (
        select(MentionRow)
        .where(
            MentionRow.status == Status.SNOOZED.value,
            MentionRow.snoozed_until.is_not(None),
            MentionRow.snoozed_until <= now,
        )
        .order_by(MentionRow.snoozed_until)
        .limit(limit)
    )
    return [snapshot(row) for row in (await session.execute(stmt)).scalars()]


async def waiting_at_handover(
    session: AsyncSession,
    statuses: Iterable[Status],
    *,
    role: str,
    arrived_before: datetime,
    claimed_before: datetime,
    limit: int,
) -> list[StoredMention]:
    """What waits for ``role`` at a shift start: arrived before it, and unclaimed or claimed long ago."""
    return await in_statuses(
        session,
        statuses,
        MentionRow.role == role,
        MentionRow.received_at < arrived_before,
        MentionRow.assignee.is_(None) | (MentionRow.claimed_at < claimed_before),
        limit=limit,
    )


async def annotate(session: AsyncSession, mention_id: int, *, version: int, values: dict[str, Any]) -> bool:
    """Change staff-only fields (notes, tags) of an unpurged mention read at ``version``; any status.

    True when this call won: a concurrent change moved the version on, and the caller reads again.
    """
    allowed = {"staff_notes", "note_count", "tags"}
    if not set(values) <= allowed:
        raise ValueError(f"not a staff-only column: {sorted(set(values) - allowed)}")
    stmt = (
        update(MentionRow)
        .where(MentionRow.id == mention_id, MentionRow.version == version, MentionRow.purged_at.is_(None))
        .values(**values, version=MentionRow.version + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
