"""The roll-up stays equal to ``summarize()`` when mentions change after their day was rolled up
(a late claim or reply, answered or reopened, tags and READ level edited, closed and blanked by
retention, deleted, a late arrival) and while another process writes (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

from bot.domain.transitions import Transition, allowed_from, target
from bot.reports.compute import build_report
from bot.reports.output import load_facts
from bot.reports.rollup import PRECISION, Bin, Waits, bucket, pack
from bot.reports.stats import Facts, summarize
from bot.rota.opening import Opening, parse_opening_hours
from bot.store import retention
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.report_tables import ReportDayRow, ReportDirtyRow
from tests.conftest import PG_URL, drop_database, make_database

from .test_reports_sql import SINCE, STATUSES, TAGS, ZONES, facts, openings, same, store

DAYS = 6
UNTIL = SINCE + timedelta(days=DAYS)
KINDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")),
]


def later(seconds: int) -> datetime:
    return datetime.combine(SINCE, time(0), tzinfo=UTC) + timedelta(seconds=seconds)


CHANGES = st.one_of(
    st.tuples(st.just("claim"), st.integers(0, 39), st.integers(0, 9 * 86400)),
    st.tuples(st.just("reply"), st.integers(0, 39), st.integers(0, 9 * 86400)),
    st.tuples(st.just("status"), st.integers(0, 39), st.sampled_from(STATUSES)),
    st.tuples(st.just("tags"), st.integers(0, 39), st.lists(st.sampled_from(TAGS), max_size=2).map(",".join)),
    st.tuples(st.just("read"), st.integers(0, 39), st.none() | st.integers(1, 6)),
    st.tuples(st.just("delete"), st.integers(0, 39), st.none()),
    st.tuples(st.just("arrive"), st.integers(40, 80), st.integers(-86400, (DAYS + 1) * 86400)),
    st.tuples(st.just("purge"), st.none(), st.integers(0, 12 * 86400)),
)


async def change(db: Database, what: str, n: int | None, value: Any) -> None:
    """One change as the bot's store functions make it: an UPDATE, DELETE or INSERT of mentions."""
    async with db.transaction() as session:
        where = MentionRow.external_id == str(n)
        if what == "claim":  # a late first claim: only if none yet (first_claimed_at never moves)
            row = (await session.execute(select(MentionRow.received_at).where(where))).scalar_one_or_none()
            if row is not None:
                at = max(row, later(value))
                await session.execute(
                    update(MentionRow)
                    .where(where, MentionRow.first_claimed_at.is_(None))
                    .values(first_claimed_at=at, status="claimed")
                )
        elif what == "reply":
            row = (await session.execute(select(MentionRow.received_at).where(where))).scalar_one_or_none()
            if row is not None:
                await session.execute(
                    update(MentionRow)
                    .where(where, MentionRow.first_replied_at.is_(None))
                    .values(first_replied_at=max(row, later(value)), status="replied")
                )
        elif what == "status":
            await session.execute(update(MentionRow).where(where).values(status=value))
        elif what == "tags":
            await session.execute(update(MentionRow).where(where).values(tags=value))
        elif what == "read":
            await session.execute(update(MentionRow).where(where).values(read_level=value))
        elif what == "delete":
            await session.execute(delete(MentionRow).where(where))
        elif what == "arrive":
            exists = (await session.execute(select(func.count()).where(where))).scalar_one()
            if not exists:
                at = later(value)
                values = {"source": "mastodon", "external_id": str(n), "created_at": at, "received_at": at}
                await session.execute(
                    insert(MentionRow), [{**values, "status": "posted", "role": "r", "rule": "x"}]
                )
        else:  # retention: close what is stale, blank what is finished (bot/core/retention.py's steps)
            cutoff = now = later(value)
            await retention.expire(
                session,
                cutoff,
                now,
                stale=allowed_from(Transition.EXPIRE),
                answered=target(Transition.AUTO_RESOLVE),
                unanswered=target(Transition.EXPIRE),
                limit=1000,
            )
            await retention.blank(session, await retention.finished_due(session, cutoff, limit=1000), now)


async def check(db: Database, hours: tuple[Opening, ...], zone: ZoneInfo, until: date = UNTIL) -> None:
    got = await build_report(db, since=SINCE, until=until, hours=hours, zone=zone)
    rows = await load_facts(db, since=SINCE, until=until, zone=zone)
    same(got, summarize(rows, since=SINCE, until=until, hours=hours, zone=zone), rel=PRECISION)


@pytest.mark.parametrize("kind", KINDS)
def test_changes_after_the_roll_up_reach_the_report(kind: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    db, schema = loop.run_until_complete(make_database(kind, tmp_path))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(facts(DAYS), st.lists(CHANGES, max_size=8), openings(), st.sampled_from(ZONES))
    def run(rows: list[Facts], changes: list[Any], hours: tuple[Opening, ...], zone_name: str) -> None:
        zone = ZoneInfo(zone_name)
        loop.run_until_complete(store(db, rows))
        loop.run_until_complete(check(db, hours, zone))  # rolls every day of the report up
        for what, n, value in changes:
            loop.run_until_complete(change(db, what, n, value))
        loop.run_until_complete(check(db, hours, zone))

    try:
        run()
    finally:
        loop.run_until_complete(drop_database(db, schema))
        loop.close()


WRITER = """
import asyncio, sys
from datetime import datetime, timedelta, UTC
from sqlalchemy import insert, update
from bot.store.db import Database
from bot.store.mention_tables import MentionRow

async def main(url, schema, first):
    if schema:
        db = Database(url, connect_args={"server_settings": {"search_path": schema}})
    else:
        db = Database(url)
    start = datetime.fromisoformat(first)
    for n in range(60):
        at = start + timedelta(hours=n * 2, minutes=7)
        async with db.transaction() as session:
            values = {"source": "webhook", "external_id": f"w{n}", "created_at": at, "received_at": at,
                      "status": "posted", "role": "r", "rule": "x", "tags": "praise"}
            await session.execute(insert(MentionRow), [values])
        if n % 3 == 0:
            async with db.transaction() as session:
                await session.execute(
                    update(MentionRow).where(MentionRow.external_id == f"w{n // 2}")
                    .values(first_claimed_at=at + timedelta(minutes=n), status="replied",
                            first_replied_at=at + timedelta(minutes=2 * n), tags="question")
                )
    await db.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


@pytest.mark.parametrize("kind", KINDS)
async def test_a_writer_in_another_process_is_never_lost(kind: str, tmp_path: Path) -> None:
    """Reports roll up over and over while another process inserts and changes mentions; once it
    is done, the report equals the reference (however the two interleaved)."""
    db, schema = await make_database(kind, tmp_path)
    zone = ZoneInfo("Europe/Berlin")
    hours = parse_opening_hours("")
    try:
        url = str(db.engine.url.render_as_string(hide_password=False))
        first = datetime.combine(SINCE, time(0), tzinfo=UTC).isoformat()
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, url, schema or "", first, cwd=Path(__file__).parents[2]
        )
        reports = 0
        while writer.returncode is None:
            await build_report(db, since=SINCE, until=UNTIL, hours=hours, zone=zone)
            reports += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.wait(), 0.01)
        assert writer.returncode == 0 and reports > 0
        await check(db, hours, zone)
        got = await build_report(db, since=SINCE, until=UNTIL, hours=hours, zone=zone)
        assert got.by_platform == {"webhook": 60} and got.by_tag["question"] == 20
    finally:
        await drop_database(db, schema)


async def test_a_changed_day_is_marked_and_rolled_up_again(sqlite_db: Database) -> None:
    """Only a change a report sees marks its day; the roll-up takes the mark."""
    zone = ZoneInfo("UTC")
    at = later(3600)
    async with sqlite_db.transaction() as session:
        values = {"source": "mastodon", "external_id": "1", "created_at": at, "received_at": at}
        await session.execute(insert(MentionRow), [{**values, "status": "posted", "role": "r", "rule": "x"}])
    report = await build_report(sqlite_db, since=SINCE, until=SINCE, hours=(), zone=zone)
    assert report.unanswered == 1

    async def marks() -> int:
        async with sqlite_db.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(ReportDirtyRow))).scalar_one())

    assert await marks() == 0
    async with sqlite_db.transaction() as session:
        await session.execute(update(MentionRow).values(status="claimed", text="edited"))  # still unanswered
    assert await marks() == 0
    async with sqlite_db.transaction() as session:
        await session.execute(update(MentionRow).values(status="resolved"))
    assert await marks() == 1
    report = await build_report(sqlite_db, since=SINCE, until=SINCE, hours=(), zone=zone)
    assert report.unanswered == 0 and report.total == 1 and await marks() == 0
    async with sqlite_db.transaction() as session:
        days = (await session.execute(select(func.count()).select_from(ReportDayRow))).scalar_one()
    assert days == 1


def test_a_rank_is_exact_at_a_bucket_end_and_else_within_the_precision() -> None:
    waits = [0, 1000, 1001, 1010, 1020, 5000]
    bins: dict[int, Bin] = {}
    for w in waits:
        found = bins.setdefault(bucket(w), Bin(0, w, w))
        found.add(1, w, w)
    assert len(bins) == 3 and bucket(0) < bucket(1)
    one, other = Waits(), Waits()
    one.add(pack({b: v for b, v in bins.items() if b != bucket(5000)}))
    other.add(pack({bucket(5000): bins[bucket(5000)]}))
    one.absorb(other)
    assert [one.rank(r) for r in (1, 2, 5, 6)] == [0, 1000, 1020, 5000]
    for r in (3, 4):
        assert one.rank(r) == pytest.approx(waits[r - 1], rel=PRECISION)


async def test_a_report_for_another_zone_does_not_hide_a_change(sqlite_db: Database) -> None:
    """A change read as a UTC day by one report is still seen by the next report in Sydney, where
    the mention's arrival falls on the next day (the hypothesis test above found this)."""
    sydney, utc, always = ZoneInfo("Australia/Sydney"), ZoneInfo("UTC"), parse_opening_hours("")
    at = later(23 * 3600 + 1800)  # 23:30 UTC on SINCE: the next morning in Sydney
    async with sqlite_db.transaction() as session:
        values = {"source": "mastodon", "external_id": "1", "created_at": at, "received_at": at}
        await session.execute(insert(MentionRow), [{**values, "status": "posted", "role": "r", "rule": "x"}])
    await check(sqlite_db, always, sydney)
    async with sqlite_db.transaction() as session:
        await session.execute(update(MentionRow).values(tags="praise"))
    await check(sqlite_db, always, utc, until=SINCE)  # takes the mark, rolls up SINCE in UTC
    await check(sqlite_db, always, sydney)
