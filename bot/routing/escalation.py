"""Who an unclaimed mention goes to next, and who covers a role now (pure; `now` is passed in)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.rota.rota import Rota
from bot.routing.rules import RuleSet


def covering(rules: RuleSet, rota: Rota, role: str, now: datetime) -> tuple[str, ...]:
    """People holding ``role`` now, or else the first backup role that has someone."""
    for candidate in (role, *rules.backup_chain(role)):
        people = rota.on_duty(candidate, now)
        if people:
            return people
    return ()


def escalation_steps(
    rules: RuleSet, rota: Rota, role: str, now: datetime, *, managers: Iterable[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """The steps after the role's own people: each backup role's people on duty, then managers.

    Returns ``[(label, people), ...]``; a step whose people were all already in an earlier step
    (or the role's own) is dropped, so nobody is pinged twice for one mention.
    """
    seen = set(rota.on_duty(role, now))
    steps: list[tuple[str, tuple[str, ...]]] = []
    for backup in rules.backup_chain(role):
        fresh = tuple(p for p in rota.on_duty(backup, now) if p not in seen)
        if fresh:
            steps.append((f"backup {backup}", fresh))
            seen.update(fresh)
    fresh = tuple(sorted(p for p in set(managers) if p not in seen))
    if fresh:
        steps.append(("managers", fresh))
    return steps
