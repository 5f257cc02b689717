"""The wake timer's selection reads the partial index over snoozed rows (plans, never timings):
however many mentions there are, it touches only the snoozed ones whose time has come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import Status
from bot.store import mentions
from bot.store.db import Database
from bot.store.mention_tables import MentionRow

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def fill(db: Database, count: int) -> None:
    statuses = ["resolved", "replied", "claimed", "posted", "ignored"]
    rows = []
    for n in range(count):
        snoozed = n % 100 == 0
        rows.append(
            {
                "source": "mastodon",
                "external_id": f"x{n}",
                "created_at": T0,
                "received_at": T0 + timedelta(minutes=n),
                "status": Status.SNOOZED.value if snoozed else statuses[n % len(statuses)],
                "role": "reference",
                "rule": "default",
                "assignee": "bob" if snoozed else None,
                # half of them until a time (spread over a day), half until the patron answers
                "snoozed_until": T0 + timedelta(minutes=n % 1440) if snoozed and n % 200 == 0 else None,
            }
        )
    async with db.transaction() as session:
        await session.execute(insert(MentionRow), rows)


async def test_the_wake_selection_reads_the_snoozed_index(database: Database) -> None:
    await fill(database, 5000)
    now = T0 + timedelta(hours=12)
    async with database.transaction() as session:
        due = await mentions.due_to_wake(session, now=now, limit=500)
        assert due and all(r.status == "snoozed" and r.snoozed_until and r.snoozed_until <= now for r in due)
        assert [r.snoozed_until for r in due] == sorted(r.snoozed_until for r in due)  # type: ignore[type-var]
        dialect = database.engine.dialect.name
        stmt = (
            MentionRow.__table__.select()  # type: ignore[attr-defined]
            .where(
                MentionRow.status == "snoozed",
                MentionRow.snoozed_until.is_not(None),
                MentionRow.snoozed_until <= now,
            )
            .order_by(MentionRow.snoozed_until)
            .limit(500)
        )
        if dialect == "sqlite":
            compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
            sql = str(compiled).replace(" 00:00:00.000000'", "'")
            plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
        else:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            plan = (await session.execute(text(f"EXPLAIN {compiled}"))).all()
    described = " ".join(str(row[-1]) for row in plan)
    assert "ix_mentions_snoozed_until" in described, described
