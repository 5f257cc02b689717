"""Report figures from plain facts about mentions (pure: no I/O, no clock).

Times to first claim and first reply count only minutes when the library is open (OPENING_HOURS),
so a post that arrives on Saturday night is not "slow" for waiting until Monday; one handled while
the library was closed counts its real minutes. Days are the library's (its time zone).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.reports.clock import week_windows
from bot.rota.opening import Opening, open_windows

ANSWERED = frozenset({"replied", "resolved", "ignored"})


@dataclass(frozen=True, slots=True)
class Facts:
    """What a report needs of one mention (no patron text)."""

    source: str
    role: str
    rule: str
    status: str
    received_at: datetime
    first_claimed_at: datetime | None = None
    first_replied_at: datetime | None = None
    tags: str = ""  # comma-separated
    read_level: int | None = None
    directional: bool | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """One bar of the series: a day or a week (the first one starts at ``since``, not before it)."""

    start: date
    end: date  # the last day, inclusive
    mentions: int
    median_claim: float | None
    median_reply: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """The figures of one report (waits in minutes)."""

    since: date
    until: date
    total: int
    by_platform: dict[str, int]
    by_role: dict[str, int]
    by_rule: dict[str, int]
    claim_median: float | None
    claim_p90: float | None
    reply_median: float | None
    reply_p90: float | None
    unanswered: int
    series: list[Period] = field(default_factory=list)
    by_tag: dict[str, int] = field(default_factory=dict)  # a mention counts once under each of its tags
    by_read: dict[str, int] = field(default_factory=dict)  # READ Scale level ("1".."6") given at Resolve
    by_kind: dict[str, int] = field(default_factory=dict)  # "reference" / "directional", when said

    @property
    def daily(self) -> bool:
        return bool(self.series) and self.series[0].start == self.series[0].end


DAILY_UP_TO = 31  # a report of at most this many days is charted per day, a longer one per week


def periods(since: date, until: date) -> list[tuple[date, date]]:
    """The bars from ``since`` to ``until``: days for a short report, else Monday-to-Sunday weeks
    clipped to the report's first and last day."""
    if (until - since).days < DAILY_UP_TO:
        return [
            (since + timedelta(days=n), since + timedelta(days=n)) for n in range((until - since).days + 1)
        ]
    out = []
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=6 - start.weekday()))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


def local_bounds(since: date, until: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The report's first instant and the instant after its last day, in the library's zone."""
    first = datetime.combine(since, time(0), tzinfo=zone)
    after = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
    return first.astimezone(UTC), after.astimezone(UTC)


def open_minutes(start: datetime, end: datetime, hours: Sequence[Opening], zone: ZoneInfo) -> float:
    """Minutes between aware ``start`` and ``end`` that fall within opening hours (real minutes:
    the windows are placed in the zone, then compared in UTC)."""
    if end <= start:
        return 0.0
    first = start.astimezone(zone).date() - timedelta(days=1)
    days = (end.astimezone(zone).date() - first).days + 2
    spans = []
    for begin, finish in open_windows(tuple(hours), first, days):
        spans.append(
            (begin.replace(tzinfo=zone).astimezone(UTC), finish.replace(tzinfo=zone).astimezone(UTC))
        )
    total = 0.0
    reach = start
    for lo, hi in sorted(spans):  # overlapping opening specs count once
        lo, hi = max(lo, reach), min(hi, end)
        if hi > lo:
            total += (hi - lo).total_seconds() / 60
            reach = hi
    return total


def wait_minutes(start: datetime, end: datetime, hours: Sequence[Opening], zone: ZoneInfo) -> float:
    """The wait from ``start`` to ``end`` in opening hours: counted from the next opening when
    ``start`` falls while the library is closed. A mention handled before the library opened
    again (no open minute in between) counts its real minutes, not 0: it was not instant."""
    if end <= start:
        return 0.0
    if week_windows(tuple(hours)).always_open:
        return (end - start).total_seconds() / 60
    return open_minutes(start, end, hours, zone) or (end - start).total_seconds() / 60


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (the value a hand count gives); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _waits(facts: Iterable[Facts], attr: str, hours: Sequence[Opening], zone: ZoneInfo) -> list[float]:
    out = []
    for fact in facts:
        done = getattr(fact, attr)
        if done is not None:
            out.append(wait_minutes(fact.received_at, done, hours, zone))
    return out


def _counts(values: Iterable[str]) -> dict[str, int]:
    """Most first; ties in name order (the same order the SQL gives)."""
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def summarize(
    facts: Sequence[Facts], *, since: date, until: date, hours: Sequence[Opening], zone: ZoneInfo
) -> Report:
    """The report computed in Python from one ``Facts`` per mention: the reference the SQL path
    (bot/reports/compute.py) is tested against. Facts outside the report's days are left out."""
    first, after = local_bounds(since, until, zone)
    facts = [f for f in facts if first <= f.received_at < after]
    bars = periods(since, until)
    series = []
    for start, end in bars:
        chunk = [f for f in facts if start <= f.received_at.astimezone(zone).date() <= end]
        series.append(
            Period(
                start,
                end,
                len(chunk),
                _median(_waits(chunk, "first_claimed_at", hours, zone)),
                _median(_waits(chunk, "first_replied_at", hours, zone)),
            )
        )
    claims = _waits(facts, "first_claimed_at", hours, zone)
    replies = _waits(facts, "first_replied_at", hours, zone)
    report = Report(
        since=since,
        until=until,
        total=len(facts),
        by_platform=_counts(f.source for f in facts),
        by_role=_counts(f.role for f in facts),
        by_rule=_counts(f.rule for f in facts),
        claim_median=_median(claims),
        claim_p90=percentile(claims, 0.9),
        reply_median=_median(replies),
        reply_p90=percentile(replies, 0.9),
        unanswered=sum(1 for f in facts if f.first_replied_at is None and f.status not in ANSWERED),
        series=series,
    )
    return with_reference(report, ((f.tags, f.read_level, f.directional, 1) for f in facts))


def with_reference(report: Report, rows: Iterable[tuple[str, int | None, bool | None, int]]) -> Report:
    """``report`` with ``by_tag``, ``by_read`` and ``by_kind`` from (tags, READ level, directional,
    count) rows."""
    tags: Counter[str] = Counter()
    read: Counter[str] = Counter()
    kind: Counter[str] = Counter()
    for stored, level, directional, count in rows:
        for tag in {t for t in (stored or "").split(",") if t}:
            tags[tag] += count
        if level is not None:
            read[str(level)] += count
        if directional is not None:
            kind["directional" if directional else "reference"] += count

    def ordered(counter: Counter[str]) -> dict[str, int]:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    by_read = dict(sorted(read.items()))  # by level, 1 to 6
    return replace(report, by_tag=ordered(tags), by_read=by_read, by_kind=ordered(kind))


def _minutes(value: float | None) -> str:
    """Minutes with one decimal, as in the CSV; hours beside them past two hours."""
    if value is None:
        return "n/a"
    return f"{value:.1f} min" if value < 120 else f"{value:.1f} min ({value / 60:.1f} h)"


def _times(what: str, median: float | None, p90: float | None) -> str:
    return f"{what} (opening hours): median {_minutes(median)}, 90% within {_minutes(p90)}"


def format_report(report: Report) -> str:
    """The report as plain text for a terminal or a chat message."""

    def counts(title: str, table: dict[str, int]) -> str:
        return f"{title}: " + (", ".join(f"{k} {v}" for k, v in table.items()) or "none")

    return "\n".join(
        [
            f"Patron Desk report {report.since} to {report.until}: {report.total} mentions",
            counts("by platform", report.by_platform),
            counts("by role", report.by_role),
            counts("by rule", report.by_rule),
            _times("first claim", report.claim_median, report.claim_p90),
            _times("first reply", report.reply_median, report.reply_p90),
            f"unanswered: {report.unanswered}",
            counts("by tag", report.by_tag),
            counts("by READ level", report.by_read),
            counts("reference/directional", report.by_kind),
        ]
    )
