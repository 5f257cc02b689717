"""The report in one SQL statement: counts by GROUP BY, waits and their medians ranked in the database.

Only a few hundred rows come back however many mentions the report covers: one per (period,
platform, role, rule, answered) with its count, and the middle (and 90th percentile) wait of each
period. bot/reports/clock.py explains the opening-hours arithmetic; its numbers arrive here as
integers and are written into the statement (they are ours, never user text).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.mention_tables import MentionRow
from bot.store.sql import dialect
from bot.store.tables import Stamp

ANSWERED = ("replied", "resolved", "ignored")
OVERALL = -1  # the period number of the waits over the whole report
DAY_MS = 86_400_000
CLAIM, REPLY = 0, 1  # which wait: numbers, because sorting by a text key cost PostgreSQL 200 ms


@dataclass(frozen=True, slots=True)
class Clock:
    """The opening-hours arithmetic as integers (milliseconds)."""

    windows: tuple[tuple[int, int], ...]  # (start, length) from Monday 00:00 local
    per_week: int
    always_open: bool
    offsets: tuple[tuple[int, int], ...]  # (from UTC ms, offset ms), the first from the beginning
    monday: int  # local ms of a Monday 00:00
    week: int
    step: int  # the length of a period number: a day or a week


def _ms(column: str, pg: bool) -> str:
    if pg:
        return f"CAST(ROUND(date_part('epoch', {column}) * 1000) AS BIGINT)"  # float8: numeric was slow
    return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"


def _local(utc: str, clock: Clock) -> str:
    if len(clock.offsets) == 1:
        return f"({utc} + {clock.offsets[0][1]})"
    cases = " ".join(f"WHEN {utc} >= {since} THEN {shift}" for since, shift in reversed(clock.offsets[1:]))
    return f"({utc} + CASE {cases} ELSE {clock.offsets[0][1]} END)"


def _open_before(utc: str, local: str, clock: Clock, pg: bool) -> str:
    """Open milliseconds before the instant (counted from the reference Monday)."""
    if clock.always_open:
        return utc
    low, high = ("LEAST", "GREATEST") if pg else ("min", "max")
    pos = f"({local} - {clock.monday})"
    parts = [f"({pos} / {clock.week}) * {clock.per_week}"]
    parts += [f"{low}({high}({pos} % {clock.week} - {s}, 0), {n})" for s, n in clock.windows]
    return "(" + " + ".join(parts) + ")"


def _wait(start: str, end: str) -> str:
    """In opening hours; the real time when none passed (handled while closed); never negative."""
    return (
        f"CASE WHEN {end} IS NULL THEN NULL WHEN o_{end} > o_{start} THEN o_{end} - o_{start} "
        f"WHEN {end} > {start} AND o_{end} = o_{start} THEN {end} - {start} ELSE 0 END"
    )


def statement(clock: Clock, pg: bool, *, by_role: bool = False) -> str:
    """The report's SQL for this clock and dialect (parameters :start and :after; with ``by_role``,
    only the roles in the expanding :roles)."""
    answered = ", ".join(f"'{s}'" for s in ANSWERED)
    times = {"rcv": "received_at", "clm": "first_claimed_at", "rep": "first_replied_at"}
    ms = ", ".join(f"{_ms(col, pg)} AS {key}" for key, col in times.items())
    local = ", ".join(f"{_local(key, clock)} AS l_{key}" for key in times)
    opened = ", ".join(f"{_open_before(key, 'l_' + key, clock, pg)} AS o_{key}" for key in times)
    unanswered = f"CASE WHEN first_replied_at IS NULL AND status NOT IN ({answered}) THEN 1 ELSE 0 END"
    # Without a fence both databases inline each step's expressions into the next, so the date
    # parsing ran dozens of times per row. PostgreSQL: OFFSET 0 keeps each step a subquery scan;
    # SQLite: the parsed times are materialized once (fences there meant three temporary tables).
    fence = "OFFSET 0" if pg else ""
    roles = " AND role IN :roles" if by_role else ""
    first = "" if pg else "MATERIALIZED "
    return f"""
WITH raw AS {first}(
  SELECT source, role, rule, {unanswered} AS unanswered, {ms}
  FROM mentions WHERE received_at >= :start AND received_at < :after{roles} {fence}
), loc AS (
  SELECT source, role, rule, unanswered, rcv, clm, rep, {local} FROM raw {fence}
), opened AS (
  SELECT source, role, rule, unanswered, rcv, clm, rep, l_rcv, {opened} FROM loc {fence}
), base AS MATERIALIZED (
  SELECT source, role, rule, unanswered, (l_rcv - {clock.monday}) / {clock.step} AS period,
         {_wait("rcv", "clm")} AS cw, {_wait("rcv", "rep")} AS rw
  FROM opened
), waits AS (
  SELECT {CLAIM} AS kind, period, cw AS v FROM base WHERE cw IS NOT NULL
  UNION ALL SELECT {REPLY}, period, rw FROM base WHERE rw IS NOT NULL
), every AS (
  SELECT kind, period, v FROM waits UNION ALL SELECT kind, {OVERALL}, v FROM waits
), ranked AS (
  SELECT kind, period, v, ROW_NUMBER() OVER w AS rn,
         COUNT(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
  FROM every WINDOW w AS (PARTITION BY kind, period ORDER BY v)
)
SELECT 'n' AS tag, source AS a, role AS b, rule AS c, period, COUNT(*) AS x, unanswered AS y,
       CAST(NULL AS BIGINT) AS v
FROM base GROUP BY period, source, role, rule, unanswered
UNION ALL
SELECT 'q', CAST(kind AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), period, n, rn, v FROM ranked
WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 OR (period = {OVERALL} AND rn = (9 * n + 9) / 10)
"""


def per_mention(clock: Clock, pg: bool) -> str:
    """One row per mention received from :start to :after: (library day number, platform, role,
    rule, unanswered 0/1, tags, READ level, directional, claim wait ms, reply wait ms), the waits
    computed as in ``statement`` (bot/reports/rollup.py rolls these up per day)."""
    answered = ", ".join(f"'{s}'" for s in ANSWERED)
    times = {"rcv": "received_at", "clm": "first_claimed_at", "rep": "first_replied_at"}
    ms = ", ".join(f"{_ms(col, pg)} AS {key}" for key, col in times.items())
    local = ", ".join(f"{_local(key, clock)} AS l_{key}" for key in times)
    opened = ", ".join(f"{_open_before(key, 'l_' + key, clock, pg)} AS o_{key}" for key in times)
    unanswered = f"CASE WHEN first_replied_at IS NULL AND status NOT IN ({answered}) THEN 1 ELSE 0 END"
    fence = "OFFSET 0" if pg else ""
    first = "" if pg else "MATERIALIZED "
    more = "source, role, rule, unanswered, tags, read_level, directional"
    return f"""
WITH raw AS {first}(
  SELECT {more.replace("unanswered", unanswered + " AS unanswered")}, {ms}
  FROM mentions WHERE received_at >= :start AND received_at < :after {fence}
), loc AS (
  SELECT {more}, rcv, clm, rep, {local} FROM raw {fence}
), opened AS (
  SELECT {more}, rcv, clm, rep, l_rcv, {opened} FROM loc {fence}
)
SELECT (l_rcv - {clock.monday}) / {DAY_MS} AS day, {more},
       {_wait("rcv", "clm")} AS cw, {_wait("rcv", "rep")} AS rw
FROM opened
"""


async def mention_waits(
    session: AsyncSession, clock: Clock, *, start: datetime, after: datetime
) -> list[Any]:
    """The rows of ``per_mention`` for the mentions received from ``start`` to ``after``."""
    pg = dialect(session) == "postgresql"
    stmt = text(per_mention(clock, pg)).bindparams(
        bindparam("start", type_=Stamp), bindparam("after", type_=Stamp)
    )
    return list((await session.execute(stmt, {"start": start, "after": after})).all())


async def figures(
    session: AsyncSession,
    clock: Clock,
    *,
    start: datetime,
    after: datetime,
    roles: Collection[str] | None = None,
) -> list[Any]:
    """Rows of ("n", platform, role, rule, period, count, unanswered 0/1, None) and
    ("q", "0" (claim) or "1" (reply), None, None, period or OVERALL, count, rank, wait ms) for the mentions
    received from ``start`` (inclusive) to ``after`` (exclusive), of ``roles`` only when given (a branch)."""
    pg = dialect(session) == "postgresql"  # JIT is off on PostgreSQL connections (bot/store/engine.py)
    params: dict[str, Any] = {"start": start, "after": after}
    binds = [bindparam("start", type_=Stamp), bindparam("after", type_=Stamp)]
    if roles is not None:
        binds.append(bindparam("roles", expanding=True))
        params["roles"] = sorted(roles) or [""]
    stmt = text(statement(clock, pg, by_role=roles is not None)).bindparams(*binds)
    return list((await session.execute(stmt, params)).all())


async def facts_between(session: AsyncSession, start: datetime, after: datetime) -> list[Any]:
    """(source, role, rule, status, received_at, first_claimed_at, first_replied_at) of the mentions
    received from ``start`` (inclusive) to ``after`` (exclusive): what ``summarize()`` takes, and
    the bench's raw read of the rows a report covers."""
    cols = (
        MentionRow.source,
        MentionRow.role,
        MentionRow.rule,
        MentionRow.status,
        MentionRow.received_at,
        MentionRow.first_claimed_at,
        MentionRow.first_replied_at,
        MentionRow.tags,
        MentionRow.read_level,
        MentionRow.directional,
    )
    stmt = select(*cols).where(MentionRow.received_at >= start, MentionRow.received_at < after)
    return list((await session.execute(stmt)).all())


async def reference_rows(
    session: AsyncSession, start: datetime, after: datetime, roles: Collection[str] | None = None
) -> list[Any]:
    """(tags, READ level, directional, count) per distinct combination among the mentions received
    from ``start`` (inclusive) to ``after`` (exclusive), of ``roles`` only when given: few rows, split
    into counts by the caller."""
    stmt = (
        select(MentionRow.tags, MentionRow.read_level, MentionRow.directional, func.count())
        .where(MentionRow.received_at >= start, MentionRow.received_at < after)
        .group_by(MentionRow.tags, MentionRow.read_level, MentionRow.directional)
    )
    if roles is not None:
        stmt = stmt.where(MentionRow.role.in_(sorted(roles)))
    return [tuple(row) for row in (await session.execute(stmt)).all()]
