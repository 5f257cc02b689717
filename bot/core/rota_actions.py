"""Rota commands (`/rota`, `!rota`, console `rota`, CLI) and the open-queue listing, given the
service's `Context` (`bot/core/context.py`).

Permission first: a command that changes the rota is refused before it is parsed further unless the
caller is a manager; identity unknown means no. Every change writes an audit row with before/after.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.commands import commands as cmd
from bot.commands.fold import parse_fold
from bot.core import checkin, folding
from bot.core.cards import source_name, status_line, visible_line
from bot.core.reply_text import answers_query
from bot.domain import transitions
from bot.models import ActionResult, DeskQuery, RotaCommand
from bot.rota.conflicts import closure_on, holds, override_clash, roles_held, unknown_person, weekly_clash
from bot.rota.opening import format_gaps, gaps
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.store import audit, mentions
from bot.store.rota_calendar import entry_origin
from bot.store.rota_repo import (
    add_closure,
    add_override,
    add_weekly,
    edit_lock,
    load_rota,
    remove_entry,
    rota_entry,
    save,
)

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.context import Context
    from bot.store.rota_tables import StaffRow

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
        return await _change(ctx, action, parsed, now)
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


async def _change(ctx: Context, action: RotaCommand, parsed: Any, now: datetime) -> ActionResult:
    async with ctx.db.transaction() as session:
        await edit_lock(session)
        me = await ctx.directory.ensure(session, action.actor)
        result, before = await _apply(ctx, session, parsed)
        if result.ok:
            await audit.record(
                session,
                actor=me.key,
                action=f"rota_{type(parsed).__name__.lower()}",
                now=now,
                detail={"command": cmd.format_command(parsed), "before": before, "after": result.message},
            )
            await ctx.reload_rota(session)
    return result


async def _apply(ctx: Context, session: AsyncSession, parsed: Any) -> tuple[ActionResult, str | None]:
    """The change and its answer, with what a removed entry was (for the audit's before)."""
    if isinstance(parsed, cmd.Remove):
        entry = await rota_entry(session, parsed.id)
        if entry is not None and await entry_origin(session, parsed.id):
            return ActionResult(False, SYNCED.format(id=parsed.id)), None
        if entry is None or not await remove_entry(session, parsed.id):
            return ActionResult(
                False, f"No rota entry #{parsed.id}. `show` lists the entries with their ids."
            ), None
        await ctx.directory.learn(session, getattr(entry, "person", None))
        before = cmd.describe_entry(entry, _names(ctx))
        return ActionResult(True, f"Removed #{parsed.id}: {before}.", changed=True), before
    return await _add(ctx, session, parsed), None


SYNCED = (
    "#{id} comes from the role's calendar, so it was not removed: change it in the calendar. "
    "`off` takes someone off for a while, `cover` puts someone on."
)


def _names(ctx: Context) -> dict[str, str]:
    return {key: ctx.directory.name(key) for key in ctx.directory.rows}


async def _person(ctx: Context, session: AsyncSession, token: str) -> StaffRow | None:
    """The staff row ``token`` names; None when nobody (never made up: no ghosts)."""
    row = ctx.directory.find(token)
    if row is None:  # another process may have added them
        await ctx.directory.load(session, merge=True)
        row = ctx.directory.find(token)
    return row


async def _add(ctx: Context, session: AsyncSession, parsed: Any) -> ActionResult:
    if isinstance(parsed, cmd.Close):
        return await _close(ctx, session, parsed)
    for token in (parsed.who, getattr(parsed, "for_who", None)):
        if token and await _person(ctx, session, token) is None:
            return ActionResult(False, unknown_person(token, _names(ctx)))
    person = await _person(ctx, session, parsed.who)
    assert person is not None
    # the stored rota decides, not this process's copy
    rota = await load_rota(session, ctx.rota.zone, ctx.rota.places)
    if isinstance(parsed, cmd.Add):
        return await _weekly(ctx, session, parsed, person.key, rota)
    return await _dated(ctx, session, parsed, person.key, rota)


async def _close(ctx: Context, session: AsyncSession, parsed: cmd.Close) -> ActionResult:
    """A closed day: the whole library's, or one branch's (only its roles)."""
    rota = await load_rota(session, ctx.rota.zone, ctx.rota.places)
    already = closure_on(rota, Closure(0, parsed.day, branch=parsed.branch))
    if already is not None:
        where = (
            f" at {ctx.rules.branches[already.branch].label}" if already.branch in ctx.rules.branches else ""
        )
        return ActionResult(
            False, f"{parsed.day:%a %d %b %Y} is already closed{where} (#{already.id}); nothing changed."
        )
    row = add_closure(session, day=parsed.day, reason=parsed.reason, branch=parsed.branch)
    await save(session)
    day = f"{parsed.day:%a %d %b %Y}"
    if not parsed.branch:
        return ActionResult(True, f"#{row.id}: closed on {day}. Nobody is on duty that day.", changed=True)
    label = ctx.rules.branches[parsed.branch].label
    roles = ", ".join(sorted(r for r, spec in ctx.rules.roles.items() if spec.branch == parsed.branch))
    return ActionResult(
        True,
        f"#{row.id}: {label} closed on {day}. Nobody is on duty there that day ({roles or 'no roles'}); "
        "other branches are open as usual.",
        changed=True,
    )


async def _weekly(ctx: Context, session: AsyncSession, parsed: cmd.Add, key: str, rota: Rota) -> ActionResult:
    name = ctx.directory.name(key)
    new = Shift(0, parsed.role, key, parsed.days, parsed.start, parsed.end)
    clash = weekly_clash(new, rota.shifts)
    if clash is not None:
        word = "repeats" if clash.kind == "duplicate" else "overlaps"
        old = cmd.describe_entry(clash.entry, _names(ctx))
        return ActionResult(
            False,
            f"Not added: it {word} #{clash.entry.id} ({old}). Remove #{clash.entry.id} first to change it.",
        )
    row = add_weekly(
        session, role=parsed.role, person=key, days=parsed.days, start=parsed.start, end=parsed.end
    )
    await save(session)
    return ActionResult(
        True,
        f"#{row.id}: {name} holds {parsed.role} {cmd.format_command(parsed).split(' ', 3)[-1]}.",
        changed=True,
    )


async def _dated(ctx: Context, session: AsyncSession, parsed: Any, key: str, rota: Rota) -> ActionResult:
    """`cover` and `off`: checked against who holds the role then, and against repeats."""
    names = _names(ctx)
    begin, finish = parsed.window()
    replaces = None
    if isinstance(parsed, cmd.Cover) and parsed.for_who:
        other = await _person(ctx, session, parsed.for_who)
        assert other is not None
        replaces = other.key
    kind = (
        OverrideKind.REMOVE
        if isinstance(parsed, cmd.Off)
        else (OverrideKind.REPLACE if replaces else OverrideKind.ADD)
    )
    clash = override_clash(rota, Override(0, parsed.role, key, begin, finish, kind, replaces))
    if clash is not None:
        return ActionResult(False, f"Not added: it repeats #{clash.entry.id}.")
    if replaces and not holds(rota, parsed.role, replaces, begin, finish)[0]:
        held = roles_held(rota, replaces, begin, finish, ctx.rules.roles)
        also = f" (they hold {', '.join(held)} then)" if held else ""
        return ActionResult(
            False, f"Not added: {names.get(replaces, replaces)} does not hold {parsed.role} then{also}."
        )
    some, every = holds(rota, parsed.role, key, begin, finish)
    name = names.get(key, key)
    if kind is OverrideKind.REMOVE and not some:
        return ActionResult(
            False, f"Not added: {name} does not hold {parsed.role} then, so there is nothing to take off."
        )
    if kind is not OverrideKind.REMOVE and every:
        return ActionResult(False, f"Not added: {name} already holds {parsed.role} for all of that time.")
    row = add_override(
        session, role=parsed.role, person=key, start=begin, end=finish, kind=kind, replaces=replaces
    )
    await save(session)
    what = "is off" if kind is OverrideKind.REMOVE else "covers"
    instead = f" instead of {ctx.directory.name(replaces)}" if replaces else ""
    warn = (
        f" ({name} already holds {parsed.role} for part of that time.)"
        if some and kind is OverrideKind.ADD
        else ""
    )
    return ActionResult(
        True,
        f"#{row.id}: {name} {what} {parsed.role} {begin:%a %d %b %H:%M}–{finish:%H:%M}{instead}.{warn}",
        changed=True,
    )


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
