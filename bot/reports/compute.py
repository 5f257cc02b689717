"""The report out of the database: the SQL of bot/store/reports.py turned into a ``Report``.

``build_report`` reads the daily roll-up (bot/reports/rollup.py); ``direct_report`` computes from
every mention of the period.

Same figures as ``summarize()`` over one ``Facts`` per mention (tests/core/test_reports_sql.py
checks it on random data), without building an object per mention.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports.clock import DAY, MINUTE, MONDAY, WEEK, offsets, week_windows
from bot.reports.stats import Period, Report, local_bounds, periods, with_reference
from bot.rota.opening import Opening
from bot.store import reports
from bot.store.db import Database

CLAIM, REPLY = str(reports.CLAIM), str(reports.REPLY)  # as the statement's text column gives them
LATE_CLAIMS = timedelta(days=400)  # DST offsets are listed this far past the report (later claims)
FIRST_MONDAY = date(1970, 1, 5)


def clock_for(
    hours: Sequence[Opening], zone: ZoneInfo, *, since: date, until: date, daily: bool
) -> reports.Clock:
    """The integers the statement needs for these opening hours, zone and days."""
    start, after = local_bounds(since, until, zone)
    week = week_windows(tuple(hours))
    return reports.Clock(
        windows=week.windows,
        per_week=week.per_week,
        always_open=week.always_open,
        offsets=tuple(offsets(zone, start - timedelta(days=1), after + LATE_CLAIMS)),
        monday=MONDAY,
        week=WEEK,
        step=DAY if daily else WEEK,
    )


def _median(ranks: dict[int, int], n: int) -> float:
    return (ranks[(n + 1) // 2] + ranks[(n + 2) // 2]) / 2 / MINUTE


async def build_report(
    db: Database,
    *,
    since: date,
    until: date,
    hours: Sequence[Opening],
    zone: ZoneInfo,
    roles: Collection[str] | None = None,
) -> Report:
    """The report of the mentions received from ``since`` to ``until``.

    The library's report (no ``roles``) is read from the daily roll-up (bot/reports/rollup.py; waits
    within its documented precision). A branch's (its ``hours``, ``zone`` and only its ``roles``) is
    computed directly: the roll-up is kept for one zone and one set of opening hours.
    """
    if roles is None:
        from bot.reports import rollup  # it builds on this module's clock

        return await rollup.build_report(db, since=since, until=until, hours=hours, zone=zone)
    return await direct_report(db, since=since, until=until, hours=hours, zone=zone, roles=roles)


async def direct_report(
    db: Database,
    *,
    since: date,
    until: date,
    hours: Sequence[Opening],
    zone: ZoneInfo,
    roles: Collection[str] | None = None,
) -> Report:
    """The report computed from every mention of the period in one statement (exact waits): a
    branch's report, what the roll-up is checked against, and the bench's comparison."""
    bars = periods(since, until)
    daily = bars[0][0] == bars[0][1]
    start, after = local_bounds(since, until, zone)
    clock = clock_for(hours, zone, since=since, until=until, daily=daily)
    async with db.transaction() as session:
        rows = await reports.figures(session, clock, start=start, after=after, roles=roles)
        reference = await reports.reference_rows(session, start, after, roles)
    report = assemble(rows, since=since, until=until, bars=bars, daily=daily)
    return with_reference(report, reference)


def _bar_of(period: int, bars: list[tuple[date, date]], daily: bool) -> int:
    """The bar holding a period number (the first week's bar starts at ``since``, mid-week)."""
    first = max(FIRST_MONDAY + timedelta(days=period if daily else 7 * period), bars[0][0])
    return bisect_right(bars, (first, date.max)) - 1


def assemble(
    rows: Sequence[Any], *, since: date, until: date, bars: list[tuple[date, date]], daily: bool
) -> Report:
    """The ``Report`` from the statement's rows."""
    counts: dict[str, dict[str, int]] = {"platform": {}, "role": {}, "rule": {}}
    per_bar = [0] * len(bars)
    unanswered = 0
    ranks: dict[tuple[str, int], dict[int, int]] = defaultdict(dict)
    sizes: dict[tuple[str, int], int] = {}
    for tag, a, b, c, period, x, y, v in rows:
        if tag == "n":
            for table, key in (("platform", a), ("role", b), ("rule", c)):
                counts[table][key] = counts[table].get(key, 0) + x
            unanswered += x * y
            per_bar[_bar_of(period, bars, daily)] += x
        else:
            bar = period if period == reports.OVERALL else _bar_of(period, bars, daily)
            ranks[(a, bar)][y] = v
            sizes[(a, bar)] = x

    def median(kind: str, bar: int) -> float | None:
        n = sizes.get((kind, bar))
        return None if n is None else _median(ranks[(kind, bar)], n)

    def p90(kind: str) -> float | None:
        n = sizes.get((kind, reports.OVERALL))
        return None if n is None else ranks[(kind, reports.OVERALL)][(9 * n + 9) // 10] / MINUTE

    def ordered(table: dict[str, int]) -> dict[str, int]:
        return dict(sorted(table.items(), key=lambda kv: (-kv[1], kv[0])))

    return Report(
        since=since,
        until=until,
        total=sum(per_bar),
        by_platform=ordered(counts["platform"]),
        by_role=ordered(counts["role"]),
        by_rule=ordered(counts["rule"]),
        claim_median=median(CLAIM, reports.OVERALL),
        claim_p90=p90(CLAIM),
        reply_median=median(REPLY, reports.OVERALL),
        reply_p90=p90(REPLY),
        unanswered=unanswered,
        series=[
            Period(start, end, per_bar[n], median(CLAIM, n), median(REPLY, n))
            for n, (start, end) in enumerate(bars)
        ],
    )
