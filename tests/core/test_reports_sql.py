"""The report computed in SQL equals ``summarize()`` (one ``Facts`` per mention, plain Python) on
random mentions, opening hours and zones (Hypothesis; SQLite, and PostgreSQL when it is given): the
statement over every mention exactly, the daily roll-up with counts exact and waits within its
documented precision (tests/core/test_reports_rollup.py changes mentions after the roll-up)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from bot.reports.compute import build_report, direct_report
from bot.reports.rollup import PRECISION
from bot.reports.stats import Facts, Report, summarize
from bot.rota.opening import Opening, parse_opening_hours
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from tests.conftest import PG_URL, drop_database, make_database

SINCE = date(2026, 3, 2)  # across the American (8 Mar) and European (29 Mar) DST changes
ZONES = ("UTC", "America/Chicago", "Europe/Berlin", "Australia/Sydney")
STATUSES = ("routed", "posted", "queued", "escalated", "claimed", "replied", "resolved", "ignored")
TAGS = ("question", "praise", "événement", "a,b")  # "a,b" is two tags, as stored comma-separated
NAMES = ("mastodon", "bluesky", "feeds", "réf'érence", "a;b")  # a quote and a semicolon: still one key


@st.composite
def openings(draw: st.DrawFn) -> tuple[Opening, ...]:
    """Always open, or up to three daytime openings (away from the night-time DST changes; see
    bot/reports/clock.py for windows that span one)."""
    if draw(st.booleans()):
        return parse_opening_hours("")
    out = []
    for _ in range(draw(st.integers(1, 3))):
        days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
        start = draw(st.integers(5 * 4, 22 * 4)) * 15
        end = draw(st.integers(start // 15 + 1, 24 * 4)) * 15
        out.append(
            Opening(
                days, time(start // 60, start % 60), time.max if end == 1440 else time(end // 60, end % 60)
            )
        )
    return tuple(out)


def moments(after: datetime, span_hours: int) -> st.SearchStrategy[datetime]:
    return st.integers(0, span_hours * 3600).map(lambda s: after + timedelta(seconds=s))


@st.composite
def facts(draw: st.DrawFn, days: int) -> list[Facts]:
    first = datetime.combine(SINCE, time(0), tzinfo=UTC) - timedelta(days=1)
    out = []
    for _ in range(draw(st.integers(0, 40))):
        received = draw(moments(first, (days + 2) * 24))
        claimed = draw(st.none() | moments(received, 24 * 5))
        replied = draw(st.none() | moments(claimed or received, 24 * 3))
        out.append(
            Facts(
                draw(st.sampled_from(NAMES)),
                draw(st.sampled_from(NAMES[:3])),
                draw(st.sampled_from(NAMES[2:])),
                draw(st.sampled_from(STATUSES)),
                received,
                claimed,
                replied,
                ",".join(draw(st.lists(st.sampled_from(TAGS), max_size=3))),
                draw(st.none() | st.integers(1, 6)),
                draw(st.none() | st.booleans()),
            )
        )
    return out


async def store(db: Database, rows: list[Facts]) -> None:
    async with db.transaction() as session:
        await session.execute(delete(MentionRow))
        if rows:
            values = [
                {
                    "source": f.source,
                    "external_id": str(n),
                    "created_at": f.received_at,
                    "received_at": f.received_at,
                    "status": f.status,
                    "role": f.role,
                    "rule": f.rule,
                    "first_claimed_at": f.first_claimed_at,
                    "first_replied_at": f.first_replied_at,
                    "tags": f.tags,
                    "read_level": f.read_level,
                    "directional": f.directional,
                }
                for n, f in enumerate(rows)
            ]
            await session.execute(insert(MentionRow), values)


def close(got: float | None, want: float | None, rel: float) -> bool:
    if got is None or want is None:
        return got is want
    return got == pytest.approx(want, abs=1e-6, rel=rel)


def same(got: Report, want: Report, rel: float = 0.0) -> None:
    """Counts equal; waits equal (to the millisecond the SQL rounds to) or within ``rel``."""
    assert (got.total, got.unanswered) == (want.total, want.unanswered)
    assert (got.by_platform, got.by_role, got.by_rule) == (want.by_platform, want.by_role, want.by_rule)
    assert (got.by_tag, got.by_read, got.by_kind) == (want.by_tag, want.by_read, want.by_kind)
    for name in ("claim_median", "claim_p90", "reply_median", "reply_p90"):
        assert close(getattr(got, name), getattr(want, name), rel), name
    assert [(p.start, p.end, p.mentions) for p in got.series] == [
        (p.start, p.end, p.mentions) for p in want.series
    ]
    for mine, theirs in zip(got.series, want.series, strict=True):
        assert close(mine.median_claim, theirs.median_claim, rel), mine
        assert close(mine.median_reply, theirs.median_reply, rel), mine


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")),
    ],
)
def test_sql_report_equals_the_python_reference(kind: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    db, schema = loop.run_until_complete(make_database(kind, tmp_path))

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        st.sampled_from((6, 40)).flatmap(lambda days: st.tuples(st.just(days), facts(days))),
        openings(),
        st.sampled_from(ZONES),
    )
    def check(data: tuple[int, list[Facts]], hours: tuple[Opening, ...], zone_name: str) -> None:
        days, rows = data
        zone, until = ZoneInfo(zone_name), SINCE + timedelta(days=days)
        loop.run_until_complete(store(db, rows))
        want = summarize(rows, since=SINCE, until=until, hours=hours, zone=zone)
        got = loop.run_until_complete(direct_report(db, since=SINCE, until=until, hours=hours, zone=zone))
        same(got, want)
        rolled = loop.run_until_complete(build_report(db, since=SINCE, until=until, hours=hours, zone=zone))
        same(rolled, want, rel=PRECISION)

    try:
        check()
    finally:
        loop.run_until_complete(drop_database(db, schema))
        loop.close()
