"""Rota semantics away from DST: weekly, overnight and 24-hour shifts, overrides, closures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift

ZONE = ZoneInfo("Europe/Paris")  # 2024-01-08 is a Monday, far from any DST change
WEEKDAYS = frozenset(range(5))


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An aware instant in January 2024: at(8, 9) is Monday 8 Jan 09:00 Paris time."""
    return datetime(2024, 1, day, hour, minute, second, tzinfo=ZONE)


def wall(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute)


def shift(
    person: str, days: frozenset[int], start: time, end: time, *, role: str = "ref", id: int = 1
) -> Shift:
    return Shift(id=id, role=role, person=person, days=days, start=start, end=end)


def rota(*items: Shift | Override | Closure) -> Rota:
    return Rota(
        zone=ZONE,
        shifts=[i for i in items if isinstance(i, Shift)],
        overrides=[i for i in items if isinstance(i, Override)],
        closures=[i for i in items if isinstance(i, Closure)],
    )


ALICE = shift("alice", WEEKDAYS, time(9), time(17))


def test_weekly_shift_boundaries() -> None:
    r = rota(ALICE)
    assert r.on_duty("ref", at(8, 8, 59, 59)) == ()
    assert r.on_duty("ref", at(8, 9)) == ("alice",)
    assert r.on_duty("ref", at(12, 16, 59, 59)) == ("alice",)
    assert r.on_duty("ref", at(12, 17)) == ()
    assert r.on_duty("ref", at(13, 12)) == ()  # Saturday
    assert r.on_duty("other-role", at(8, 12)) == ()


def test_instants_in_other_zones_are_converted() -> None:
    r = rota(ALICE)
    assert r.on_duty("ref", datetime(2024, 1, 8, 8, 0, tzinfo=ZoneInfo("UTC"))) == ("alice",)  # 09:00 Paris
    assert r.on_duty("ref", datetime(2024, 1, 8, 7, 59, tzinfo=ZoneInfo("UTC"))) == ()


def test_on_duty_is_sorted_and_unique() -> None:
    r = rota(
        shift("zoe", WEEKDAYS, time(9), time(17), id=1),
        shift("alice", WEEKDAYS, time(8), time(12), id=2),
        shift("alice", WEEKDAYS, time(10), time(18), id=3),
    )
    assert r.on_duty("ref", at(8, 11)) == ("alice", "zoe")
    assert r.duty("ref", at(8, 11)) == (("alice", "Mon-Fri 08:00-12:00"), ("zoe", "Mon-Fri 09:00-17:00"))


def test_overnight_shift_runs_into_the_next_day() -> None:
    r = rota(shift("eve", frozenset({4, 6}), time(22), time(6)))  # Fri and Sun nights
    assert r.on_duty("ref", at(12, 21, 59)) == ()
    assert r.on_duty("ref", at(12, 22)) == ("eve",)
    assert r.on_duty("ref", at(13, 5, 59)) == ("eve",)  # Saturday morning
    assert r.on_duty("ref", at(13, 6)) == ()
    assert r.on_duty("ref", at(13, 23)) == ()  # Saturday night is not listed
    assert r.on_duty("ref", at(15, 3)) == ("eve",)  # Sunday night wraps to Monday
    assert r.on_duty("ref", at(11, 23)) == ()  # Thursday night
    assert r.duty("ref", at(12, 23)) == (("eve", "Fri, Sun 22:00-06:00"),)


def test_start_equal_to_end_is_24_hours() -> None:
    r = rota(shift("dana", frozenset({0}), time(9), time(9)))
    assert r.on_duty("ref", at(8, 8, 59)) == ()
    assert r.on_duty("ref", at(8, 9)) == ("dana",)
    assert r.on_duty("ref", at(9, 8, 59, 59)) == ("dana",)
    assert r.on_duty("ref", at(9, 9)) == ()
    whole_day = rota(shift("dana", frozenset({5}), time(0), time(0)))  # 00:00-24:00
    assert whole_day.on_duty("ref", at(13, 0)) == ("dana",)
    assert whole_day.on_duty("ref", at(13, 23, 59, 59)) == ("dana",)
    assert whole_day.on_duty("ref", at(14, 0)) == ()
    assert whole_day.on_duty("ref", at(12, 23, 59, 59)) == ()


def test_end_at_midnight_is_the_end_of_the_day() -> None:
    r = rota(shift("eve", frozenset({0}), time(18), time(0)))  # 18:00-24:00
    assert r.on_duty("ref", at(8, 23, 59, 59)) == ("eve",)
    assert r.on_duty("ref", at(9, 0)) == ()


def test_add_override_across_midnight() -> None:
    cover = Override(10, "ref", "bob", wall(8, 22), wall(9, 2), OverrideKind.ADD)
    r = rota(ALICE, cover)
    assert r.on_duty("ref", at(8, 21, 59)) == ()
    assert r.on_duty("ref", at(8, 22)) == ("bob",)
    assert r.on_duty("ref", at(9, 1, 59)) == ("bob",)
    assert r.on_duty("ref", at(9, 2)) == ()
    assert r.duty("ref", at(8, 23)) == (("bob", "cover Mon 8 Jan 22:00-02:00"),)


def test_remove_override_takes_a_person_off() -> None:
    off = Override(10, "ref", "alice", wall(8, 12), wall(8, 13), OverrideKind.REMOVE)
    r = rota(ALICE, off)
    assert r.on_duty("ref", at(8, 11, 59)) == ("alice",)
    assert r.on_duty("ref", at(8, 12, 30)) == ()
    assert r.on_duty("ref", at(8, 13)) == ("alice",)
    assert r.on_duty("ref", at(9, 12, 30)) == ("alice",)  # only that date


def test_replace_override_swaps_only_while_the_replaced_person_is_on() -> None:
    swap = Override(10, "ref", "bob", wall(8, 16), wall(8, 18), OverrideKind.REPLACE, replaces="alice")
    r = rota(ALICE, shift("zoe", WEEKDAYS, time(9), time(20), id=2), swap)
    assert r.on_duty("ref", at(8, 15, 59)) == ("alice", "zoe")
    assert r.on_duty("ref", at(8, 16, 30)) == ("bob", "zoe")
    assert r.duty("ref", at(8, 16, 30))[0] == ("bob", "covering for alice Mon 8 Jan 16:00-18:00")
    assert r.on_duty("ref", at(8, 17, 30)) == ("zoe",)  # alice's shift is over, so bob is not on
    idle = Override(11, "ref", "bob", wall(13, 9), wall(13, 17), OverrideKind.REPLACE, replaces="alice")
    assert rota(ALICE, idle).on_duty("ref", at(13, 10)) == ()  # Saturday: nobody to replace


def test_replace_across_midnight_follows_an_overnight_shift() -> None:
    night = shift("eve", frozenset({0}), time(22), time(6))
    swap = Override(10, "ref", "bob", wall(8, 20), wall(9, 4), OverrideKind.REPLACE, replaces="eve")
    r = rota(night, swap)
    assert r.on_duty("ref", at(8, 21)) == ()
    assert r.on_duty("ref", at(9, 1)) == ("bob",)
    assert r.on_duty("ref", at(9, 5)) == ("eve",)


@pytest.mark.parametrize(
    ("first", "second", "expected"), [("add", "remove", ()), ("remove", "add", ("bob",))]
)
def test_later_overrides_win(first: str, second: str, expected: tuple[str, ...]) -> None:
    a = Override(10, "ref", "bob", wall(8, 9), wall(8, 17), OverrideKind(first))
    b = Override(11, "ref", "bob", wall(8, 12), wall(8, 13), OverrideKind(second))
    assert rota(b, a).on_duty("ref", at(8, 12, 30)) == expected  # id order, not list order


def test_closure_drops_every_shift_for_the_local_day() -> None:
    night = shift("eve", frozenset({0}), time(22), time(6), role="social", id=2)
    closed = Closure(20, date(2024, 1, 9), "Staff training")
    r = rota(ALICE, night, closed)
    assert r.on_duty("ref", at(9, 12)) == ()
    assert r.on_duty("social", at(8, 23, 59)) == ("eve",)
    assert r.on_duty("social", at(9, 0, 30)) == ()  # the overnight part falls on the closed day
    assert r.on_duty("ref", at(10, 9)) == ("alice",)
    assert r.closure_on(at(9, 23, 59)) == closed
    assert r.closure_on(at(10, 0)) is None


def test_cover_on_a_closed_day_still_applies() -> None:
    closed = Closure(20, date(2024, 1, 9), "Christmas")
    cover = Override(21, "ref", "bob", wall(9, 10), wall(9, 12), OverrideKind.ADD)
    r = rota(ALICE, closed, cover)
    assert r.on_duty("ref", at(9, 11)) == ("bob",)
    assert r.on_duty("ref", at(9, 13)) == ()


def test_next_on_duty() -> None:
    r = rota(ALICE, Closure(20, date(2024, 1, 15), "Holiday"))
    assert r.next_on_duty("ref", at(8, 10)) == at(8, 10)  # already on duty
    assert r.next_on_duty("ref", at(8, 17)) == at(9, 9)
    assert r.next_on_duty("ref", at(12, 18)) == at(16, 9)  # skips the weekend and the closed Monday
    assert r.next_on_duty("ref", at(12, 18), horizon_days=3) is None
    assert r.next_on_duty("nobody", at(8, 10)) is None
    found = r.next_on_duty("ref", at(8, 17))
    assert found is not None
    assert found.tzinfo == UTC  # same-zone aware datetimes would compare without fold


def test_next_on_duty_finds_the_end_of_time_off() -> None:
    off = Override(10, "ref", "alice", wall(8, 9), wall(8, 11, 30), OverrideKind.REMOVE)
    assert rota(ALICE, off).next_on_duty("ref", at(8, 9, 15)) == at(8, 11, 30)


def test_coverage_splits_where_the_people_change() -> None:
    cover = Override(10, "ref", "bob", wall(8, 12), wall(8, 13), OverrideKind.ADD)
    back_to_back = shift("alice", WEEKDAYS, time(17), time(18), id=2)  # merges with 09-17
    r = rota(ALICE, cover, back_to_back)
    spans = r.coverage("ref", at(8, 8), at(9, 8))
    assert [(a.astimezone(ZONE).hour, b.astimezone(ZONE).hour, p) for a, b, p in spans] == [
        (8, 9, ()),
        (9, 12, ("alice",)),
        (12, 13, ("alice", "bob")),
        (13, 18, ("alice",)),
        (18, 8, ()),
    ]
    assert spans[0][0] == at(8, 8)
    assert spans[-1][1] == at(9, 8)
    assert all(a.tzinfo == UTC for a, _, _ in spans)
    assert r.coverage("ref", at(9, 8), at(8, 8)) == []


def test_naive_instants_are_refused() -> None:
    r = rota(ALICE)
    with pytest.raises(ValueError, match="timezone-aware"):
        r.on_duty("ref", datetime(2024, 1, 8, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        r.next_on_duty("ref", datetime(2024, 1, 8, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        r.coverage("ref", datetime(2024, 1, 8, 10), at(9, 10))


def test_rota_accepts_lists_and_stays_comparable() -> None:
    one = Rota(zone=ZONE, shifts=[ALICE])
    assert one.shifts == (ALICE,)
    assert one == Rota(zone=ZONE, shifts=(ALICE,))
    assert one.on_duty("ref", at(8, 10)) == ("alice",)
