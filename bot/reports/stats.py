"""Report figures from plain facts about mentions (pure: no I/O, no clock).

Times to first claim and first reply count only minutes when the library is open (OPENING_HOURS),
so a post that arrives on Saturday night is not "slow" for waiting until Monday.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

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


@dataclass(frozen=True, slots=True)
class Week:
    """One week's volume and median minutes to first claim (None when nothing was claimed)."""

    start: date
    mentions: int
    median_claim: float | None
    median_reply: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """The figures of one report."""

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
    weeks: list[Week] = field(default_factory=list)


def open_minutes(start: datetime, end: datetime, hours: Sequence[Opening], zone: ZoneInfo) -> float:
    """Minutes between aware ``start`` and ``end`` that fall within opening hours."""
    if end <= start:
        return 0.0
    first = start.astimezone(zone).date() - timedelta(days=1)
    days = (end.astimezone(zone).date() - first).days + 1
    total = 0.0
    for begin, finish in open_windows(tuple(hours), first, days):
        lo = max(begin.replace(tzinfo=zone), start)
        hi = min(finish.replace(tzinfo=zone), end)
        if hi > lo:
            total += (hi - lo).total_seconds() / 60
    return total


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
            out.append(open_minutes(fact.received_at, done, hours, zone))
    return out


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def summarize(
    facts: Sequence[Facts], *, since: date, until: date, hours: Sequence[Opening], zone: ZoneInfo
) -> Report:
    """Volumes per platform, role and rule; claim and reply times; unanswered; weekly series."""
    claims = _waits(facts, "first_claimed_at", hours, zone)
    replies = _waits(facts, "first_replied_at", hours, zone)
    by_week: dict[date, list[Facts]] = {}
    for fact in facts:
        by_week.setdefault(_monday(fact.received_at.astimezone(zone).date()), []).append(fact)
    weeks = []
    monday = _monday(since)
    while monday <= until:
        chunk = by_week.get(monday, [])
        weeks.append(
            Week(
                monday,
                len(chunk),
                _median(_waits(chunk, "first_claimed_at", hours, zone)),
                _median(_waits(chunk, "first_replied_at", hours, zone)),
            )
        )
        monday += timedelta(days=7)
    return Report(
        since=since,
        until=until,
        total=len(facts),
        by_platform=dict(Counter(f.source for f in facts).most_common()),
        by_role=dict(Counter(f.role for f in facts).most_common()),
        by_rule=dict(Counter(f.rule for f in facts).most_common()),
        claim_median=_median(claims),
        claim_p90=percentile(claims, 0.9),
        reply_median=_median(replies),
        reply_p90=percentile(replies, 0.9),
        unanswered=sum(1 for f in facts if f.first_replied_at is None and f.status not in ANSWERED),
        weeks=weeks,
    )


def _minutes(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


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
        ]
    )
