"""Properties of the rota grammar: parse never raises, and format_command round-trips."""

from __future__ import annotations

from datetime import date, time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.commands import (
    VERBS,
    Add,
    Close,
    Command,
    Cover,
    Feed,
    Gaps,
    Help,
    Now,
    Off,
    Remove,
    Roles,
    Show,
    Take,
    UsageError,
    format_command,
    parse,
)
from bot.models import MAX_ID

TODAY = date(2024, 12, 24)
VOCAB = [
    *VERBS,
    "@alice", "<@U1|x>", "@a:b.c", "reference", "for", "today", "tomorrow", "fri", "mon-fri",
    "daily", "09:00-17:00", "22:00-24:00", "25:00-26:00", "2024-02-30", "2024-W99", "9999-12-31",
    "0001-01-01", "#", "#0", "-", ",", "this", "next", ":", "24:00", "\x00", "٣", "²",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_parse_never_raises_on_any_text(text: str) -> None:
    assert isinstance(parse(text, today=TODAY), Command | UsageError)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCAB) | st.text(max_size=6), max_size=8), st.dates())
def test_parse_never_raises_on_grammar_like_text(words: list[str], today: date) -> None:
    assert isinstance(parse(" ".join(words), today=today), Command | UsageError)


keys = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True)
people = st.one_of(
    keys.map(lambda k: f"@{k}"),
    st.from_regex(r"[UW][A-Z0-9]{2,10}", fullmatch=True).map(lambda u: f"<@{u}>"),
    st.tuples(keys, st.from_regex(r"[a-z0-9]+\.[a-z]{2,5}", fullmatch=True)).map(lambda p: f"@{p[0]}:{p[1]}"),
)
roles = st.from_regex(r"[a-z][a-z0-9_-]{0,14}", fullmatch=True).filter(lambda r: r not in ("this", "next"))
times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
mondays = days.map(lambda d: date.fromordinal(d.toordinal() - d.weekday()))
reasons = st.lists(st.from_regex(r"[^\s<>]{1,10}", fullmatch=True), max_size=5).map(" ".join)


@st.composite
def covers(draw: st.DrawFn) -> Cover:
    who = draw(people)
    for_who = draw(st.none() | people.filter(lambda p: p != who))
    return Cover(who, draw(roles), draw(days), draw(times), draw(times), for_who)


commands = st.one_of(
    st.just(Now()),
    st.just(Roles()),
    st.just(Gaps()),
    st.builds(Feed, st.none() | roles),
    st.builds(Help, st.none() | st.sampled_from(sorted(VERBS))),
    st.builds(Show, st.none() | roles, mondays),
    st.builds(Add, people, roles, st.frozensets(st.integers(0, 6), min_size=1), times, times),
    st.builds(Remove, st.integers(1, MAX_ID)),
    covers(),
    st.builds(Off, people, roles, days, times, times),
    st.builds(Close, days, reasons),
    st.builds(Take, st.just("") | roles | st.integers(1, MAX_ID).map(str)),
)


@settings(max_examples=400, deadline=None)
@given(commands)
def test_format_then_parse_gives_the_command_back(command: Command) -> None:
    assert parse(format_command(command), today=TODAY) == command
