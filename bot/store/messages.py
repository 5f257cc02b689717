"""Follow-ups: a later message of a conversation joined to the open mention it answers (sync, inside
ingest's one transaction). The join is keyed by a digest of the message's platform id, so a message
delivered again (a restart, a mailbox renumbered) joins once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import transitions
from bot.domain.sanitize import MAX_TEXT, cut
from bot.domain.transitions import Transition
from bot.errors import TransientError
from bot.models import Mention
from bot.store.mention_tables import MentionRow, MessageRow
from bot.store.sql import insert_for, statements

SEPARATOR = "\n\n── the patron wrote again ──\n"
NOTE = "The patron wrote again: the newest message is at the end."


@dataclass(frozen=True, slots=True)
class Joined:
    """What a follow-up did: the mention it joined, or that it was a repeat (``mention_id`` None)."""

    mention_id: int | None


def key(external_id: str) -> str:
    """The digest stored for a platform id (no patron data in the table)."""
    return hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()


def join(conn: Connection, mention: Mention, *, now: datetime) -> Joined | None:
    """Join ``mention`` to the open mention of its conversation.

    None: nothing to join (no earlier post is an open mention, or this message was carded as a mention
    of its own): ingest stores it as a new mention. ``Joined(None)``: joined before, a no-op.
    """
    if not mention.follows or _stored(conn, mention):
        return None
    target = _open_parent(conn, mention)
    if target is None:
        return None
    stmt = _remember(conn.dialect.name, target.id, mention.source, mention.external_id, now)
    inserted = conn.execute(stmt.returning(MessageRow.id))
    if inserted.scalar_one_or_none() is None:
        return Joined(None)
    # the status is decided in SQL: a claim or reply committed meanwhile is kept, not overwritten
    moves = {
        s.value: transitions.target(Transition.FOLLOW_UP)
        for s in transitions.TABLE[Transition.FOLLOW_UP].moves
    }
    values: dict[str, Any] = {
        "text": cut(f"{target.text}{SEPARATOR}{mention.text}", MAX_TEXT),
        "full_text": cut(
            f"{target.full_text or target.text}{SEPARATOR}{mention.full_text or mention.text}", 4 * MAX_TEXT
        ),
        "note": NOTE,
        "status": case(
            *((MentionRow.status == old, new.value) for old, new in moves.items()), else_=MentionRow.status
        ),
        "snoozed_until": None,  # a snoozed mention wakes when the patron writes again
        "version": MentionRow.version + 1,
    }
    if mention.reply_ref and mention.can_reply:  # answer the newest message of the thread
        values["reply_ref"] = mention.reply_ref
    open_statuses = [s.value for s in transitions.allowed_from(Transition.FOLLOW_UP)]
    changed = conn.execute(
        update(MentionRow)
        .where(MentionRow.id == target.id, MentionRow.status.in_(open_statuses))
        .values(**values)
    )
    if changed.rowcount != 1:  # finished meanwhile: undo the join; delivered again, it starts a card
        raise TransientError("the conversation was closed while a follow-up joined it")
    audit = {"at": now, "actor": f"source:{mention.source}", "action": Transition.FOLLOW_UP.value}
    conn.execute(statements(conn.dialect.name)["audit"], {**audit, "mention_id": target.id, "detail": "{}"})
    return Joined(target.id)


def _stored(conn: Connection, mention: Mention) -> bool:
    stmt = select(MentionRow.id).where(
        MentionRow.source == mention.source, MentionRow.external_id == mention.external_id
    )
    return conn.execute(stmt).first() is not None


def _open_parent(conn: Connection, mention: Mention) -> Any:
    """The newest unfinished, unpurged mention of the same author that is, or already holds, one of
    the earlier posts."""
    refs = list(dict.fromkeys(mention.follows))
    direct = select(MentionRow.id).where(
        MentionRow.source == mention.source, MentionRow.external_id.in_(refs)
    )
    via = select(MessageRow.mention_id).where(
        MessageRow.source == mention.source, MessageRow.key.in_([key(ref) for ref in refs])
    )
    ids = {row[0] for row in conn.execute(direct)} | {row[0] for row in conn.execute(via)}
    if not ids:
        return None
    open_statuses = [s.value for s in transitions.allowed_from(Transition.FOLLOW_UP)]
    stmt = (
        select(MentionRow.id, MentionRow.status, MentionRow.text, MentionRow.full_text)
        .where(MentionRow.id.in_(ids), MentionRow.status.in_(open_statuses), MentionRow.purged_at.is_(None))
        # only the patron's own messages join (invariant 10): someone else answering in the thread, who
        # could also redirect the next answer to themselves, gets a card of their own
        .where(MentionRow.author_id == mention.author_id)
        .order_by(MentionRow.id.desc())
        .limit(1)
    )
    return conn.execute(stmt).first()


async def remember_reply(
    session: AsyncSession, *, mention_id: int, source: str, external_id: str, now: datetime
) -> None:
    """Our published answer is part of the conversation: a patron answering it (a reply to it on Matrix,
    say, outside any thread) joins the mention like a follow-up to their own post."""
    if not external_id:
        return
    conn = await session.connection()
    await conn.execute(_remember(conn.dialect.name, mention_id, source, external_id, now))


def _remember(dialect: str, mention_id: int, source: str, external_id: str, now: datetime) -> Any:
    """INSERT a message of a conversation by its digest; nothing when it is there already."""
    stmt = insert_for(dialect, MessageRow).values(
        mention_id=mention_id, source=source, key=key(external_id), received_at=now
    )
    return stmt.on_conflict_do_nothing(index_elements=["source", "key"])
