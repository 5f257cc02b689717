"""The desk queue (`/desk`): the open mentions and who has what, `stats`, `show N`, `fold`, `answers`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.fold import parse_fold
from bot.core import folding
from bot.core.cards import source_name, status_line, visible_line
from bot.core.reply_text import answers_query
from bot.domain import transitions
from bot.models import DeskQuery
from bot.store import mentions
from bot.views import ActionResult

if TYPE_CHECKING:
    from bot.core.context import Context


async def stats_text(ctx: Context, *, days: int = 7) -> str:
    """The report for the last ``days`` days, as text."""
    from bot.reports.branches import per_branch_lines
    from bot.reports.compute import build_report
    from bot.reports.stats import format_report

    zone = ctx.rota.zone
    until = ctx.clock().astimezone(zone).date()  # the library's today
    since = until - timedelta(days=days - 1)
    report = await build_report(ctx.db, since=since, until=until, hours=ctx.opening_hours, zone=zone)
    extra = await per_branch_lines(
        ctx.db, ctx.rules, since=since, until=until, hours=ctx.opening_hours, zone=zone
    )
    return "\n".join([format_report(report), *extra])


QUEUE_TEXT_LIMIT = 100  # characters of the patron's text per mention when the desk asks for it


async def show(ctx: Context, arg: str) -> ActionResult:
    """`/desk show N`: one mention's card as it stands (the result's ``view``)."""
    digits = arg.strip().lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        return ActionResult(False, "Say which card: `show 3`.")
    async with ctx.db.transaction() as session:
        row = await ctx.row(session, int(digits))  # NotFound: the service says there is no such card
    view = ctx.render(row)
    return ActionResult(True, f"#{view.mention_id}: {status_line(view)}", view=view)


async def queue(ctx: Context, action: DeskQuery) -> ActionResult:
    """`/desk`: the open mentions and who has what (the patron's text only when ``with_text``);
    `/desk stats`: the last 7 days; `/desk show N`: one card; `/desk fold N ...`: a summary card's
    items (``bot/core/folding.py``)."""
    verb, _, rest = action.text.strip().partition(" ")
    if verb.lower().startswith("stats"):
        return ActionResult(True, await stats_text(ctx))
    if verb.lower() == "show":
        return await show(ctx, rest)
    if verb.lower() == "fold":
        parsed = parse_fold(action.actor, rest, prefix=folding.command_prefix(action.actor.desk))
        if isinstance(parsed, str):
            return ActionResult(False, parsed)
        return await folding.run(ctx, parsed)
    if verb.lower() == "answers":
        return await answers_query(ctx, rest)
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        rows = await mentions.in_statuses(session, transitions.ACTIVE, limit=50)
    if not rows:
        return ActionResult(True, "The desk is clear: no open mentions.")
    lines = [f"{len(rows)} open mention(s):"]
    for row in rows:
        age = int((now - row.received_at).total_seconds() // 60)
        who = f"{row.status} by {ctx.directory.name(row.assignee)}" if row.assignee else row.status
        lines.append(f"#{row.id} · {row.role} · {who} · {source_name(row.source)} · {age} min ago")
        if action.with_text:
            lines.append(f"     “{visible_line(row.text or '', QUEUE_TEXT_LIMIT)}”")
    return ActionResult(True, "\n".join(lines))
