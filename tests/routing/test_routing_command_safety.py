"""Any command line is a command that is safe to carry out, or a clear refusal; never an exception.

`parse` alone never raising was not enough: `/rota show 9999-12-31` parsed, then overflowed while
the week was drawn (issue 10, finding 9). Here every parsed command is also used the way the desk
uses it: drawn, stored as a rota entry, asked who is on duty, and described when removed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.commands import (
    Add,
    Close,
    Command,
    Cover,
    Off,
    Remove,
    Show,
    UsageError,
    describe_entry,
    format_command,
    parse,
    render_week,
)
from bot.models import MAX_ID
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift

ZONE = ZoneInfo("Pacific/Kiritimati")  # UTC+14: the furthest a wall-clock date is from UTC
NAMES = {"alice": "Alice Archer"}
FAR = [
    "9999-12-31", "9999-12-27", "9999-W52", "9999-W53", "0001-01-01", "0001-W01", "2126-01-01",
    "1925-12-31", "2024-02-29", "2023-02-29", "99999", "#2147483647", "#2147483648", "0",
    "99999999999999999999", "22:00-06:00", "00:00-24:00", "@" + "a" * 200, "<@U1>", "@x:y.z",
]  # fmt: skip
VOCAB = [
    "show", "add", "remove", "cover", "off", "close", "now", "help", "roles", "gaps", "next", "this",
    "today", "tomorrow", "sat", "mon-fri", "daily", "for", "@alice", "@bob", "reference", "09:00-17:00",
    *FAR,
]  # fmt: skip
lines = st.lists(st.sampled_from(VOCAB) | st.text(max_size=8), max_size=8).map(" ".join)
todays = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


def use(command: Command, today: date) -> None:
    """What the desk does with a parsed command, without the database."""
    assert parse(format_command(command), today=today) == command
    rota = Rota(zone=ZONE)
    entry: Shift | Override | Closure | None = None
    week = today - timedelta(days=today.weekday())
    if isinstance(command, Show):
        week = command.week
    elif isinstance(command, Add):
        entry = Shift(1, command.role, "alice", command.days, command.start, command.end)
        rota = Rota(zone=ZONE, shifts=(entry,))
    elif isinstance(command, Cover | Off):
        begin, end = command.window()
        kind = OverrideKind.REMOVE if isinstance(command, Off) else OverrideKind.ADD
        entry = Override(1, command.role, "alice", begin, end, kind)
        rota = Rota(zone=ZONE, overrides=(entry,))
        week = command.day - timedelta(days=command.day.weekday())
    elif isinstance(command, Close):
        entry = Closure(1, command.day, command.reason)
        rota = Rota(zone=ZONE, closures=(entry,))
        week = command.day - timedelta(days=command.day.weekday())
    elif isinstance(command, Remove):
        assert 0 < command.id <= MAX_ID
    assert render_week(rota, None, week, NAMES)
    if entry is not None:
        assert describe_entry(entry, NAMES)
        moment = datetime.combine(week, time(12), tzinfo=ZONE)
        rota.on_duty(getattr(entry, "role", "reference"), moment)
        rota.coverage("reference", moment.astimezone(UTC), moment.astimezone(UTC) + timedelta(days=8))


@settings(max_examples=1500, deadline=None)
@given(lines, todays)
def test_any_line_is_a_usable_command_or_a_refusal(line: str, today: date) -> None:
    parsed = parse(line, today=today)
    if isinstance(parsed, UsageError):
        assert parsed.problem and "Usage:" in parsed.message
    else:
        use(parsed, today)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), todays)
def test_any_text_at_all(line: str, today: date) -> None:
    parsed = parse(line, today=today)
    if not isinstance(parsed, UsageError):
        use(parsed, today)


def test_the_far_cases_are_refused_in_words() -> None:
    today = date(2026, 12, 6)
    for line in (
        "show 9999-12-31",
        "show 9999-W52",
        "cover @a reference 9999-12-31 22:00-06:00",
        "close 0001-01-01",
        "remove 2147483648",
    ):
        refused = parse(line, today=today)
        assert isinstance(refused, UsageError), line
        assert "too far from today" in refused.problem or "not an entry id" in refused.problem
