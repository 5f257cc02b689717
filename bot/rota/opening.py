"""Opening hours (`mon-fri 08:00-20:00; sat 10:00-16:00`) and the rota gaps inside them (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from bot.rota.branches import branch_hours
from bot.rota.hours import DAYS, Hours, Opening, open_windows, parse_opening_hours, within
from bot.rota.rota import Rota
from bot.routing.escalation import covering
from bot.routing.rules import RuleSet

__all__ = ["DAYS", "Hours", "Opening", "format_gaps", "gaps", "open_windows", "parse_opening_hours"]


def gaps(
    rules: RuleSet,
    rota: Rota,
    hours: tuple[Opening, ...] | Hours,
    *,
    start: date,
    days: int = 14,
    step_minutes: int = 15,
    dated: Mapping[str, Hours] | None = None,
) -> list[tuple[str, datetime, datetime]]:
    """``(role, from, to)`` (aware, library zone) where nobody covers a role while the library is open.

    A role at a branch is measured against its branch's hours (LibCal's, ``dated[branch]``, when
    read) in its branch's zone, and its times are given in that zone.

    "Covers" includes the role's backup chain, as routing does: a gap is a time when a mention for
    that role would be queued. Closed days (closures) and the times a role declares it needs no
    cover (``no_cover`` in the rules file) are not gaps. Checked every ``step_minutes``.
    """
    found: list[tuple[str, datetime, datetime]] = []
    step = timedelta(minutes=step_minutes)
    groups: dict[str, list[str]] = {}  # branch key ("" = the library's hours) -> its roles
    for role in sorted(rules.roles):
        groups.setdefault(rules.roles[role].branch if rules.branch_of(role) else "", []).append(role)
    for key, roles in sorted(groups.items()):
        book = branch_hours(rules.branches[key], dated) if key else hours
        for begin, end in open_windows(book, start, days):
            for role in roles:
                zone = rota.zone_of(role)
                at = begin
                while at < end:
                    when = at.replace(tzinfo=zone)
                    needed = not within(rules.roles[role].no_cover, at)
                    closed = rota.closure_on(when, role) is not None
                    if needed and not closed and not covering(rules, rota, role, when):
                        _extend(found, role, when, when + step)
                    at += step
    return found


def _extend(found: list[tuple[str, datetime, datetime]], role: str, start: datetime, end: datetime) -> None:
    if found and found[-1][0] == role and found[-1][2] == start:
        found[-1] = (role, found[-1][1], end)
    else:
        found.append((role, start, end))


def format_gaps(
    found: list[tuple[str, datetime, datetime]], *, limit: int = 25, rules: RuleSet | None = None
) -> str:
    """One line per gap (at most ``limit``, then a count of the rest); with ``rules`` that have
    branches, each line says the role's branch and the zone its times are in."""
    if not found:
        return "No gaps: every role is covered whenever the library is open."
    lines = [f"{len(found)} gap(s) in opening hours:"]
    for role, a, b in found[:limit]:
        if b.date() == a.date() or (b - a <= timedelta(days=1) and b.time() == time(0)):
            end = "24:00" if b.date() > a.date() else f"{b:%H:%M}"
        else:  # past midnight: the end's own day, or a two-day gap reads as a few hours
            end = f"{b:%a %d %b %H:%M}"
        branch = rules.branch_of(role) if rules is not None else None
        where = f" at {branch.label}" if branch is not None else ""
        zone = f" {a.tzname()}" if branch is not None else ""
        lines.append(f"  {role}{where}: {a:%a %d %b %H:%M}–{end}{zone}, nobody on duty")
    if len(found) > limit:
        lines.append(f"  ... and {len(found) - limit} more (set OPENING_HOURS so only opening hours count)")
    return "\n".join(lines)
