"""Shapes that keep the heavy queries fast at a million mentions (plans and statement counts, never
timings; bench/queries.py measures the times): a report reads its daily roll-up, not the mentions,
a retention dry run is one statement however many mentions there are, and PostgreSQL keeps
planning every timer selection for its actual statuses after the fifth execution of its prepared
statement (no generic plan)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, text

from bot.core.retention import purge
from bot.domain import transitions
from bot.domain.transitions import Transition, allowed_from
from bot.models import Status
from bot.reports.compute import build_report
from bot.rota.opening import parse_opening_hours
from bot.store import mentions
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from tests.core.helpers import make_service

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
HOURS = parse_opening_hours("mon-fri 09:00-17:00")
UTC_ZONE = ZoneInfo("UTC")


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    target = db.engine.sync_engine
    event.listen(target, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", grab)


async def fill(db: Database, count: int) -> None:
    statuses = ["resolved", "replied", "claimed", "posted", "queued", "ignored"]
    rows = []
    for n in range(count):
        received = T0 + timedelta(minutes=7 * n)
        rows.append(
            {
                "source": ("mastodon", "bluesky", "feeds")[n % 3],
                "external_id": f"x{n}",
                "created_at": received,
                "received_at": received,
                "status": statuses[n % len(statuses)],
                "role": ("social-media", "circulation")[n % 2],
                "rule": "default",
                "first_claimed_at": received + timedelta(minutes=n % 50) if n % 4 else None,
                "first_replied_at": received + timedelta(minutes=n % 90) if n % 5 == 1 else None,
                "claimed_at": received + timedelta(minutes=n % 50) if n % 4 else None,
            }
        )
    async with db.transaction() as session:
        await session.execute(insert(MentionRow), rows)


async def test_a_report_reads_the_roll_up_not_the_mentions(database: Database) -> None:
    """The first report rolls its days up in one statement over their mentions; the next one, with
    nothing changed, reads three small statements (marks, days rolled up, their rows) and no mention."""
    await fill(database, 3000)  # two weeks and a half of arrivals
    since, until = date(2026, 3, 2), date(2026, 3, 31)
    with statements(database) as seen:
        first = await build_report(database, since=since, until=until, hours=HOURS, zone=UTC_ZONE)
    over_mentions = [s for s in seen if "FROM mentions" in s]
    assert len(over_mentions) == 1  # 30 days: one run of the per-mention statement
    with statements(database) as seen:
        report = await build_report(database, since=since, until=until, hours=HOURS, zone=UTC_ZONE)
    reads = [s for s in seen if s.lstrip().upper().startswith(("WITH", "SELECT"))]
    assert len(reads) == 3 and not [s for s in reads if "mentions" in s]
    assert report == first
    assert report.total == 3000 and sum(p.mentions for p in report.series) == 3000


async def test_the_retention_dry_run_is_one_statement(database: Database) -> None:
    service = await make_service(database, now=T0 + timedelta(days=800))
    await fill(database, 300)
    with statements(database) as seen:
        result = await purge(service, days=365, dry_run=True)
    assert len([s for s in seen if s.lstrip().upper().startswith(("WITH", "SELECT"))]) == 1
    assert result.mentions > 0


async def test_timer_selections_are_never_planned_generically(database: Database) -> None:
    if database.is_sqlite:  # SQLite plans each statement for its values anyway
        return
    await fill(database, 3000)
    now = T0 + timedelta(days=30)
    async with database.transaction() as session:
        await session.execute(text("ANALYZE mentions"))
    for _ in range(8):  # past the fifth execution, when PostgreSQL may switch to a generic plan
        async with database.transaction() as session:
            await mentions.queued_for_roles(session, ["social-media", "circulation"], limit=500)
            await mentions.due_for_escalation(
                session, allowed_from(Transition.ESCALATE), waiting_since=now, limit=500
            )
            await mentions.due_for_reminder(session, claimed_before=now, limit=500)
            await mentions.waiting_at_handover(
                session,
                transitions.OPEN | {Status.CLAIMED},
                role="circulation",
                arrived_before=now,
                claimed_before=now,
                limit=20,
            )
    async with database.transaction() as session:
        mode = (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
        rows = (
            await session.execute(
                text(
                    "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE '%FROM mentions%ORDER BY mentions.id%'"
                )
            )
        ).all()
    with_values = [(generic, custom) for statement, generic, custom in rows if "$" in statement]
    assert with_values and all(generic == 0 and custom >= 8 for generic, custom in with_values), with_values
    assert mode == "force_custom_plan"
