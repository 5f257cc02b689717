"""Plain-text answers to rota commands: who is on now, a week of the rota, the roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.rota.timespec import format_date, format_days, format_range, format_when, format_window
from bot.routing.router import queued_until
from bot.routing.rules import RuleSet


def _names(people: Iterable[str], names: Mapping[str, str]) -> str:
    return ", ".join(names.get(p, p) for p in people)


def _local_when(moment: datetime, now: datetime) -> str:
    """`17:00` on the same local day as ``now``, else `Wed 25 Dec 06:00`."""
    return f"{moment:%H:%M}" if moment.date() == now.date() else format_when(moment)


def _role_now(rota: Rota, rules: RuleSet, role: str, now: datetime) -> str:
    names = rules.names()
    people = rota.on_duty(role, now)
    zone = rota.zone_of(role)
    if people:
        spans = rota.coverage(role, now, now + timedelta(days=1))
        until = (
            f"; changes at {_local_when(spans[0][1].astimezone(zone), now.astimezone(zone))}"
            if len(spans) > 1
            else ""
        )
        return _names(people, names) + until
    for backup in rules.backup_chain(role):
        held = rota.on_duty(backup, now)
        if held:
            return f"nobody; backup {backup}: {_names(held, names)}"
    until_at = queued_until(rules, rota, role, now)
    if until_at is None:
        return "nobody (and nobody in the next 14 days)"
    return f"nobody (queued until {format_when(until_at.astimezone(zone))})"


def _where(rules: RuleSet, role: str, now: datetime) -> str:
    """The role, and with branches its branch and local time there: `reference (Main, 09:30 GMT)`."""
    branch = rules.branch_of(role)
    if branch is None:
        return role
    local = now.astimezone(branch.zone)
    return f"{role} ({branch.label}, {local:%H:%M} {local.tzname()})"


def render_now(rota: Rota, rules: RuleSet, now: datetime) -> str:
    """Each role: who is on duty at aware ``now``, its backup, or `nobody (queued until ...)`."""
    lines = [f"On duty now ({format_when(now.astimezone(rota.zone))}, {rota.zone}):"]
    closure = rota.closure_on(now)
    if closure is not None:
        lines.append(f"Closed today{': ' + closure.reason if closure.reason else ''} [#{closure.id}]")
    shown = {role: _where(rules, role, now) for role in rules.roles}
    width = max((len(label) for label in shown.values()), default=0)
    lines += [f"  {shown[role].ljust(width)}  {_role_now(rota, rules, role, now)}" for role in rules.roles]
    return "\n".join(lines)


def _shift_line(shift: Shift, names: Mapping[str, str], show_role: bool) -> tuple[time, str]:
    who = f"{shift.role}: " * show_role + names.get(shift.person, shift.person)
    every = "every day" if len(shift.days) == 7 else f"weekly {format_days(shift.days, title=True)}"
    return shift.start, f"  {format_range(shift.start, shift.end)}  {who}  [#{shift.id} {every}]"


def _override_line(ov: Override, day: date, names: Mapping[str, str], show_role: bool) -> tuple[time, str]:
    who = f"{ov.role}: " * show_role + names.get(ov.person, ov.person)
    if ov.synced:
        what = f"{who} (from the calendar)"
    elif ov.kind is OverrideKind.ADD:
        what = f"{who} covers"
    elif ov.kind is OverrideKind.REMOVE:
        what = f"{who} off"
    else:
        what = f"{who} covers for {names.get(ov.replaces or '', ov.replaces or '?')}"
    if ov.end - ov.start <= timedelta(days=1) and ov.start.date() == day:
        span = format_range(ov.start.time(), ov.end.time())
    else:
        span = f"{format_when(ov.start)} to {format_when(ov.end)}"
    start = ov.start.time() if ov.start.date() == day else time(0)
    return start, f"  {span}  {what}  [#{ov.id}]"


def _day_lines(
    rota: Rota, role: str | None, day: date, *, first: bool, names: Mapping[str, str]
) -> list[str]:
    show_role = role is None
    keys = rota.places.keys
    closed = [  # the whole library's closure, and the closures of the branches shown
        c
        for c in rota.closures
        if c.day == day and (not c.branch or role is None or keys.get(role) == c.branch)
    ]
    closure = next((c for c in closed if not c.branch or role is not None), None)
    header = format_date(day)
    entries: list[tuple[time, str]] = []
    for shut in closed if closure is None else [closure]:
        reason = f": {shut.reason}" if shut.reason else ""
        at = f" at {rota.places.label_of(shut.branch)}" if shut.branch else ""
        header += f"  CLOSED{at}{reason}  [#{shut.id}] ({'its ' if at else ''}shifts do not apply)"
    if closure is None:
        shut_branches = {c.branch for c in closed}
        entries += [
            _shift_line(s, names, show_role)
            for s in rota.shifts
            if day.weekday() in s.days and role in (None, s.role) and keys.get(s.role) not in shut_branches
        ]
    start, end = datetime.combine(day, time()), datetime.combine(day + timedelta(days=1), time())
    entries += [
        _override_line(ov, day, names, show_role)
        for ov in rota.overrides
        if role in (None, ov.role)
        and ov.start < end
        and ov.end > start
        and (ov.start >= start or first)  # listed on the day it starts, or the week's first day
    ]
    if not entries and closure is None:
        entries.append((time(0), "  nobody scheduled"))
    return [header, *(line for _, line in sorted(entries))]


def render_week(rota: Rota, role: str | None, week_start: date, names: Mapping[str, str]) -> str:
    """A week of shifts, overrides and closures for ``role`` (or every role), each with its id.

    Args:
        rota: the rota.
        role: one role, or None for all.
        week_start: the Monday of the week.
        names: staff key -> display name.
    """
    scope = f"for {role}" if role else "for every role"
    zones = f"times in {rota.zone_of(role) if role else rota.zone}"
    if role and role in rota.places.labels:
        zones += f", {rota.places.labels[role]}"
    elif not role and rota.places.zones:  # branches: each role's times are in its branch's zone
        zones += "; " + ", ".join(f"{r} in {z}" for r, z in sorted(rota.places.zones.items()))
    lines = [f"Rota {scope}, week of {format_date(week_start)} {week_start.year} ({zones})"]
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        lines += _day_lines(rota, role, day, first=offset == 0, names=names)
    return "\n".join(lines)


def render_roles(rules: RuleSet) -> str:
    """Every role with its SLA, backup and description."""
    lines = [f"Roles (mentions no rule matches go to {rules.default_role}):"]
    width = max((len(key) for key in rules.roles), default=0)
    for key, spec in rules.roles.items():
        about = f"SLA {spec.sla_minutes} min; backup {spec.backup or 'none'}"
        branch = rules.branch_of(key)
        if branch is not None:
            about += f"; at {branch.label} ({branch.zone})"
        if spec.description:
            about += f"; {spec.description}"
        lines.append(f"  {key.ljust(width)}  {about}")
    return "\n".join(lines)


def describe_entry(entry: Shift | Override | Closure, names: Mapping[str, str]) -> str:
    """One rota entry as a sentence fragment: `alice, reference, Mon-Fri 09:00-17:00`."""
    if isinstance(entry, Closure):
        reason = f" ({entry.reason})" if entry.reason else ""
        at = f" at {entry.branch}" if entry.branch else ""
        return f"closed{at} on {format_date(entry.day)} {entry.day.year}{reason}"
    who = names.get(entry.person, entry.person)
    if isinstance(entry, Shift):
        days = format_days(entry.days, title=True)
        return f"{who}, {entry.role}, {days} {format_range(entry.start, entry.end)}"
    if entry.synced:
        return f"{who} holds {entry.role} {format_window(entry.start, entry.end)} (from the calendar)"
    what = {OverrideKind.ADD: "covers", OverrideKind.REMOVE: "is off"}.get(entry.kind, "covers")
    instead = f" instead of {names.get(entry.replaces, entry.replaces)}" if entry.replaces else ""
    return f"{who} {what} {entry.role} {format_window(entry.start, entry.end)}{instead}"
