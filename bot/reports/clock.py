"""Opening hours as plain numbers a SQL statement can compute waits with (pure: no I/O, no clock).

A wait in opening hours is ``C(done) - C(received)``, where ``C(t)`` counts the open milliseconds
before ``t``. Opening hours repeat every week in local time, so with ``p`` the local milliseconds
since a Monday midnight, ``C = (p div WEEK) * open_per_week + sum(clamp(p mod WEEK - start, 0, length))``
over the week's windows: arithmetic a database does per row without a join or a lookup. Local time
is UTC plus the zone's offset, which changes only at the few DST transitions listed in ``offsets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.rota.opening import Opening

MINUTE = 60_000
DAY = 1440 * MINUTE
WEEK = 7 * DAY
MONDAY = 4 * DAY  # 1970-01-05, a Monday: positions count from here (local milliseconds)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970 UTC of an aware datetime (rounded, as the SQL rounds)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds + 500) // 1000


def _minute(moment: time) -> int:
    return 1440 if moment == time.max else moment.hour * 60 + moment.minute


@dataclass(frozen=True, slots=True)
class WeekWindows:
    """The week's open windows as (start, length) in ms from Monday 00:00, merged and sorted."""

    windows: tuple[tuple[int, int], ...]

    @property
    def per_week(self) -> int:
        return sum(length for _, length in self.windows)

    @property
    def always_open(self) -> bool:
        return self.per_week == WEEK


def week_windows(hours: tuple[Opening, ...] | list[Opening]) -> WeekWindows:
    """Merge the openings of every weekday into disjoint windows (overlapping specs count once)."""
    spans = sorted(
        (day * 1440 + _minute(o.start), day * 1440 + _minute(o.end)) for o in hours for day in o.days
    )
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return WeekWindows(tuple((s * MINUTE, (e - s) * MINUTE) for s, e in merged if e > s))


def offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """(from UTC ms, offset ms) of the zone from ``start`` to ``end``: the first entry holds from
    the beginning of time, each later one from a DST transition on."""

    def offset(at: datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds()) * 1000  # type: ignore[union-attr]

    out = [(0, offset(start))]
    day = start
    while day < end:
        nxt = min(day + timedelta(days=1), end)
        if offset(nxt) != offset(day):
            lo, hi = day, nxt  # the transition is in (lo, hi]: narrow it to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
            out.append((epoch_ms(hi.replace(microsecond=0)), offset(hi)))
        day = nxt
    return out
