"""LibCal hours JSON (today widget, grid widget, API 1.1) in every status becomes dated opening hours."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rota.hours import Hours, parse_opening_hours
from bot.rota.libcal import HoursError, clock, parse_libcal

# Shaped after the recorded widget payloads (see shared/reference-payloads/libcal_*), values ours.
TODAY_OPEN = {
    "locations": [
        {
            "lid": 4101,
            "name": "Main Library",
            "category": "library",
            "desc": "<p>Ground floor</p>",
            "day": "Thursday",
            "times": {
                "status": "open",
                "hours": [{"from": "9:00am", "to": "5:00pm"}],
                "currently_open": False,
            },
            "rendered": "9:00am - 5:00pm",
        }
    ]
}
TODAY_CLOSED = {
    "locations": [
        {
            "lid": 4102,
            "name": "Annex",
            "day": "Thursday",
            "times": {"status": "closed", "currently_open": False},
            "rendered": "Closed",
        }
    ]
}


def _grid_day(day: str, times: dict[str, object]) -> dict[str, object]:
    return {"date": day, "times": times, "rendered": "x"}


GRID = {
    "locations": [
        {
            "lid": 200,
            "name": "Central",
            "weeks": [
                {
                    "Sunday": _grid_day(
                        "2026-03-01", {"status": "open", "hours": [{"from": "12pm", "to": "10pm"}]}
                    ),
                    "Monday": _grid_day(
                        "2026-03-02", {"status": "open", "hours": [{"from": "7:45am", "to": "12am"}]}
                    ),
                    "Tuesday": _grid_day("2026-03-03", {"status": "24hours", "hours": []}),
                    "Wednesday": _grid_day("2026-03-04", {"status": "closed"}),
                    "Thursday": _grid_day("2026-03-05", {"status": "text", "text": "By  appointment\nonly"}),
                    "Friday": _grid_day("2026-03-06", {"status": "not-set"}),
                    "Saturday": _grid_day(
                        "2026-03-07",
                        {
                            "status": "open",
                            "hours": [{"from": "3am", "to": "2am"}, {"from": "8pm", "to": ""}],
                        },
                    ),
                }
            ],
        },
        {
            "lid": 201,
            "name": "Music Library",
            "parent_lid": 200,
            "weeks": [
                {
                    "Monday": _grid_day(
                        "2026-03-02", {"status": "open", "hours": [{"from": "10am", "to": "4pm"}]}
                    )
                }
            ],
        },
    ]
}
API_11 = [
    {
        "lid": 300,
        "name": "Branch",
        "dates": {
            "2026-03-02": {
                "status": "open",
                "hours": [{"from": "9am", "to": "1pm"}, {"from": "2pm", "to": "6pm"}],
            },
            "2026-03-03": {"status": "closed"},
        },
    }
]


def at(day: str, hhmm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm))


def test_today_widget_open_and_closed() -> None:
    thursday = date(2026, 3, 5)
    hours = parse_libcal(json.dumps(TODAY_OPEN), today=thursday)
    assert hours.dated == {thursday: ((at("2026-03-05", "09:00"), at("2026-03-05", "17:00")),)}
    closed = parse_libcal(json.dumps(TODAY_CLOSED), today=thursday)
    assert closed.dated == {thursday: ()}


def test_today_widget_for_another_weekday_is_not_taken_for_today() -> None:
    with pytest.raises(HoursError):
        parse_libcal(json.dumps(TODAY_OPEN), today=date(2026, 3, 6))  # a Friday


def test_grid_every_status() -> None:
    hours = parse_libcal(json.dumps(GRID), today=date(2026, 3, 1))
    d = hours.dated
    assert d[date(2026, 3, 1)] == ((at("2026-03-01", "12:00"), at("2026-03-01", "22:00")),)
    assert d[date(2026, 3, 2)] == ((at("2026-03-02", "07:45"), at("2026-03-03", "00:00")),)  # 12am = midnight
    assert d[date(2026, 3, 3)] == ((at("2026-03-03", "00:00"), at("2026-03-04", "00:00")),)  # 24hours
    assert d[date(2026, 3, 4)] == ()  # closed
    assert date(2026, 3, 5) not in d and hours.notes[date(2026, 3, 5)] == "By appointment only"  # text
    assert date(2026, 3, 6) not in d  # not-set: the weekly hours apply
    assert d[date(2026, 3, 7)] == (
        (at("2026-03-07", "03:00"), at("2026-03-08", "02:00")),  # ends past midnight
        (at("2026-03-07", "20:00"), at("2026-03-08", "00:00")),  # empty "to": midnight
    )
    assert hours.skipped == 0


def test_location_by_lid_or_name() -> None:
    by_lid = parse_libcal(json.dumps(GRID), today=date(2026, 3, 1), location="201")
    by_name = parse_libcal(json.dumps(GRID), today=date(2026, 3, 1), location="music library")
    assert by_lid == by_name
    assert by_lid.dated == {date(2026, 3, 2): ((at("2026-03-02", "10:00"), at("2026-03-02", "16:00")),)}
    with pytest.raises(HoursError, match="no such location"):
        parse_libcal(json.dumps(GRID), today=date(2026, 3, 1), location="999")


def test_api_v1_1_dates_shape_with_split_hours() -> None:
    hours = parse_libcal(json.dumps(API_11), today=date(2026, 3, 2))
    assert hours.dated[date(2026, 3, 2)] == (
        (at("2026-03-02", "09:00"), at("2026-03-02", "13:00")),
        (at("2026-03-02", "14:00"), at("2026-03-02", "18:00")),
    )
    assert hours.dated[date(2026, 3, 3)] == ()


def test_dated_days_replace_the_weekly_hours_and_the_rest_fall_back() -> None:
    weekly = parse_opening_hours("mon-sun 09:00-17:00")
    found = parse_libcal(json.dumps(GRID), today=date(2026, 3, 1))
    book = Hours(weekly, found.dated, found.notes)
    assert book.on(date(2026, 3, 4)) == []  # LibCal: closed
    assert book.on(date(2026, 3, 6)) == [(at("2026-03-06", "09:00"), at("2026-03-06", "17:00"))]  # not-set
    assert book.on(date(2026, 3, 9)) == [(at("2026-03-09", "09:00"), at("2026-03-09", "17:00"))]  # not listed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:45am", time(7, 45)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("12:30pm", time(12, 30)),
        ("10 PM", time(22)),
        ("1a.m.", time(1)),
        ("13pm", None),
        ("0am", None),
        ("7:60am", None),
        ("7:45", None),
        ("", None),
        ("noon", None),
        ("9" * 40 + "am", None),
    ],
)
def test_clock(text: str, expected: time | None) -> None:
    assert clock(text) == expected


@pytest.mark.parametrize(
    "payload",
    [b"", b"not json", b"[", b"{}", b'{"locations": 3}', b"[1, 2]", b'{"locations": []}', b"[" * 5000],
)
def test_not_libcal_is_refused_with_a_plain_error(payload: bytes) -> None:
    with pytest.raises(HoursError):
        parse_libcal(payload, today=date(2026, 3, 1))


def test_too_big_is_refused() -> None:
    with pytest.raises(HoursError, match="larger"):
        parse_libcal(b" " * 3_000_000, today=date(2026, 3, 1))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
TIMES = st.fixed_dictionaries(
    {"status": st.sampled_from(["open", "closed", "24hours", "text", "not-set", "", "OPEN"]) | JSONISH},
    optional={
        "hours": st.lists(
            st.fixed_dictionaries({"from": JSONISH | st.sampled_from(["9am", "12am"]), "to": JSONISH}),
            max_size=3,
        )
        | JSONISH,
        "text": JSONISH,
    },
)
DATES = st.sampled_from(["2026-03-01", "2026-02-30", "0000-01-01", "", "9999-12-31"]) | JSONISH


@settings(max_examples=300, deadline=None)
@given(days=st.lists(st.tuples(DATES, TIMES), max_size=6), shape=st.sampled_from(["grid", "api"]))
def test_malformed_values_never_crash_and_only_readable_days_count(
    days: list[tuple[object, dict[str, object]]], shape: str
) -> None:
    if shape == "grid":
        week = {f"Day{i}": {"date": d, "times": t} for i, (d, t) in enumerate(days)}
        body: object = {"locations": [{"lid": 1, "weeks": [week]}]}
    else:
        body = [{"lid": 1, "dates": {str(d): t for d, t in days}}]
    try:
        found = parse_libcal(json.dumps(body), today=date(2026, 3, 1))
    except HoursError:
        return
    for day, windows in found.dated.items():
        for start, end in windows:
            assert start.date() == day and start < end
            assert (end - start).total_seconds() <= 24 * 3600
    for note in found.notes.values():
        assert len(note) <= 200
