"""Snooze: a held mention set aside until a time or until the patron writes again.

A snoozed mention is neither reminded nor escalated (the timers read only claimed and open rows); it
wakes, claimed again by the same person, when its time comes (``wake_due``, run by the timers), when
the patron's follow-up joins it (the FOLLOW_UP transition in intake) or when staff wake it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot import metrics
from bot.commands.snooze_spec import SnoozeError, parse_until
from bot.core.cards import snooze_words
from bot.domain import transitions
from bot.domain.labels import STATE_WORDS
from bot.domain.transitions import Transition
from bot.models import Snooze, Status, Wake
from bot.store import mentions
from bot.store.mentions import Guard
from bot.views import ActionResult

if TYPE_CHECKING:
    from bot.core.context import Context
    from bot.store.mentions import StoredMention

BATCH = 500


def _refusal(ctx: Context, verb: str, row: StoredMention, me_key: str) -> str:
    who = ctx.directory.name(row.assignee) or "someone"
    if row.assignee and row.assignee != me_key and row.status in transitions.HELD:
        return f"#{row.id} is held by {who}; only they can {verb} it."
    if verb == "snooze" and row.status not in transitions.HELD:
        return f"Cannot snooze #{row.id}: {STATE_WORDS[Status(row.status)].format(who=who)}. Claim it first."
    return f"Cannot {verb} #{row.id}: {STATE_WORDS[Status(row.status)].format(who=who)}."


async def snooze(ctx: Context, action: Snooze) -> ActionResult:
    """Set a claimed (or answered) mention aside; only its holder may. A typed time is read in the
    zone of the mention's role (its branch's, else the library's), the zone its card shows."""
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        role = (await ctx.row(session, action.mention_id)).role
        try:
            until = parse_until(action.until, now.astimezone(ctx.rota.zone_of(role)))
        except SnoozeError as exc:
            return ActionResult(False, str(exc))
        me = await ctx.directory.ensure(session, action.actor)
        values = {
            "status": transitions.target(Transition.SNOOZE).value,
            "snoozed_until": until.astimezone(UTC) if until else None,
            "reminded_at": None,
        }
        won = await mentions.transition(
            session, action.mention_id, Transition.SNOOZE, values=values, guard=Guard(held_by=me.key)
        )
        row = await ctx.row(session, action.mention_id)
        if won:
            detail = {"until": until.astimezone(UTC).isoformat() if until else "patron"}
            await ctx.record_change(session, row, actor=me.key, action="snooze", now=now, detail=detail)
    metrics.ACTIONS.labels("snooze", "won" if won else "refused").inc()
    view = ctx.render(row)
    if won:
        return ActionResult(True, f"#{row.id}: {snooze_words(view)}.", view, changed=True)
    return ActionResult(False, _refusal(ctx, "snooze", row, me.key), view)


async def wake(ctx: Context, action: Wake) -> ActionResult:
    """Take a snoozed mention back before its time (its holder only)."""
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        me = await ctx.directory.ensure(session, action.actor)
        values = {
            "status": transitions.target(Transition.WAKE).value,
            "snoozed_until": None,
            "claimed_at": now,
        }
        won = await mentions.transition(
            session, action.mention_id, Transition.WAKE, values=values, guard=Guard(held_by=me.key)
        )
        row = await ctx.row(session, action.mention_id)
        if won:
            await ctx.record_change(session, row, actor=me.key, action="wake", now=now)
    metrics.ACTIONS.labels("wake", "won" if won else "refused").inc()
    view = ctx.render(row)
    if won:
        return ActionResult(True, f"#{row.id} is awake and yours again.", view, changed=True)
    return ActionResult(False, _refusal(ctx, "wake", row, me.key), view)


async def wake_due(ctx: Context, now: datetime) -> int:
    """Wake every mention whose snooze time has come; its holder is told once. Returns how many."""
    async with ctx.db.transaction() as session:
        due = await mentions.due_to_wake(session, now=now, limit=BATCH)
    woken = 0
    for row in due:
        async with ctx.db.transaction() as session:
            won = await mentions.transition(
                session,
                row.id,
                Transition.WAKE,
                # the reminder counts from the wake, not from the first claim
                values={
                    "status": transitions.target(Transition.WAKE).value,
                    "snoozed_until": None,
                    "claimed_at": now,
                },
                guard=Guard(version=row.version),
            )
            if not won:
                continue
            woken += 1
            fresh = await ctx.row(session, row.id)
            await ctx.record_change(session, fresh, actor="timer", action="wake", now=now)
            if fresh.assignee:
                text = f"#{row.id} ({row.role}) was snoozed until now and is back with you."
                await ctx.notify(session, fresh.assignee, text, now=now, key=f"wake:{row.id}:{row.version}")
    return woken
