"""Staff-only changes to a card: internal notes and tags (any status; never sent to the patron).

Each is one transaction: the mention is read with its row locked (PostgreSQL), changed at the version
read (a change that slipped in between makes it read again, a few times) and audited; the card update
and its history line go through the outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.notes import Note, normal_tag, note_problem, tag_problem, with_note
from bot.errors import NotFound
from bot.models import AddNote, SetTag
from bot.store import mentions
from bot.views import ActionResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.context import Context
    from bot.store.mentions import StoredMention

TRIES = 5  # reads before giving up when other changes keep moving the version on
BUSY = "#{n} changed several times just now; try again."
PURGED = "#{n} was removed when its retention period ended; it takes no notes or tags."


async def _locked(ctx: Context, session: AsyncSession, mention_id: int) -> StoredMention:
    """The mention, locked for this transaction (NotFound when there is none)."""
    if await mentions.get_locked(session, mention_id) is None:
        raise NotFound(f"no mention #{mention_id}")
    return await ctx.row(session, mention_id)


async def add_note(ctx: Context, action: AddNote) -> ActionResult:
    """Store an internal note on the card and in the audit log (the text only there and on the card)."""
    text = action.text.strip()
    problem = note_problem(text)
    if problem:
        return ActionResult(False, problem)
    now = ctx.clock()
    for _ in range(TRIES):
        async with ctx.db.transaction() as session:
            me = await ctx.directory.ensure(session, action.actor)
            row = await _locked(ctx, session, action.mention_id)
            if row.purged_at is not None:
                return ActionResult(False, PURGED.format(n=row.id))
            values = {
                "staff_notes": with_note(row.staff_notes, Note(me.key, now, text)),
                "note_count": row.note_count + 1,
            }
            if not await mentions.annotate(session, row.id, version=row.version, values=values):
                continue
            row = await ctx.row(session, row.id)
            detail = {"text": text, "chars": len(text)}
            await ctx.record_change(session, row, actor=me.key, action="note", now=now, detail=detail)
        return ActionResult(True, f"Note added to #{row.id} (staff only).", ctx.render(row), changed=True)
    return ActionResult(False, BUSY.format(n=action.mention_id))


async def set_tag(ctx: Context, action: SetTag) -> ActionResult:
    """Add or remove one of the rules file's tags."""
    problem = tag_problem(action.tag, ctx.rules.tags)
    if problem:
        return ActionResult(False, problem)
    tag = normal_tag(action.tag)
    now = ctx.clock()
    for _ in range(TRIES):
        async with ctx.db.transaction() as session:
            me = await ctx.directory.ensure(session, action.actor)
            row = await _locked(ctx, session, action.mention_id)
            if row.purged_at is not None:
                return ActionResult(False, PURGED.format(n=row.id))
            tags = [t for t in row.tags.split(",") if t]
            if (tag in tags) != action.remove:
                said = "has no" if action.remove else "already has the"
                return ActionResult(False, f"#{row.id} {said} tag {tag}.", ctx.render(row))
            tags = [t for t in tags if t != tag] if action.remove else [*tags, tag]
            if not await mentions.annotate(
                session, row.id, version=row.version, values={"tags": ",".join(tags)}
            ):
                continue
            row = await ctx.row(session, row.id)
            verb = "untag" if action.remove else "tag"
            await ctx.record_change(session, row, actor=me.key, action=verb, now=now, detail={"tag": tag})
        done = "removed from" if action.remove else "added to"
        return ActionResult(True, f"Tag {tag} {done} #{row.id}.", ctx.render(row), changed=True)
    return ActionResult(False, BUSY.format(n=action.mention_id))
