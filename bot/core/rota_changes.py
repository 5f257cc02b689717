"""Rota changes (`add`, `remove`, `cover`, `off`, `close`) under the edit lock, each checked against the
stored rota (no ghosts, no repeats) and written with an audit row of before/after."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.commands import commands as cmd
from bot.models import RotaCommand
from bot.rota.conflicts import closure_on, holds, override_clash, roles_held, unknown_person, weekly_clash
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.store import audit
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
from bot.views import ActionResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.context import Context
    from bot.store.rota_tables import StaffRow


async def change(ctx: Context, action: RotaCommand, parsed: Any, now: datetime) -> ActionResult:
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
