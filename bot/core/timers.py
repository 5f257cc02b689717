"""Timers: escalation, reminders, queued mentions at shift start, handover digests, daily posts.

Each step is idempotent and safe with several workers: a conditional UPDATE (or a row in `marks`)
decides who acts, so a person is pinged once per step however often the timer runs.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.commands.render import render_now
from bot.core import checkin, duty_groups
from bot.core.cards import mention_title, status_label
from bot.core.desk_queue import stats_text
from bot.core.retention import auto_resolve, purge
from bot.core.snooze import wake_due
from bot.domain.transitions import OPEN, Transition, allowed_from, target
from bot.models import Status
from bot.rota.opening import format_gaps, gaps
from bot.routing.escalation import covering, escalation_steps
from bot.store import audit, mentions
from bot.store.mentions import Guard

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from bot.core.service import DeskService
    from bot.store.mentions import StoredMention

log = logging.getLogger(__name__)

HANDOVER_WINDOW = timedelta(minutes=15)
BATCH = 500


def _arrivals(
    intervals: list[tuple[datetime, datetime, tuple[str, ...]]], now: datetime
) -> list[tuple[str, datetime]]:
    """Everyone on duty at ``now`` with the instant their unbroken time on duty began."""
    current = next((iv for iv in intervals if iv[0] <= now < iv[1]), None)
    if current is None:
        return []
    out = []
    for person in current[2]:
        began = current[0]
        for start, end, people in reversed(intervals):
            if end == began and person in people:
                began = start
        out.append((person, began))
    return out


class Timers:
    """Runs every timer step for one service; ``tick()`` is what the scheduler calls."""

    def __init__(self, service: DeskService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    async def tick(self) -> None:
        """One pass of every step at the service's ``now``."""
        now = self.service.clock()
        await self.service.refresh()  # pick up rota edits made by another process or the CLI
        await self.open_queued(now)
        await wake_due(self.service.context, now)
        await self.escalate(now)
        await self.remind(now)
        await self.handover(now)
        await self.check_in(now)
        await duty_groups.sync(self.service.context, now)
        await self.daily(now)

    async def open_queued(self, now: datetime) -> None:
        """A queued mention goes to whoever comes on duty (or a backup), pinged once."""
        service = self.service
        staffed = [role for role in service.rules.roles if covering(service.rules, service.rota, role, now)]
        if not staffed:
            return
        async with service.db.transaction() as session:
            queued = await mentions.queued_for_roles(session, staffed, limit=BATCH)
        for row in queued:
            people = covering(service.rules, service.rota, row.role, now)
            if not people:
                continue
            async with service.db.transaction() as session:
                won = await mentions.transition(
                    session,
                    row.id,
                    Transition.DEQUEUE,
                    values={
                        "status": target(Transition.DEQUEUE).value,
                        "on_duty": ",".join(people),
                        "queued_until": None,
                        "escalated_at": now,  # the claim clock starts when someone is on duty
                        "note": "Arrived while nobody was on duty.",
                    },
                )
                if not won:
                    continue
                fresh = await service.row(session, row.id)
                await service.record_change(session, fresh, actor="timer", action="dequeue", now=now)
                for person in people:
                    text = f"#{row.id} ({row.role}) arrived while nobody was on duty and is waiting for you."
                    await service.notify(session, person, text, now=now, key=f"dequeue:{row.id}:{person}")

    async def escalate(self, now: datetime) -> None:
        """An unclaimed mention past its role's SLA moves one step along the chain."""
        service = self.service
        managers = [row.key for row in service.directory.rows.values() if row.is_manager and row.active]
        slas = [spec.sla_minutes for spec in service.rules.roles.values()] or [
            self.settings.ESCALATE_AFTER_MINUTES
        ]
        due = now - timedelta(minutes=min(slas))  # no role's SLA is shorter: nothing newer can be due
        async with service.db.transaction() as session:
            found = await mentions.due_for_escalation(
                session, allowed_from(Transition.ESCALATE), waiting_since=due, limit=BATCH
            )
        for row in found:
            spec = service.rules.roles.get(row.role)
            sla = timedelta(minutes=spec.sla_minutes if spec else self.settings.ESCALATE_AFTER_MINUTES)
            if now - (row.escalated_at or row.received_at) < sla:
                continue
            steps = escalation_steps(service.rules, service.rota, row.role, now, managers=managers)
            if row.escalation_level >= len(steps):
                continue
            label, people = steps[row.escalation_level]
            await self._escalate_one(row, label, people, now, waited=now - row.received_at)

    async def _escalate_one(
        self, row: StoredMention, label: str, people: tuple[str, ...], now: datetime, *, waited: timedelta
    ) -> None:
        service = self.service
        names = ", ".join(service.directory.name(p) for p in people)
        minutes = int(waited.total_seconds() // 60)
        async with service.db.transaction() as session:
            won = await mentions.transition(
                session,
                row.id,
                Transition.ESCALATE,
                values={
                    "status": target(Transition.ESCALATE).value,
                    "escalation_level": row.escalation_level + 1,
                    "escalated_at": now,
                    "note": f"Escalated to {label} ({names}): unclaimed for {minutes} min.",
                },
                guard=Guard(escalation_level=row.escalation_level, unassigned=True),
            )
            if not won:
                return
            fresh = await service.row(session, row.id)
            detail = {"level": row.escalation_level + 1, "to": list(people), "step": label}
            await service.record_change(
                session, fresh, actor="timer", action="escalate", now=now, detail=detail
            )
            for person in people:
                text = f"#{row.id} ({row.role}) has been unclaimed for {minutes} min and is escalated to you."
                key = f"escalate:{row.id}:{row.escalation_level + 1}:{person}"
                await service.notify(session, person, text, now=now, key=key)

    async def remind(self, now: datetime) -> None:
        """A claim with no reply for a while reminds its claimer, once."""
        service = self.service
        cutoff = now - timedelta(minutes=self.settings.REMIND_AFTER_MINUTES)
        async with service.db.transaction() as session:
            due = await mentions.due_for_reminder(session, claimed_before=cutoff, limit=BATCH)
        for row in due:
            if row.claimed_at is None:
                continue
            async with service.db.transaction() as session:
                won = await mentions.transition(
                    session,
                    row.id,
                    Transition.REMIND,
                    values={"reminded_at": now},
                    guard=Guard(not_reminded=True, held_by=row.assignee, unassigned=row.assignee is None),
                )
                if won and row.assignee:
                    minutes = int((now - row.claimed_at).total_seconds() // 60)
                    text = f"Reminder: you claimed #{row.id} {minutes} min ago and it has no reply yet."
                    await service.notify(session, row.assignee, text, now=now, key=f"remind:{row.id}")
                    await audit.record(session, actor="timer", action="remind", now=now, mention_id=row.id)

    async def handover(self, now: datetime) -> None:
        """Each person coming on duty gets one digest of what is waiting for their role.

        Only for shifts that began in the last ``HANDOVER_WINDOW`` (a restart mid-shift sends
        nothing), and only mentions that arrived before the shift began (newer ones had a card).
        """
        service = self.service
        stale = now - timedelta(minutes=self.settings.REMIND_AFTER_MINUTES)
        for role in sorted(service.rules.roles):
            intervals = service.rota.coverage(role, now - timedelta(hours=36), now + timedelta(seconds=1))
            for person, began in _arrivals(intervals, now):
                if now - began > HANDOVER_WINDOW:
                    continue
                async with service.db.transaction() as session:
                    waiting = await mentions.waiting_at_handover(
                        session,
                        OPEN | {Status.CLAIMED},
                        role=role,
                        arrived_before=began,
                        claimed_before=stale,
                        limit=20,
                    )
                if waiting:
                    await self._digest(role, began, (person,), waiting, now)

    async def check_in(self, now: datetime) -> None:
        """Shift check-in (``CHECKIN_MINUTES``; off at 0): ask who just came on duty, then the next
        due step of every open check-in (``bot/core/checkin.py``)."""
        if self.service.checkin_minutes <= 0:
            return
        service = self.service
        arrivals = []
        for role in sorted(service.rules.roles):
            intervals = service.rota.coverage(role, now - timedelta(hours=36), now + timedelta(seconds=1))
            arrivals += [(role, person, began) for person, began in _arrivals(intervals, now)]
        await checkin.ask_new(service.context, arrivals, now)
        await checkin.advance(service.context, now)

    async def _digest(
        self, role: str, begin: datetime, people: tuple[str, ...], waiting: list[StoredMention], now: datetime
    ) -> None:
        service = self.service
        branch = service.rules.branch_of(role)
        where = f" at {branch.label}" if branch is not None else ""
        lines = [f"Handover for {role}{where}: {len(waiting)} waiting."]
        for row in waiting[:20]:
            who = (
                f"claimed by {service.directory.name(row.assignee)}, no reply"
                if row.assignee
                else status_label(Status(row.status))
            )
            age = int((now - row.received_at).total_seconds() // 60)
            lines.append(f"  #{row.id} · {mention_title(row.source, row.text)} · {who} · {age} min old")
        async with service.db.transaction() as session:
            for person in people:
                if await mark(session, "handover", f"{person}:{role}:{begin.isoformat()}", now):
                    await service.notify(session, person, "\n".join(lines), now=now)

    async def _roll_up(self, today: date) -> None:
        """Roll up the last week's days for reports and take the marks of changed mentions (so they
        do not pile up when nobody asks for a report)."""
        from bot.reports.rollup import refresh  # lazily, as rota_actions' report: the core stays small

        service = self.service
        week = today - timedelta(days=7)
        rolled = await refresh(
            service.db, hours=service.opening_hours, zone=service.rota.zone, since=week, until=today
        )
        log.info("reports: %d days rolled up", rolled)

    async def daily(self, now: datetime) -> None:
        """Once a day: coverage warnings (gaps within 48 h) to managers, the optional duty post,
        auto-resolving quiet replies and the retention purge; once a week, the optional report."""
        service = self.service
        local = now.astimezone(service.rota.zone)
        found = gaps(
            service.rules,
            service.rota,
            service.dated_hours or service.opening_hours,
            start=local.date(),
            days=3,
            dated=service.branch_hours,
        )
        soon = [g for g in found if g[1] <= local + timedelta(hours=48) and g[2] > local]
        async with service.db.transaction() as session:
            if soon and await mark(session, "gaps", local.date().isoformat(), now):
                for manager in [r.key for r in service.directory.rows.values() if r.is_manager]:
                    text = "Rota warning. " + format_gaps(soon, rules=service.rules)
                    await service.notify(session, manager, text, now=now)
            purge_due = await mark(session, "purge", str(local.date()), now)
            weekly = self.settings.WEEKLY_REPORT_AT.split()
            week_due = (
                bool(weekly)
                and local.strftime("%a").lower() == weekly[0]
                and local.strftime("%H:%M") >= weekly[1]
            )
            week_due = week_due and await mark(session, "weekly", local.strftime("%G-W%V"), now)
            post_at = self.settings.DAILY_DUTY_POST_AT
            if (
                post_at
                and local.strftime("%H:%M") >= post_at
                and await mark(session, "duty", str(local.date()), now)
            ):
                await service.announce(session, render_now(service.rota, service.rules, now), now=now)
        if purge_due:
            # purge first: a reply quiet for longer than retention goes now, not a retention later
            result = await purge(service, days=self.settings.RETENTION_DAYS)
            closed = await auto_resolve(service, days=self.settings.AUTO_RESOLVE_DAYS)
            log.info(
                "retention: purged %d mentions (%d closed untouched), %d cards to redact, "
                "%d quarantined items deleted; %d resolved automatically",
                result.mentions,
                result.expired,
                result.cards,
                result.quarantined,
                closed,
            )
            await self._roll_up(local.date())
        if week_due:
            text = await stats_text(service.context)
            async with service.db.transaction() as session:
                await service.announce(session, "Weekly report. " + text, now=now)


async def mark(session: AsyncSession, kind: str, key: str, now: datetime) -> bool:
    """Record that (kind, key) is done; False when it already was."""
    return await audit.mark(session, kind=kind, key=key, now=now)
