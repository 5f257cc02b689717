"""Rota commands (`/rota`, `!rota`, console `rota`, CLI) and the open-queue listing, run for the service.

Permission first: a command that changes the rota is refused before it is parsed further unless the
caller is a manager; identity unknown means no. Every change writes an audit row with before/after.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.commands import commands as cmd
from bot.commands.fold import parse_fold
from bot.core import folding
from bot.core.cards import source_name
from bot.domain import transitions
from bot.models import ActionResult, DeskQuery, RotaCommand
from bot.rota.opening import format_gaps, gaps
from bot.rota.rota import OverrideKind
from bot.store import audit, mentions
from bot.store.rota_repo import add_closure, add_override, add_weekly, remove_entry, rota_entry, save

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.service import DeskService

DENIED = (
    "Only rota managers can change the rota, so `{verb}` was not applied. "
    "Ask a manager, or read it with `now` and `show`."
)


async def run(service: DeskService, action: RotaCommand) -> ActionResult:
    """Check permission, parse, then read or change the rota."""
    now = service.clock()
    verb = cmd.verb_of(action.text)
    if verb in cmd.MUTATING_VERBS and not await _is_manager(service, action):
        return ActionResult(False, DENIED.format(verb=verb))
    await service.refresh()  # another worker or the CLI may have changed the rota
    parsed = cmd.parse(action.text, today=now.astimezone(service.rota.zone).date())
    if isinstance(parsed, cmd.UsageError):
        return ActionResult(False, parsed.message)
    unknown = cmd.check_roles(parsed, set(service.rules.roles))
    if unknown is not None:
        return ActionResult(False, unknown.message)
    if isinstance(parsed, (cmd.Add, cmd.Remove, cmd.Cover, cmd.Off, cmd.Close)):
        return await _change(service, action, parsed, now)
    return ActionResult(True, _read(service, parsed, now))


async def _is_manager(service: DeskService, action: RotaCommand) -> bool:
    if action.is_manager is not None:
        return action.is_manager
    row = service.directory.by_ref(action.actor)
    return bool(row and row.is_manager and row.active)


def _read(service: DeskService, parsed: Any, now: datetime) -> str:
    names = {key: service.directory.name(key) for key in service.directory.rows}
    if isinstance(parsed, cmd.Now):
        return cmd.render_now(service.rota, service.rules, now)
    if isinstance(parsed, cmd.Show):
        return cmd.render_week(service.rota, parsed.role, parsed.week, names)
    if isinstance(parsed, cmd.Roles):
        return cmd.render_roles(service.rules)
    if isinstance(parsed, cmd.Gaps):
        local = now.astimezone(service.rota.zone).date()
        return format_gaps(gaps(service.rules, service.rota, service.opening_hours, start=local, days=14))
    return cmd.help_text(getattr(parsed, "verb", None))


async def _change(service: DeskService, action: RotaCommand, parsed: Any, now: datetime) -> ActionResult:
    async with service.db.transaction() as session:
        me = await service.directory.ensure(session, action.actor)
        result, before = await _apply(service, session, parsed)
        if result.ok:
            await audit.record(
                session,
                actor=me.key,
                action=f"rota_{type(parsed).__name__.lower()}",
                now=now,
                detail={"command": cmd.format_command(parsed), "before": before, "after": result.message},
            )
            await service.reload_rota(session)
    return result


async def _apply(service: DeskService, session: AsyncSession, parsed: Any) -> tuple[ActionResult, str | None]:
    """The change and its answer, with what a removed entry was (for the audit's before)."""
    if isinstance(parsed, cmd.Remove):
        entry = await rota_entry(session, parsed.id)
        if entry is None or not await remove_entry(session, parsed.id):
            return ActionResult(
                False, f"No rota entry #{parsed.id}. `show` lists the entries with their ids."
            ), None
        await service.directory.learn(session, getattr(entry, "person", None))
        names = {key: service.directory.name(key) for key in service.directory.rows}
        before = cmd.describe_entry(entry, names)
        return ActionResult(True, f"Removed #{parsed.id}: {before}.", changed=True), before
    return await _add(service, session, parsed), None


async def _add(service: DeskService, session: AsyncSession, parsed: Any) -> ActionResult:
    if isinstance(parsed, cmd.Close):
        row = add_closure(session, day=parsed.day, reason=parsed.reason)
        await save(session)
        return ActionResult(
            True, f"#{row.id}: closed on {parsed.day:%a %d %b %Y}. Nobody is on duty that day.", changed=True
        )
    person = await service.directory.ensure_token(session, parsed.who)
    name = service.directory.name(person.key)
    if isinstance(parsed, cmd.Add):
        row = add_weekly(
            session, role=parsed.role, person=person.key, days=parsed.days, start=parsed.start, end=parsed.end
        )
        await save(session)
        return ActionResult(
            True,
            f"#{row.id}: {name} holds {parsed.role} {cmd.format_command(parsed).split(' ', 3)[-1]}.",
            changed=True,
        )
    begin, finish = parsed.window()
    replaces = None
    if isinstance(parsed, cmd.Cover) and parsed.for_who:
        replaces = (await service.directory.ensure_token(session, parsed.for_who)).key
    kind = (
        OverrideKind.REMOVE
        if isinstance(parsed, cmd.Off)
        else (OverrideKind.REPLACE if replaces else OverrideKind.ADD)
    )
    row = add_override(
        session, role=parsed.role, person=person.key, start=begin, end=finish, kind=kind, replaces=replaces
    )
    await save(session)
    what = "is off" if kind is OverrideKind.REMOVE else "covers"
    instead = f" instead of {service.directory.name(replaces)}" if replaces else ""
    return ActionResult(
        True,
        f"#{row.id}: {name} {what} {parsed.role} {begin:%a %d %b %H:%M}–{finish:%H:%M}{instead}.",
        changed=True,
    )


async def stats_text(service: DeskService, *, days: int = 7) -> str:
    """The report for the last ``days`` days, as text."""
    from bot.reports.output import load_facts
    from bot.reports.stats import format_report, summarize

    until = service.clock().date()
    since = until - timedelta(days=days - 1)
    facts = await load_facts(service.db, since=since, until=until)
    report = summarize(facts, since=since, until=until, hours=service.opening_hours, zone=service.rota.zone)
    return format_report(report)


async def queue(service: DeskService, action: DeskQuery) -> ActionResult:
    """`/desk`: the open mentions and who has what (no patron text); `/desk stats`: the last 7 days;
    `/desk fold N ...`: a summary card's items (``bot/core/folding.py``)."""
    if action.text.strip().lower().startswith("stats"):
        return ActionResult(True, await stats_text(service))
    word, _, rest = action.text.strip().partition(" ")
    if word.lower() == "fold":
        parsed = parse_fold(action.actor, rest, prefix=folding.command_prefix(action.actor.desk))
        if isinstance(parsed, str):
            return ActionResult(False, parsed)
        return await folding.run(service, parsed)
    now = service.clock()
    async with service.db.transaction() as session:
        rows = await mentions.in_statuses(session, transitions.ACTIVE, limit=50)
    if not rows:
        return ActionResult(True, "The desk is clear: no open mentions.")
    lines = [f"{len(rows)} open mention(s):"]
    for row in rows:
        age = int((now - row.received_at).total_seconds() // 60)
        who = f"{row.status} by {service.directory.name(row.assignee)}" if row.assignee else row.status
        lines.append(f"#{row.id} · {row.role} · {who} · {source_name(row.source)} · {age} min ago")
    return ActionResult(True, "\n".join(lines))
