"""Replies held for approval: a role with ``approval`` in the rules file has its replies held until
the approver (that staff key, whoever holds that role now, or a manager) approves them.

Approve is one conditional UPDATE (approval -> replied) that also queues the reply in the outbox with
the usual idempotency key, so two approvers at once publish it once; Reject sends it back to its
writer (approval -> claimed), never published. The writer is told the outcome in a private notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import metrics
from bot.core.authz import may_approve, operator
from bot.core.views import mention_from_row
from bot.domain import transitions
from bot.domain.labels import STATE_WORDS
from bot.domain.outbox import OutboxKind, ReplyPayload, dedupe_key, encode
from bot.domain.transitions import Transition
from bot.errors import PermanentError
from bot.models import Approve, OpenForm, Reject, StaffRef, Status
from bot.routing.escalation import covering
from bot.store import mentions, outbox
from bot.views import ActionResult

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.context import Context
    from bot.store.mentions import StoredMention
    from bot.store.rota_tables import StaffRow

NOT_APPROVER = "Only {who} or a manager can approve or reject replies for {role}."
REASON_LIMIT = 500


def approval_of(ctx: Context, role: str) -> str:
    """The staff key or role that approves ``role``'s replies ("" when its replies go straight out)."""
    spec = ctx.rules.roles.get(role)
    return spec.approval if spec else ""


def approvers(ctx: Context, role: str, now: datetime) -> tuple[str, ...]:
    """Who approves ``role``'s replies now: the staff key named, or whoever holds the named role."""
    name = approval_of(ctx, role)
    if not name:
        return ()
    if name in ctx.rules.roles:
        return covering(ctx.rules, ctx.rota, name, now)
    return (name,)


def can_approve(ctx: Context, role: str, me: StaffRow, actor: StaffRef, now: datetime) -> bool:
    """Whether ``me`` may approve ``role``'s held replies (and so reply there without approval)."""
    manager = bool(me.is_manager) or operator(actor)
    return may_approve(approval_of(ctx, role), me.key, manager=manager, holders=approvers(ctx, role, now))


async def tell_approvers(ctx: Context, session: AsyncSession, row: StoredMention, now: datetime) -> None:
    """Ask the approvers (or, with nobody holding the role now, the managers) to decide."""
    people = approvers(ctx, row.role, now) or tuple(
        r.key for r in ctx.directory.rows.values() if r.is_manager and r.active
    )
    by = ctx.directory.name(row.replied_by)
    text = (
        f"#{row.id} ({row.role}): a reply by {by} waits for your approval. "
        f"Approve, edit or reject it on the card (approve {row.id} / reject {row.id} <reason>)."
    )
    for person in people:
        await ctx.notify(session, person, text, now=now, key=f"approval:{row.id}:{row.version}:{person}")


async def decide(ctx: Context, action: Approve | Reject) -> ActionResult:
    """Approve (publish, once) or reject (back to the writer) a held reply."""
    approve = isinstance(action, Approve)
    verb = "approve" if approve else "reject"
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        me = await ctx.directory.ensure(session, action.actor)
        row = await ctx.row(session, action.mention_id)
        refused = _refusal(ctx, row, me, action.actor, verb=verb, now=now)
        if refused:
            return ActionResult(False, refused, ctx.render(row))
        text = (action.text.strip() if isinstance(action, Approve) else "") or (row.reply_text or "")
        if approve:
            problem = reply_problem(ctx, row, text)
            if problem:
                return ActionResult(
                    False, f"Not approved: {problem}. Shorten or fix the text and approve again."
                )
            values = {"status": transitions.target(Transition.APPROVE).value, "reply_text": text}
        else:
            values = {"status": transitions.target(Transition.REJECT).value}
        version, held_text = row.version, row.reply_text or ""
        won = await mentions.transition(
            session, row.id, Transition(verb), values=values, guard=mentions.Guard(version=version)
        )
        row = await ctx.row(session, row.id)
        if won:
            if approve:
                payload = ReplyPayload(text=text, by=row.replied_by or me.key)
                await outbox.enqueue(
                    session,
                    kind=OutboxKind.SEND_REPLY,
                    target=row.source,
                    mention_id=row.id,
                    dedupe_key=dedupe_key(OutboxKind.SEND_REPLY, row.source, row.id, row.version),
                    now=now,
                    payload=encode(payload),
                )
            reason = action.reason.strip()[:REASON_LIMIT] if isinstance(action, Reject) else ""
            detail = {"edited": text != held_text} if approve else {"reason_chars": len(reason)}
            await ctx.record_change(session, row, actor=me.key, action=verb, now=now, detail=detail)
            if row.replied_by and row.replied_by != me.key:
                await ctx.notify(
                    session,
                    row.replied_by,
                    _outcome(row, approve, by=ctx.directory.name(me.key), reason=reason),
                    now=now,
                    key=f"{verb}:{row.id}:{row.version}",
                )
    metrics.ACTIONS.labels(verb, "won" if won else "refused").inc()
    view = ctx.render(row)
    if won:
        if approve:
            ctx.wake(row.source)
            return ActionResult(
                True, f"Approved #{row.id}: the reply is queued for {row.source}.", view, changed=True
            )
        return ActionResult(
            True, f"Rejected #{row.id}: it went back to its writer unpublished.", view, changed=True
        )
    return ActionResult(False, f"Someone else decided on #{row.id} first: {state_words(row)}.", view)


async def open_decision(ctx: Context, action: OpenForm) -> ActionResult:
    """The gate of the Edit and Reject forms on a held reply: only someone who may decide opens them
    (the refusal comes at the click, not after the reason is typed)."""
    async with ctx.db.transaction() as session:
        me = await ctx.directory.ensure(session, action.actor)
        row = await ctx.row(session, action.mention_id)
    refused = _refusal(ctx, row, me, action.actor, verb=action.decide, now=ctx.clock())
    if refused:
        return ActionResult(False, refused, ctx.render(row))
    return ActionResult(True, "", ctx.render(row), choices=ctx.answers.names)


def _refusal(
    ctx: Context, row: StoredMention, me: StaffRow, actor: StaffRef, *, verb: str, now: datetime
) -> str:
    """Why ``me`` cannot approve or reject ``row`` now ("" when they can)."""
    if row.status != Status.APPROVAL.value:
        return f"Cannot {verb} #{row.id}: {state_words(row)}; there is no reply waiting for approval."
    if not can_approve(ctx, row.role, me, actor, now):
        return NOT_APPROVER.format(who=approval_of(ctx, row.role), role=row.role)
    return ""


def _outcome(row: StoredMention, approve: bool, *, by: str, reason: str) -> str:
    """The writer's notice: approved and going out, or rejected (with the reason) and theirs again."""
    if approve:
        return f"Your reply to #{row.id} was approved by {by} and is being published."
    why = f": {reason}" if reason else "."
    return f"Your reply to #{row.id} was not approved by {by}{why} It was not published; it is yours again."


def state_words(row: StoredMention) -> str:
    """Where the mention stands now, in plain words."""
    return STATE_WORDS[Status(row.status)].format(who=row.assignee or "someone")


def reply_problem(ctx: Context, row: StoredMention, text: str) -> str:
    """What the source says is wrong with this reply (too long, nothing to reply to), or ""."""
    validate = ctx.validators.get(row.source)
    if validate is None:
        return ""
    try:
        validate(mention_from_row(row), text)
    except PermanentError as exc:
        return str(exc).rstrip(".")
    return ""
