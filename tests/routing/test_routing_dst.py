"""DST: the documented wall-clock rules, in America/New_York and Europe/London, both directions.

All instants are written in UTC so that the expectations do not depend on the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rota.rota import Override, OverrideKind, Rota, Shift


@dataclass(frozen=True)
class Change:
    """One DST change: the Sunday it happens, and the UTC instant of the change."""

    zone: ZoneInfo
    sunday: date
    instant: datetime


NY_SPRING = Change(ZoneInfo("America/New_York"), date(2024, 3, 10), datetime(2024, 3, 10, 7, tzinfo=UTC))
NY_FALL = Change(ZoneInfo("America/New_York"), date(2024, 11, 3), datetime(2024, 11, 3, 6, tzinfo=UTC))
LONDON_SPRING = Change(ZoneInfo("Europe/London"), date(2024, 3, 31), datetime(2024, 3, 31, 1, tzinfo=UTC))
LONDON_FALL = Change(ZoneInfo("Europe/London"), date(2024, 10, 27), datetime(2024, 10, 27, 1, tzinfo=UTC))
SPRING = [pytest.param(NY_SPRING, id="new-york"), pytest.param(LONDON_SPRING, id="london")]
FALL = [pytest.param(NY_FALL, id="new-york"), pytest.param(LONDON_FALL, id="london")]
SUNDAY, SATURDAY = frozenset({6}), frozenset({5})


def utc(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def one_shift(change: Change, days: frozenset[int], start: time, end: time) -> Rota:
    return Rota(zone=change.zone, shifts=[Shift(1, "ref", "alice", days, start, end)])


def spans_utc(rota: Rota, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [(a.astimezone(UTC), b.astimezone(UTC)) for a, b, p in rota.coverage("ref", start, end) if p]


def test_the_changes_are_where_the_tests_think() -> None:
    for change in (NY_SPRING, NY_FALL, LONDON_SPRING, LONDON_FALL):
        before = (change.instant - timedelta(seconds=1)).astimezone(change.zone).utcoffset()
        assert before != change.instant.astimezone(change.zone).utcoffset()


@pytest.mark.parametrize(
    ("change", "start", "end", "expected"),
    [
        # NY: 02:00 EST jumps to 03:00 EDT (07:00Z); 02:30-05:00 runs 03:00 EDT-05:00 EDT
        (NY_SPRING, time(2, 30), time(5), (utc(2024, 3, 10, 7), utc(2024, 3, 10, 9))),
        # London: 01:00 GMT jumps to 02:00 BST (01:00Z); 01:30-03:00 runs 02:00 BST-03:00 BST
        (LONDON_SPRING, time(1, 30), time(3), (utc(2024, 3, 31, 1), utc(2024, 3, 31, 2))),
    ],
    ids=["new-york", "london"],
)
def test_spring_shift_starting_in_the_skipped_hour_starts_at_the_change(
    change: Change, start: time, end: time, expected: tuple[datetime, datetime]
) -> None:
    rota = one_shift(change, SUNDAY, start, end)
    assert rota.on_duty("ref", change.instant - timedelta(seconds=1)) == ()
    assert rota.on_duty("ref", change.instant) == ("alice",)
    assert rota.next_on_duty("ref", change.instant - timedelta(hours=3)) == change.instant
    assert spans_utc(rota, change.instant - timedelta(hours=6), change.instant + timedelta(hours=6)) == [
        expected
    ]


@pytest.mark.parametrize("change", SPRING)
def test_spring_shift_ending_in_the_skipped_hour_ends_at_the_change(change: Change) -> None:
    skipped = (change.instant - timedelta(minutes=1)).astimezone(change.zone).hour + 1  # 02 NY, 01 London
    rota = one_shift(change, SUNDAY, time(0), time(skipped, 30))
    assert rota.on_duty("ref", change.instant - timedelta(seconds=1)) == ("alice",)
    assert rota.on_duty("ref", change.instant) == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (NY_SPRING, (utc(2024, 3, 10, 3), utc(2024, 3, 10, 10))),  # Sat 22:00 EST -> Sun 06:00 EDT
        (LONDON_SPRING, (utc(2024, 3, 30, 22), utc(2024, 3, 31, 5))),  # Sat 22:00 GMT -> Sun 06:00 BST
        (NY_FALL, (utc(2024, 11, 3, 2), utc(2024, 11, 3, 11))),  # Sat 22:00 EDT -> Sun 06:00 EST
        (LONDON_FALL, (utc(2024, 10, 26, 21), utc(2024, 10, 27, 6))),  # Sat 22:00 BST -> Sun 06:00 GMT
    ],
    ids=["new-york-spring", "london-spring", "new-york-fall", "london-fall"],
)
def test_overnight_shift_across_a_change_lasts_its_wall_clock_span(
    change: Change, expected: tuple[datetime, datetime]
) -> None:
    rota = one_shift(change, SATURDAY, time(22), time(6))
    spans = spans_utc(rota, change.instant - timedelta(hours=12), change.instant + timedelta(hours=12))
    assert spans == [expected]
    hours = (expected[1] - expected[0]) / timedelta(hours=1)
    assert hours == (7 if change in (NY_SPRING, LONDON_SPRING) else 9)


@pytest.mark.parametrize("change", FALL)
def test_repeated_hour_is_covered_both_times(change: Change) -> None:
    rota = one_shift(change, SUNDAY, time(0), time(1, 30))
    first, second = change.instant - timedelta(minutes=45), change.instant + timedelta(minutes=15)
    assert first.astimezone(change.zone).strftime("%H:%M") == second.astimezone(change.zone).strftime("%H:%M")
    assert rota.on_duty("ref", first) == ("alice",)  # 01:15 the first time
    assert rota.on_duty("ref", second) == ("alice",)  # 01:15 again
    assert rota.on_duty("ref", change.instant - timedelta(minutes=15)) == ()  # 01:45 the first time
    assert rota.on_duty("ref", change.instant + timedelta(minutes=45)) == ()  # 01:45 the second time
    midnight = change.instant - timedelta(hours=2)  # 00:00 local, before the change
    assert spans_utc(rota, midnight - timedelta(hours=1), change.instant + timedelta(hours=3)) == [
        (midnight, change.instant - timedelta(minutes=30)),
        (change.instant, change.instant + timedelta(minutes=30)),
    ]


@pytest.mark.parametrize("change", FALL)
def test_shift_starting_in_the_repeated_hour_follows_the_wall_clock(change: Change) -> None:
    rota = one_shift(change, SUNDAY, time(1, 30), time(3))
    local_three = datetime.combine(change.sunday, time(3), tzinfo=change.zone).astimezone(UTC)
    assert spans_utc(rota, change.instant - timedelta(hours=3), change.instant + timedelta(hours=4)) == [
        (change.instant - timedelta(minutes=30), change.instant),  # 01:30-02:00 the first time
        (change.instant + timedelta(minutes=30), local_three),  # 01:30 again, until 03:00
    ]
    assert rota.on_duty("ref", change.instant + timedelta(minutes=10)) == ()  # 01:10 the second time


@pytest.mark.parametrize("change", SPRING)
def test_override_across_the_spring_change_uses_wall_clock(change: Change) -> None:
    start = datetime.combine(change.sunday, time(0))
    cover = Override(5, "ref", "bob", start, start + timedelta(hours=4), OverrideKind.ADD)  # 00:00-04:00
    rota = Rota(zone=change.zone, overrides=[cover])
    spans = spans_utc(rota, change.instant - timedelta(hours=6), change.instant + timedelta(hours=6))
    assert len(spans) == 1
    assert spans[0][1] - spans[0][0] == timedelta(hours=3)  # one wall-clock hour never happens


@pytest.mark.parametrize("change", [*SPRING, *FALL])
def test_queued_until_across_a_change(change: Change) -> None:
    rota = one_shift(change, SUNDAY, time(9), time(17))
    found = rota.next_on_duty("ref", change.instant - timedelta(hours=1))
    assert found is not None
    assert found.astimezone(change.zone).replace(tzinfo=None) == datetime.combine(change.sunday, time(9))
