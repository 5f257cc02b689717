"""Reports per branch: each branch's mentions with waits in its own opening hours and zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from bot.errors import ConfigError
from bot.reports.compute import build_report
from bot.reports.stats import Report
from bot.rota.branches import Branch
from bot.rota.hours import Opening
from bot.rota.timespec import suggest
from bot.routing.rules import RuleSet
from bot.store.db import Database


def branch_roles(rules: RuleSet, key: str) -> tuple[str, ...]:
    """The roles at branch ``key``."""
    return tuple(sorted(role for role, spec in rules.roles.items() if spec.branch == key))


def pick_branch(rules: RuleSet, key: str) -> Branch:
    """The branch called ``key``, or ConfigError saying which branches there are."""
    if key in rules.branches:
        return rules.branches[key]
    if not rules.branches:
        raise ConfigError("the rules file has no [branches]; leave out --branch")
    hint = suggest(key, rules.branches) or f" (branches: {', '.join(sorted(rules.branches))})"
    raise ConfigError(f'no branch "{key}"{hint}')


async def branch_report(db: Database, rules: RuleSet, branch: Branch, *, since: date, until: date) -> Report:
    """The report of one branch: its roles' mentions, its days, waits in its opening hours."""
    return await build_report(
        db,
        since=since,
        until=until,
        hours=branch.weekly,
        zone=branch.zone,
        roles=branch_roles(rules, branch.key),
    )


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


async def per_branch_lines(
    db: Database,
    rules: RuleSet,
    *,
    since: date,
    until: date,
    hours: Sequence[Opening],
    zone: ZoneInfo,
) -> list[str]:
    """`by branch:` then one line per branch (and the roles without one): mentions, median waits."""
    if not rules.branches:
        return []
    lines = ["by branch (waits in each branch's opening hours and zone):"]
    for key in sorted(rules.branches):
        branch = rules.branches[key]
        report = await branch_report(db, rules, branch, since=since, until=until)
        lines.append(_line(f"{branch.label} ({branch.zone})", report))
    others = tuple(sorted(r for r, spec in rules.roles.items() if not rules.branch_of(r)))
    if others:
        rest = await build_report(db, since=since, until=until, hours=hours, zone=zone, roles=others)
        lines.append(_line(f"no branch ({zone})", rest))
    return lines


def _line(label: str, report: Report) -> str:
    return (
        f"  {label}: {report.total} mentions, first claim median {_minutes(report.claim_median)}, "
        f"first reply median {_minutes(report.reply_median)}, unanswered {report.unanswered}"
    )
