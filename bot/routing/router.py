"""route(): rules pick the role, the rota says who holds it now, backups cover gaps, else queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.models import Decision, Mention
from bot.rota.branches import is_open
from bot.rota.rota import Rota
from bot.rota.timespec import format_when
from bot.routing.rules import RuleSet


def people(duty: tuple[tuple[str, str], ...], names: dict[str, str] | None = None) -> str:
    """`Alice Archer (Mon-Fri 09:00-17:00), bob (cover Tue 24 Dec 10:00-14:00)`: staff shown by the
    rules file's display name (``names``), else by key."""
    shown = names or {}
    return ", ".join(f"{shown.get(person, person)} ({why})" for person, why in duty)


def queued_until(rules: RuleSet, rota: Rota, role: str, now: datetime) -> datetime | None:
    """When someone next holds ``role`` or any role in its backup chain (None within 14 days)."""
    best: datetime | None = None
    for candidate in (role, *rules.backup_chain(role)):
        horizon = 14.0 if best is None else (best - now) / timedelta(days=1)
        found = rota.next_on_duty(candidate, now, horizon_days=horizon)
        best = found if found is not None else best  # within the horizon, so earlier than best
    return best


def route(mention: Mention, rules: RuleSet, rota: Rota, now: datetime) -> Decision:
    """Decide which role answers ``mention`` and who holds it at aware ``now``.

    If nobody holds the matched role, the role's backup chain is followed (cycle-safe) and the
    first role with someone on duty answers; ``Decision.role`` stays the matched role. If the
    whole chain is empty the decision is queued until someone in the chain comes on duty.
    The reason is one sentence that never quotes the patron's text.
    """
    role, rule, why = rules.match(mention)
    tags = rules.rule_tags(rule)
    head = f"no rule matched → {role} (default)" if rule == "default" else f'rule "{rule}" ({why}) → {role}'
    branch = rules.branch_of(role)
    if branch is not None:  # the card says which branch (its times are in the branch's zone)
        head += f" at {branch.label}"
    names = rules.names()
    duty = rota.duty(role, now)
    if duty:
        on_duty = tuple(person for person, _ in duty)
        reason = f"{head}; on duty: {people(duty, names)}"
        return Decision(role=role, on_duty=on_duty, rule=rule, reason=reason, tags=tags)
    chain = rules.backup_chain(role)
    for i, backup in enumerate(chain):
        duty = rota.duty(backup, now)
        if duty:
            via = " → ".join(chain[: i + 1])
            reason = f"{head}; nobody on duty; backup {via}: {people(duty, names)}"
            return Decision(role=role, on_duty=tuple(p for p, _ in duty), rule=rule, reason=reason, tags=tags)
    closure = rota.closure_on(now, role)
    nobody = "nobody on duty"
    if closure is not None:
        nobody += f" (closed: {closure.reason})" if closure.reason else " (closed today)"
    elif branch is not None and not is_open(branch, now):
        nobody += f" ({branch.label} is closed now)"
    if chain:
        nobody += f", nor in backup {' → '.join(chain)}"
    until = queued_until(rules, rota, role, now)
    if until is None:
        tail = "queued (nobody on duty in the next 14 days)"
    else:
        local = until.astimezone(rota.zone_of(role))
        zone = f" {local.tzname()}" if branch is not None else ""
        tail = f"queued until {format_when(local)}{zone}"
    return Decision(
        role=role,
        on_duty=(),
        rule=rule,
        reason=f"{head}; {nobody}; {tail}",
        queued=True,
        queued_until=until,
        tags=tags,
    )
