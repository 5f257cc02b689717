"""`patron-desk rota import/export`: the CSV round trip and one error line per bad row."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.rota.rota import Shift, format_rota_csv, parse_rota_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def bad_rows(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_rota_csv(text)
    return str(info.value).splitlines()


def test_parse_days_times_and_specials() -> None:
    text = (
        "\ufeffperson,role,days,start,end\n"
        "# a comment line\n"
        "\n"
        "alice,reference,mon-fri,09:00,17:00\n"
        "@Bob, Circulation , mon,wed,fri ,8:30,12:00\n"
        "eve,social-media,daily,22:00,06:00\n"
        "dana,social-media,sat,00:00,24:00\n"
        "chidi,tech,fri-mon,18:00,24:00\n"
    )
    assert parse_rota_csv(text.replace(" mon,wed,fri ", '"mon,wed,fri"')) == [
        Shift(0, "reference", "alice", frozenset(range(5)), time(9), time(17)),
        Shift(0, "circulation", "bob", frozenset({0, 2, 4}), time(8, 30), time(12)),
        Shift(0, "social-media", "eve", frozenset(range(7)), time(22), time(6)),
        Shift(0, "social-media", "dana", frozenset({5}), time(0), time(0)),
        Shift(0, "tech", "chidi", frozenset({4, 5, 6, 0}), time(18), time(0)),
    ]


def test_columns_may_come_in_any_order() -> None:
    shifts = parse_rota_csv("role,start,end,days,person\nreference,09:00,17:00,weekdays,alice\n")
    assert shifts == [Shift(0, "reference", "alice", frozenset(range(5)), time(9), time(17))]


def test_example_rota_round_trips() -> None:
    shifts = parse_rota_csv((EXAMPLES / "rota.csv").read_text(encoding="utf-8"))
    assert len(shifts) >= 8
    assert parse_rota_csv(format_rota_csv(shifts)) == shifts
    assert format_rota_csv(shifts).splitlines()[0] == "person,role,days,start,end"


def test_format_writes_canonical_text() -> None:
    shifts = [
        Shift(7, "reference", "alice", frozenset(range(5)), time(9), time(17)),
        Shift(8, "tech", "chidi", frozenset({0, 2, 4, 5, 6}), time(18), time(0)),
        Shift(9, "social-media", "dana", frozenset(range(7)), time(0), time(0)),
    ]
    assert format_rota_csv(shifts) == (
        "person,role,days,start,end\n"
        "alice,reference,mon-fri,09:00,17:00\n"
        'chidi,tech,"mon,wed,fri-sun",18:00,24:00\n'
        "dana,social-media,daily,00:00,24:00\n"
    )


def test_each_bad_row_is_one_line_with_its_row_number() -> None:
    text = (
        "person,role,days,start,end\n"
        "alice,reference,mon-fri,09:00,17:00\n"
        "bob,circulation,mnday-fri,25:00,17:00\n"
        "\n"
        "chidi,tech,mon\n"
        "Dana Smith,Social Media,someday,9am,24:30\n"
        "eve,social-media,daily,22:00,06:00\n"
    )
    assert bad_rows(text) == [
        'row 3: unknown weekday "mnday" (did you mean "monday"?); '
        '"25:00" is not a time: hours go from 00 to 23 (24:00 only as an end)',
        "row 5: expected 5 fields, got 3",
        'row 6: person "Dana Smith" is not a staff key (like alice); role "Social Media" is not a role key '
        '(like reference); unknown weekday "someday" (did you mean "sunday"?); '
        '"9am" is not a time (use HH:MM, like 09:30); '
        '"24:30" is not a time: hours go from 00 to 23 (24:00 only as an end)',
    ]


def test_bad_header_and_empty_file() -> None:
    assert bad_rows("who,role,days,start,end\nalice,reference,mon,09:00,10:00\n") == [
        "row 1: the header must be person,role,days,start,end"
    ]
    assert bad_rows("# only a comment\n") == ["no header row (person,role,days,start,end)"]
    assert bad_rows('person,role,days,start,end\n"alice\0,x,mon,09:00,10:00\n')[0].startswith("row ")


def test_24_00_is_only_an_end() -> None:
    assert bad_rows("person,role,days,start,end\nalice,ref,mon,24:00,10:00\n") == [
        'row 2: "24:00" is not a time: hours go from 00 to 23 (24:00 only as an end)'
    ]


keys = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
csv_shifts = st.builds(
    lambda person, role, days, start, end: Shift(0, role, person, frozenset(days), start, end),
    keys,
    keys,
    st.sets(st.integers(0, 6), min_size=1),
    times,
    times,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(csv_shifts, max_size=6))
def test_any_shift_list_round_trips(shifts: list[Shift]) -> None:
    assert parse_rota_csv(format_rota_csv(shifts)) == shifts
