"""Rota commands (`/rota`, `!rota`, console `rota`, CLI), given the service's `Context`
(`bot/core/context.py`): permission, parsing, reading; changes are in `bot/core/rota_changes.py`.

Permission first: a command that changes the rota is refused before it is parsed further unless the
caller is a manager; identity unknown means no. Every change writes an audit row with before/after.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.commands import commands as cmd
from bot.core import checkin
from bot.core.rota_changes import change
from bot.models import RotaCommand
from bot.rota.opening import format_gaps, gaps
from bot.views import ActionResult

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.core.context import Context

DENIED = (
    "Only rota managers can change the rota, so `{verb}` was not applied. "
    "Ask a manager, or read it with `now` and `show`."
)


async def run(ctx: Context, action: RotaCommand) -> ActionResult:
    """Check permission, parse, then read or change the rota."""
    now = ctx.clock()
    verb = cmd.verb_of(action.text)
    if verb in cmd.MUTATING_VERBS and not await _is_manager(ctx, action):
        return ActionResult(False, DENIED.format(verb=verb))
    await ctx.refresh()  # another worker or the CLI may have changed the rota
    parsed = _parse(ctx, action.text, now)
    if isinstance(parsed, cmd.UsageError):
        return ActionResult(False, parsed.message)
    unknown = cmd.check_roles(parsed, set(ctx.rules.roles)) or cmd.check_branch(
        parsed, set(ctx.rules.branches)
    )
    if unknown is not None:
        return ActionResult(False, unknown.message)
    if isinstance(parsed, (cmd.Add, cmd.Remove, cmd.Cover, cmd.Off, cmd.Close)):
        return await change(ctx, action, parsed, now)
    if isinstance(parsed, cmd.Feed):
        return await _feed(ctx, action, parsed)
    if isinstance(parsed, cmd.Take):
        return await checkin.take(ctx, action.actor, parsed.which)
    return ActionResult(True, _read(ctx, parsed, now))


def _parse(ctx: Context, text: str, now: datetime) -> cmd.Command | cmd.UsageError:
    """The command, its date words read in the zone of its role or branch (else the library's)."""
    parsed = _branch_named(ctx, cmd.parse(text, today=now.astimezone(ctx.rota.zone).date()))
    zone = _zone_of(ctx, parsed)
    if zone != ctx.rota.zone:  # a role at a branch: today, tomorrow and weekdays are the branch's
        parsed = _branch_named(ctx, cmd.parse(text, today=now.astimezone(zone).date()))
    return parsed


def _branch_named(ctx: Context, parsed: cmd.Command | cmd.UsageError) -> cmd.Command | cmd.UsageError:
    """`close 2026-12-24 harbor`: a reason whose first word is a branch key closes that branch."""
    if not isinstance(parsed, cmd.Close) or parsed.branch:
        return parsed
    first, _, rest = parsed.reason.partition(" ")
    if first.lower() not in ctx.rules.branches:
        return parsed
    return replace(parsed, branch=first.lower(), reason=rest.strip())


def _zone_of(ctx: Context, parsed: object) -> ZoneInfo:
    """The zone a command's date words are read in: its role's (or branch's) zone, else the library's."""
    role, branch = getattr(parsed, "role", None), getattr(parsed, "branch", "")
    if isinstance(role, str) and role in ctx.rules.roles:
        return ctx.rota.zone_of(role)
    if branch in ctx.rules.branches:
        return ctx.rules.branches[branch].zone
    return ctx.rota.zone


async def _feed(ctx: Context, action: RotaCommand, parsed: cmd.Feed) -> ActionResult:
    """The private address of a shifts feed: sent as a private notice, never into a shared room.

    Without desks (the CLI) it is the answer itself.
    """
    from bot.core.rota_feed import Feeds

    me = ctx.directory.by_ref(action.actor)
    if me is None:
        return ActionResult(False, "You are not on the staff list, so you have no shifts feed.")
    feeds = Feeds(ctx, public_url=ctx.public_url)
    if parsed.role is not None:
        url = await feeds.address("role", parsed.role)
        text = f"The {parsed.role} shifts as a calendar feed (keep the address private): {url}"
    else:
        url = await feeds.address("person", me.key)
        text = (
            "Your desk shifts as a calendar feed (keep the address private; add it to a calendar app): " + url
        )
    if not ctx.desks:
        return ActionResult(True, text)
    async with ctx.db.transaction() as session:
        await ctx.notify(session, me.key, text, now=ctx.clock())
    return ActionResult(True, "I sent you the feed's address in a private message.")


async def _is_manager(ctx: Context, action: RotaCommand) -> bool:
    if action.is_manager is not None:
        return action.is_manager
    row = ctx.directory.by_ref(action.actor)
    return bool(row and row.is_manager and row.active)


def _read(ctx: Context, parsed: Any, now: datetime) -> str:
    names = {key: ctx.directory.name(key) for key in ctx.directory.rows}
    if isinstance(parsed, cmd.Now):
        return cmd.render_now(ctx.rota, ctx.rules, now)
    if isinstance(parsed, cmd.Show):
        return cmd.render_week(ctx.rota, parsed.role, parsed.week, names)
    if isinstance(parsed, cmd.Roles):
        return cmd.render_roles(ctx.rules)
    if isinstance(parsed, cmd.Gaps):
        local = now.astimezone(ctx.rota.zone).date()
        hours = ctx.dated_hours or ctx.opening_hours
        found = gaps(ctx.rules, ctx.rota, hours, start=local, days=14, dated=ctx.branch_hours)
        return format_gaps(found, rules=ctx.rules)
    return cmd.help_text(getattr(parsed, "verb", None))
