"""Properties of the rota in a DST zone, checked against brute-force minute-by-minute references."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift

ZONE = ZoneInfo("America/New_York")
CHANGES = [datetime(2024, 3, 10, 7, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC)]
PEOPLE = ["alice", "bob", "chidi"]
WEEK_MINUTES = 7 * 1440

minutes_of_day = st.one_of(
    st.integers(0, 1439),
    st.sampled_from([0, 60, 90, 120, 150, 180, 1320, 1410]),  # DST-hour edges
).map(lambda m: time(m // 60, m % 60))
shifts = st.builds(
    lambda i, person, days, start, end: Shift(i, "ref", person, frozenset(days), start, end),
    st.integers(1, 10_000),
    st.sampled_from(PEOPLE),
    st.sets(st.integers(0, 6), min_size=1),
    minutes_of_day,
    minutes_of_day,
)
# instants near the two 2024 changes, or anywhere in the year, to the second
near_change = st.builds(
    lambda change, seconds: change + timedelta(seconds=seconds),
    st.sampled_from(CHANGES),
    st.integers(-36 * 3600, 36 * 3600),
)
anywhere = st.integers(0, 365 * 86400).map(lambda s: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=s))
instants = st.one_of(near_change, anywhere)


def covered_minutes(shift: Shift) -> set[int]:
    """Every minute of the week the shift covers, enumerated one minute at a time."""
    start = shift.start.hour * 60 + shift.start.minute
    end = shift.end.hour * 60 + shift.end.minute
    length = (end - start) % 1440 or 1440
    minutes = set()
    for day in shift.days:
        minute = day * 1440 + start
        for _ in range(length):
            minutes.add(minute % WEEK_MINUTES)
            minute += 1
    return minutes


def reference_on_duty(items: list[Shift], instant: datetime) -> tuple[str, ...]:
    local = instant.astimezone(ZONE)
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    return tuple(sorted({s.person for s in items if minute in covered_minutes(s)}))


@settings(max_examples=300, deadline=None)
@given(items=st.lists(shifts, min_size=1, max_size=5), instant=instants)
def test_on_duty_agrees_with_minute_by_minute_reference(items: list[Shift], instant: datetime) -> None:
    rota = Rota(zone=ZONE, shifts=items)
    assert rota.on_duty("ref", instant) == reference_on_duty(items, instant)


overrides = st.builds(
    lambda i, person, kind, start, hours, replaces: Override(
        i, "ref", person, start, start + timedelta(minutes=hours), kind, replaces
    ),
    st.integers(10_001, 20_000),
    st.sampled_from(PEOPLE),
    st.sampled_from(list(OverrideKind)),
    st.sampled_from(CHANGES).map(
        lambda c: c.astimezone(ZONE).replace(tzinfo=None, minute=0) - timedelta(hours=3)
    ),
    st.integers(30, 600),
    st.sampled_from(PEOPLE),
)


@settings(max_examples=40, deadline=None)
@given(
    items=st.lists(shifts, max_size=4),
    extra=st.lists(overrides, max_size=3),
    closed=st.booleans(),
    start=near_change,
)
def test_coverage_matches_on_duty_every_minute(
    items: list[Shift], extra: list[Override], closed: bool, start: datetime
) -> None:
    closures = [Closure(30_000, start.astimezone(ZONE).date() + timedelta(days=1))] if closed else []
    rota = Rota(zone=ZONE, shifts=items, overrides=extra, closures=closures)
    end = start + timedelta(hours=40)
    spans = rota.coverage("ref", start, end)
    assert spans[0][0] == start
    assert spans[-1][1] == end
    for (_, b, p), (c, _, q) in pairwise(spans):
        assert b == c  # contiguous
        assert p != q  # merged
    probe = start
    for a, b, people in spans:
        assert rota.on_duty("ref", a) == people
        while probe < b:
            assert rota.on_duty("ref", probe) == people, (probe, a, b)
            probe += timedelta(minutes=1)
        assert rota.on_duty("ref", b - timedelta(microseconds=1)) == people


@settings(max_examples=40, deadline=None)
@given(items=st.lists(shifts, max_size=3), extra=st.lists(overrides, max_size=2), after=near_change)
def test_next_on_duty_agrees_with_a_minute_scan(
    items: list[Shift], extra: list[Override], after: datetime
) -> None:
    rota = Rota(zone=ZONE, shifts=items, overrides=extra)
    found = rota.next_on_duty("ref", after, horizon_days=2)
    expected = None
    if rota.on_duty("ref", after):
        expected = after
    else:
        probe = after.replace(second=0) + timedelta(minutes=1)
        while probe < after + timedelta(days=2):
            if rota.on_duty("ref", probe):
                expected = probe
                break
            probe += timedelta(minutes=1)
    assert found == expected


def test_reference_helper_is_sound() -> None:
    # a guard on the reference itself: Mon 22:00-02:00 covers Mon 23:00 and Tue 01:59, not Tue 02:00
    night = Shift(1, "ref", "eve", frozenset({0}), time(22), time(2))
    minutes = covered_minutes(night)
    assert {22 * 60, 1440 + 119} <= minutes
    assert 1440 + 120 not in minutes
    assert len(minutes) == 240
    assert date(2024, 1, 1).weekday() == 0
