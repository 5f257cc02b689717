"""Staff actions on one mention: claim, release, resolve, ignore, reply, reassign.

Each is one transaction around a conditional UPDATE whose row count decides; the loser of a race
is told who won. Side effects (card updates, the reply itself) are queued in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.core.approval import approval_of, can_approve, tell_approvers
from bot.core.reply_text import filled, held_because
from bot.core.views import mention_from_row
from bot.crashpoints import crash_point
from bot.domain import transitions
from bot.domain.labels import STATE_WORDS
from bot.domain.notes import read_problem
from bot.domain.outbox import OutboxKind, ReplyPayload, dedupe_key, encode
from bot.domain.transitions import Transition
from bot.errors import PermanentError
from bot.models import Claim, Ignore, Reassign, Release, Reply, Resolve, Status
from bot.rota.timespec import staff_time
from bot.routing.escalation import covering
from bot.routing.router import queued_until
from bot.store import mentions, outbox
from bot.store.mentions import Guard
from bot.views import ActionResult

if TYPE_CHECKING:
    from bot.core.context import Context
    from bot.store.mentions import StoredMention
    from bot.store.rota_tables import StaffRow

Values = tuple[dict[str, Any], Guard]  # the new values, and what must still hold


def _claim(me: StaffRow, now: datetime) -> Values:
    values = {
        "status": Status.CLAIMED.value,
        "assignee": me.key,
        "claimed_at": now,
    }
    return values, Guard()


def _release(me: StaffRow, now: datetime) -> Values:
    return {"status": Status.POSTED.value, "assignee": None, "claimed_at": None}, Guard(held_by=me.key)


def _done(me: StaffRow, now: datetime) -> Values:
    return {"resolved_at": now}, Guard()


VERBS: dict[type, tuple[str, str, Callable[[StaffRow, datetime], Values]]] = {
    Claim: ("claim", "Claimed", _claim),
    Release: ("release", "Released", _release),
    Resolve: ("resolve", "Resolved", _done),
    Ignore: ("ignore", "Ignored", _done),
}


async def change(ctx: Context, action: Claim | Release | Resolve | Ignore) -> ActionResult:
    """Claim, release, resolve or ignore."""
    verb, past, values_for = VERBS[type(action)]
    if isinstance(action, Resolve) and (problem := read_problem(action.read_level)):
        return ActionResult(False, problem)
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        me = await ctx.directory.ensure(session, action.actor)
        values, guard = values_for(me, now)
        detail: dict[str, Any] | None = None
        if isinstance(action, Resolve) and (action.read_level is not None or action.directional is not None):
            values.update(read_level=action.read_level, directional=action.directional)
            detail = {"read": action.read_level, "directional": action.directional}
        values.setdefault("status", transitions.target(Transition(verb)).value)
        won = await mentions.transition(
            session,
            action.mention_id,
            Transition(verb),
            values=values,
            guard=guard,
            first={"first_claimed_at": now} if verb == "claim" else None,
        )
        row = await ctx.row(session, action.mention_id)
        if won:
            await ctx.record_change(session, row, actor=me.key, action=verb, now=now, detail=detail)
        crash_point(f"in_{verb}")
    crash_point(f"after_{verb}_commit")
    view = ctx.render(row)
    metrics.ACTIONS.labels(verb, "won" if won else "refused").inc()
    if won:
        return ActionResult(True, f"{past} #{row.id}.", view, changed=True)
    return ActionResult(False, why_not(ctx, verb, row, me), view)


def why_not(ctx: Context, verb: str, row: StoredMention, me: StaffRow) -> str:
    """The loser's message: who holds it, or why the action does not apply."""
    who = ctx.directory.name(row.assignee)
    held = row.status in transitions.HELD
    if verb in ("claim", "reply") and held and row.assignee != me.key:
        return f"#{row.id} is already claimed by {who}."
    if verb == "claim" and row.assignee == me.key:
        return f"You already have #{row.id}."
    if verb == "release" and row.assignee and row.assignee != me.key:
        return f"#{row.id} is claimed by {who}; only they can release it."
    return f"Cannot {verb} #{row.id}: {state_words(row, who)}.{what_now(row)}"


def state_words(row: StoredMention, who: str) -> str:
    """What a status means for staff, in plain words."""
    return STATE_WORDS[Status(row.status)].format(who=who or "someone")


def what_now(row: StoredMention) -> str:
    """`` You can claim, reply or ignore it.``: what the card offers now ("" when nothing)."""
    shown = transitions.available_actions(Status(row.status), row.can_reply)
    offered = [a.value for a in shown if a is not transitions.Action.OPEN_LINK]
    if not offered:
        return " Nothing more needs doing."
    listed = offered[0] if len(offered) == 1 else f"{', '.join(offered[:-1])} or {offered[-1]}"
    return f" You can {listed} it."


async def reply(ctx: Context, action: Reply) -> ActionResult:
    """Queue a reply on the patron's platform; replying claims the mention if it was free."""
    text = action.text.strip()
    if not text:
        return ActionResult(False, "The reply is empty. Write the answer after `reply N`.")
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        me = await ctx.directory.ensure(session, action.actor)
        row = await ctx.row(session, action.mention_id)
        if not row.can_reply:
            msg = f"#{row.id} comes from {row.source}, which is read-only: open the link to answer there"
            return ActionResult(False, msg + ", then resolve it.", ctx.render(row))
        try:
            text = filled(ctx, row, text)
        except ValueError as exc:
            return ActionResult(False, f"Not sent: {exc}. `answers` lists them.")
        problem = _reply_problem(ctx, row, text)
        if problem:
            return ActionResult(False, f"Not sent: {problem}. Shorten or fix the reply and send it again.")
        warning = held_because(ctx, row, action, text)  # the privacy guard: confirm to send
        if warning:
            return ActionResult(False, warning, ctx.render(row))
        held = bool(approval_of(ctx, row.role)) and not can_approve(ctx, row.role, me, action.actor, now)
        via = Transition.HOLD_REPLY if held else Transition.REPLY
        values = {
            "status": transitions.target(via).value,
            "assignee": me.key,
            "claimed_at": row.claimed_at or now,
            "reply_text": text,
            "replied_by": me.key,
            "replied_at": None,
            "reply_url": None,
            "note": "",
            "snoozed_until": None,
        }
        won = await mentions.transition(
            session,
            row.id,
            via,
            values=values,
            guard=Guard(free_or_held_by=me.key),
            first={"first_claimed_at": now},
        )
        if won and held:
            row = await ctx.row(session, row.id)
            await ctx.record_change(
                session, row, actor=me.key, action="hold_reply", now=now, detail={"chars": len(text)}
            )
            await tell_approvers(ctx, session, row, now)
        elif won:
            row = await ctx.row(session, row.id)
            payload = ReplyPayload(text=text, by=me.key, visibility=action.visibility)
            await outbox.enqueue(
                session,
                kind=OutboxKind.SEND_REPLY,
                target=row.source,
                mention_id=row.id,
                dedupe_key=dedupe_key(OutboxKind.SEND_REPLY, row.source, row.id, row.version),
                now=now,
                payload=encode(payload),
            )
            await ctx.record_change(
                session, row, actor=me.key, action="reply", now=now, detail={"chars": len(text)}
            )
        crash_point("in_reply")
    crash_point("after_reply_commit")
    view = ctx.render(row)
    metrics.ACTIONS.labels("reply", "won" if won else "refused").inc()
    if won and held:
        who = approval_of(ctx, row.role)
        msg = f"Reply to #{row.id} held for approval by {who}; you will be told whether it is approved."
        return ActionResult(True, msg, view, changed=True)
    if won:
        ctx.wake(row.source)
        return ActionResult(True, f"Reply to #{row.id} queued for {row.source}.", view, changed=True)
    return ActionResult(False, why_not(ctx, "reply", row, me), view)


def _reply_problem(ctx: Context, row: StoredMention, text: str) -> str:
    """What the source says is wrong with this reply (too long, nothing to reply to), or ""."""
    validate = ctx.validators.get(row.source)
    if validate is None:
        return ""
    try:
        validate(mention_from_row(row), text)
    except PermanentError as exc:
        return str(exc).rstrip(".")
    return ""


async def reassign(ctx: Context, action: Reassign) -> ActionResult:
    """Hand a mention to another role (whoever covers it now) or to a named person."""
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        me = await ctx.directory.ensure(session, action.actor)
        if action.person:
            person = ctx.directory.find(action.person)
            if person is None:  # another process may have added them: read the table again
                await ctx.directory.load(session, merge=True)
                person = ctx.directory.find(action.person)
            if person is None:
                return ActionResult(False, f"Unknown person {action.person!r}. `rota show` lists the names.")
            verb, values = "reassign_person", {"assignee": person.key, "claimed_at": now}
            detail: dict[str, Any] = {"person": person.key}
        elif action.role and action.role in ctx.rules.roles:
            people = covering(ctx.rules, ctx.rota, action.role, now)
            values = {
                "role": action.role,
                "on_duty": ",".join(people),
                "assignee": None,
                "queued_until": None,
            }
            verb = "reassign"
            if not people:  # nobody holds it now: it waits for the next shift, as routing queues it
                until = queued_until(ctx.rules, ctx.rota, action.role, now)
                verb, values = "reassign_queued", {**values, "queued_until": until, "claimed_at": None}
            detail = {"role": action.role}
        else:
            known = ", ".join(sorted(ctx.rules.roles))
            return ActionResult(False, f"Unknown role {action.role!r}. Roles: {known}.")
        values["status"] = transitions.target(Transition(verb)).value
        won = await mentions.transition(session, action.mention_id, Transition(verb), values=values)
        row = await ctx.row(session, action.mention_id)
        if won:
            await ctx.record_change(session, row, actor=me.key, action=verb, now=now, detail=detail)
    view = ctx.render(row)
    if won:
        target = ctx.directory.name(row.assignee) if action.person else row.role
        waits = ""
        if verb == "reassign_queued":
            opens = staff_time(view.queued_until) if view.queued_until else "someone is on the rota"
            waits = f" Nobody is on duty for {row.role} now, so it waits until {opens}."
        return ActionResult(True, f"Reassigned #{row.id} to {target}.{waits}", view, changed=True)
    return ActionResult(False, why_not(ctx, "reassign", row, me), view)
