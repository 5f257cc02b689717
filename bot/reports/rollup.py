"""The report from a daily roll-up: a report reads a few rows per library day, not every mention.

Each library day (in its zone) is summed once into ``report_counts`` (mentions by platform, role,
rule, tag, READ level and kind; total; unanswered: exact) and ``report_waits`` (waits to first
claim and first reply in log-scale buckets, each with its count, smallest and largest wait).
A trigger marks the arrival time of every mention inserted, deleted or changed in a way a report
sees (a late claim or reply, answered or reopened, tags, READ level...), from any process; a report
first rolls up again the days so marked and any of its days not rolled up yet for these opening
hours and zone (the current day too: it is rolled up again after each change), then reads the roll-up.

Precision: counts are exact. A median or 90th percentile is exact when the ranked wait is the
smallest or largest of its bucket (always, when no two waits share a bucket, as with a handful of
mentions); otherwise it is the middle of the bucket's smallest and largest waits, within
``PRECISION`` (2.2 %) of the exact wait (a bucket spans a factor of 2 ** (1/16)).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.reports.clock import MINUTE
from bot.reports.compute import FIRST_MONDAY, clock_for
from bot.reports.stats import Period, Report, local_bounds, periods
from bot.rota.opening import Opening
from bot.store import reports, rollup
from bot.store.db import Database

if TYPE_CHECKING:  # a type hint only: SQL stays in bot/store
    from sqlalchemy.ext.asyncio import AsyncSession

PER_DOUBLING = 16  # buckets per doubling of the wait
PRECISION = (2 ** (1 / PER_DOUBLING) - 1) / 2  # the largest relative error of an estimated wait
ZERO = -1  # the bucket of waits of 0 ms
CLAIM, REPLY = reports.CLAIM, reports.REPLY
DIMS = ("platform", "role", "rule")
BUILD_DAYS = 62  # days rolled up per statement (a first report of a year reads it in pieces)


def bucket(ms: int) -> int:
    """The log-scale bucket of a wait in milliseconds."""
    return ZERO if ms <= 0 else math.floor(PER_DOUBLING * math.log2(ms))


def day_number(day: date) -> int:
    """A library day as the roll-up numbers it (days from Monday 1970-01-05)."""
    return (day - FIRST_MONDAY).days


def clock_key(hours: Sequence[Opening], zone: ZoneInfo) -> str:
    """What a rolled-up day was computed for: the zone and the opening hours."""
    spec = repr((zone.key, sorted((sorted(o.days), o.start.isoformat(), o.end.isoformat()) for o in hours)))
    return hashlib.sha256(spec.encode()).hexdigest()[:32]


@dataclass(slots=True)
class Bin:
    """Waits in one bucket: how many, the smallest and the largest (ms)."""

    n: int
    lo: int
    hi: int

    def add(self, n: int, lo: int, hi: int) -> None:
        self.n, self.lo, self.hi = self.n + n, min(self.lo, lo), max(self.hi, hi)


def pack(bins: dict[int, Bin]) -> bytes:
    """Buckets as little-endian 64-bit integers: every bucket, then the counts, smallest, largest."""
    keys = sorted(bins)
    out = array("q", keys)
    for part in ("n", "lo", "hi"):
        out.extend(getattr(bins[k], part) for k in keys)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


class Waits:
    """The waits of one kind over some days, read from their packed buckets: the counts are summed
    per bucket; a ranked wait's smallest and largest are looked up in the few buckets asked for."""

    __slots__ = ("_counts", "_cum", "days")

    def __init__(self) -> None:
        self.days: list[tuple[array[int], int]] = []  # (values, buckets) of each day
        self._counts: list[int] = []  # per bucket + 1 (ZERO is index 0)
        self._cum: list[int] | None = None

    def add(self, packed: bytes) -> None:
        if not packed:
            return
        values = array("q")
        values.frombytes(packed)
        if sys.byteorder == "big":
            values.byteswap()
        k = len(values) // 4
        top = values[k - 1] + 2
        counts = self._counts
        if len(counts) < top:
            counts.extend([0] * (top - len(counts)))
        for b, n in zip(values[:k], values[k : 2 * k], strict=True):
            counts[b + 1] += n
        self.days.append((values, k))
        self._cum = None

    def absorb(self, other: Waits) -> None:
        """Add another day range's waits (its days and counts)."""
        counts = self._counts
        if len(counts) < len(other._counts):
            counts.extend([0] * (len(other._counts) - len(counts)))
        for i, n in enumerate(other._counts):
            if n:
                counts[i] += n
        self.days += other.days
        self._cum = None

    @property
    def n(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    @property
    def cumulative(self) -> list[int]:
        if self._cum is None:
            self._cum = list(accumulate(self._counts))
        return self._cum

    def _ends(self, b: int) -> tuple[int, int]:
        lo, hi = None, None
        for values, k in self.days:
            i = bisect_left(values, b, 0, k)
            if i < k and values[i] == b:
                lo = values[2 * k + i] if lo is None else min(lo, values[2 * k + i])
                hi = values[3 * k + i] if hi is None else max(hi, values[3 * k + i])
        assert lo is not None and hi is not None
        return lo, hi

    def rank(self, rank: int) -> float:
        """The ``rank``-th smallest wait (1-based, ms): exact at a bucket's ends, else its middle."""
        cum = self.cumulative
        if not 1 <= rank <= self.n:
            raise ValueError("rank past the last wait")
        i = bisect_left(cum, rank)
        before = cum[i - 1] if i else 0
        at, size = rank - before, cum[i] - before
        lo, hi = self._ends(i - 1)
        if at == 1:
            return lo
        if at == size:
            return hi
        return (lo + hi) / 2

    def median(self) -> float | None:
        n = self.n
        if not n:
            return None
        return (self.rank((n + 1) // 2) + self.rank((n + 2) // 2)) / 2 / MINUTE

    def p90(self) -> float | None:
        n = self.n
        return None if not n else self.rank((9 * n + 9) // 10) / MINUTE


def summarize_rows(rows: Iterable[Sequence[Any]], clock: str) -> list[dict[str, Any]]:
    """The ``report_days`` rows of ``per_mention`` rows (bot/store/reports.py)."""
    counts: dict[int, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    waits: dict[tuple[int, int], dict[int, Bin]] = defaultdict(dict)
    for day, source, role, rule, unanswered, tags, read_level, directional, cw, rw in rows:
        mine = counts[day]
        mine["total"][""] += 1
        mine["unanswered"][""] += unanswered
        mine["platform"][source] += 1
        mine["role"][role] += 1
        mine["rule"][rule] += 1
        for tag in {t for t in (tags or "").split(",") if t}:
            mine["tag"][tag] += 1
        if read_level is not None:
            mine["read"][str(read_level)] += 1
        if directional is not None:
            mine["kind"]["directional" if directional else "reference"] += 1
        for kind, wait in ((CLAIM, cw), (REPLY, rw)):
            if wait is not None:
                wait = int(wait)
                bins = waits[(day, kind)]
                found = bins.get(bucket(wait))
                if found is None:
                    bins[bucket(wait)] = Bin(1, wait, wait)
                else:
                    found.add(1, wait, wait)
    return [
        {
            "day": day,
            "clock": clock,
            "counts": json.dumps({dim: dict(table) for dim, table in tables.items()}, sort_keys=True),
            "claims": pack(waits.get((day, CLAIM), {})),
            "replies": pack(waits.get((day, REPLY), {})),
        }
        for day, tables in counts.items()
    ]


def _days_of(hours_utc: Iterable[datetime], zone: ZoneInfo) -> set[int]:
    """The library days an hour of arrivals (UTC, truncated) can fall on."""
    out = set()
    for hour in hours_utc:
        for moment in (hour, hour + timedelta(hours=1) - timedelta(microseconds=1)):
            out.add(day_number(moment.astimezone(zone).date()))
    return out


def _runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive days as (first, last), at most BUILD_DAYS each."""
    out: list[tuple[int, int]] = []
    for day in sorted(days):
        if out and day == out[-1][1] + 1 and day - out[-1][0] < BUILD_DAYS:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


async def refresh(
    db: Database,
    *,
    hours: Sequence[Opening],
    zone: ZoneInfo,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """Roll up again the days changed since the last roll-up, and the days from ``since`` to
    ``until`` not rolled up for these hours and zone; how many days were rolled up."""
    key = clock_key(hours, zone)
    first = day_number(since) if since else 0
    last = day_number(until) if until else -1
    async with db.transaction() as session:
        if not await _stale(session, key, first, last):
            return 0
    async with db.transaction() as session:
        await rollup.lock(session)
        await rollup.drop_other_clocks(session, key)
        changed = _days_of(await rollup.take_marks(session), zone)
        todo = set(range(first, last + 1)) - await rollup.built(session, first, last, key)
        todo |= await rollup.built_among(session, changed)  # days not rolled up wait for a report
        for lo, hi in _runs(sorted(todo)):
            start, after = local_bounds(
                FIRST_MONDAY + timedelta(days=lo), FIRST_MONDAY + timedelta(days=hi), zone
            )
            clock = clock_for(
                hours,
                zone,
                since=FIRST_MONDAY + timedelta(days=lo),
                until=FIRST_MONDAY + timedelta(days=hi),
                daily=True,
            )
            rows = summarize_rows(await reports.mention_waits(session, clock, start=start, after=after), key)
            have = {row["day"] for row in rows}  # a day without mentions is rolled up too, empty
            rows += [
                {"day": d, "clock": key, "counts": "{}", "claims": b"", "replies": b""}
                for d in range(lo, hi + 1)
                if d not in have
            ]
            await rollup.replace_days(session, [r for r in rows if lo <= r["day"] <= hi])
        return len(todo)


async def _stale(session: AsyncSession, key: str, first: int, last: int) -> bool:
    """Whether a mention changed since the last roll-up or a day from ``first`` to ``last`` is
    not rolled up for this clock key."""
    if await rollup.marked(session):
        return True
    return len(await rollup.built(session, first, last, key)) < last - first + 1


def _bar_of(day: int, bars: list[tuple[date, date]]) -> int:
    when = FIRST_MONDAY + timedelta(days=day)
    for n, (_, end) in enumerate(bars):
        if when <= end:
            return n
    return len(bars) - 1


async def build_report(
    db: Database, *, since: date, until: date, hours: Sequence[Opening], zone: ZoneInfo
) -> Report:
    """The report of the mentions received from ``since`` to ``until`` (the library's days), from
    the roll-up (rolled up first where needed)."""
    first, last = day_number(since), day_number(until)
    async with db.transaction() as session:  # usually nothing to roll up: one transaction
        stale = await _stale(session, clock_key(hours, zone), first, last)
        days = [] if stale else await rollup.days_between(session, first, last)
    if stale:
        await refresh(db, hours=hours, zone=zone, since=since, until=until)
        async with db.transaction() as session:
            days = await rollup.days_between(session, first, last)
    bars = periods(since, until)
    tables: dict[str, Counter[str]] = defaultdict(Counter)
    per_bar = [0] * len(bars)
    per = {(n, kind): Waits() for n in range(len(bars)) for kind in (CLAIM, REPLY)}
    for day, counts, claims, replies in days:
        bar = _bar_of(day, bars)
        for dim, table in json.loads(counts).items():
            if dim == "total":
                per_bar[bar] += table[""]
            else:
                tables[dim].update(table)
        per[(bar, CLAIM)].add(claims)
        per[(bar, REPLY)].add(replies)
    overall = {CLAIM: Waits(), REPLY: Waits()}
    for (_, kind), waits in per.items():
        overall[kind].absorb(waits)

    def ordered(counter: Counter[str]) -> dict[str, int]:
        return dict(sorted(((k, v) for k, v in counter.items() if v), key=lambda kv: (-kv[1], kv[0])))

    return Report(
        since=since,
        until=until,
        total=sum(per_bar),
        by_platform=ordered(tables["platform"]),
        by_role=ordered(tables["role"]),
        by_rule=ordered(tables["rule"]),
        claim_median=overall[CLAIM].median(),
        claim_p90=overall[CLAIM].p90(),
        reply_median=overall[REPLY].median(),
        reply_p90=overall[REPLY].p90(),
        unanswered=tables["unanswered"][""],
        series=[
            Period(start, end, per_bar[n], per[(n, CLAIM)].median(), per[(n, REPLY)].median())
            for n, (start, end) in enumerate(bars)
        ],
        by_tag=ordered(tables["tag"]),
        by_read=dict(sorted((k, v) for k, v in tables["read"].items() if v)),
        by_kind=ordered(tables["kind"]),
    )
