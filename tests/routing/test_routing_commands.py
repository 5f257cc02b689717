"""The rota command grammar: every verb, and error messages that name the exact problem."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.commands.commands import (
    MUTATING_VERBS,
    Add,
    Close,
    Command,
    Cover,
    Help,
    Now,
    Off,
    Remove,
    Roles,
    Show,
    UsageError,
    check_branch,
    check_roles,
    format_command,
    help_text,
    parse,
    verb_of,
)

TODAY = date(2024, 12, 24)  # a Tuesday
WEEKDAYS = frozenset(range(5))


def ok(text: str) -> Command:
    result = parse(text, today=TODAY)
    assert not isinstance(result, UsageError), result.message
    return result


def error(text: str) -> UsageError:
    result = parse(text, today=TODAY)
    assert isinstance(result, UsageError), result
    return result


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Now()),
        ("now", Now()),
        ("NOW", Now()),
        ("rota now", Now()),
        ("/rota now", Now()),
        ("show", Show(None, date(2024, 12, 23))),
        ("show next", Show(None, date(2024, 12, 30))),
        ("show reference", Show("reference", date(2024, 12, 23))),
        ("show Reference this", Show("reference", date(2024, 12, 23))),
        ("show 2025-01-02 tech", Show("tech", date(2024, 12, 30))),
        ("show tech 2025-W02", Show("tech", date(2025, 1, 6))),
        ("list", Show(None, date(2024, 12, 23))),
        ("add @alice reference mon-fri 09:00-17:00", Add("@alice", "reference", WEEKDAYS, time(9), time(17))),
        (
            "add @Alice reference mon, wed, fri 9:00-17:00",
            Add("@alice", "reference", frozenset({0, 2, 4}), time(9), time(17)),
        ),
        (
            "add @eve social-media daily 22:00-06:00",
            Add("@eve", "social-media", frozenset(range(7)), time(22), time(6)),
        ),
        ("add @dana tech sat 00:00-24:00", Add("@dana", "tech", frozenset({5}), time(0), time(0))),
        (
            "add <@U123ABC|alice> tech weekends 10:00-16:00",
            Add("<@U123ABC>", "tech", frozenset({5, 6}), time(10), time(16)),
        ),
        (
            "add @alice:example.org tech sun 10:00-16:00",
            Add("@alice:example.org", "tech", frozenset({6}), time(10), time(16)),
        ),
        ("remove 12", Remove(12)),
        ("remove #12", Remove(12)),
        ("rm 3", Remove(3)),
        (
            "cover @bob circulation tomorrow 09:00-13:00",
            Cover("@bob", "circulation", date(2024, 12, 25), time(9), time(13)),
        ),
        (
            "cover @bob circulation 2024-12-31 22:00-02:00 for @alice",
            Cover("@bob", "circulation", date(2024, 12, 31), time(22), time(2), for_who="@alice"),
        ),
        (
            "cover <@U1> tech today 10:00-11:00 FOR <@U2>",
            Cover("<@U1>", "tech", TODAY, time(10), time(11), "<@U2>"),
        ),
        (
            "off @alice reference fri 13:00-17:00",
            Off("@alice", "reference", date(2024, 12, 27), time(13), time(17)),
        ),
        (
            "off @alice reference tuesday 13:00-17:00",
            Off("@alice", "reference", date(2024, 12, 31), time(13), time(17)),
        ),
        ("close 2024-12-25 Christmas   Day", Close(date(2024, 12, 25), "Christmas Day")),
        ("close tomorrow", Close(date(2024, 12, 25), "")),
        ("close 2024-12-26 AT Harbor staff training", Close(date(2024, 12, 26), "staff training", "harbor")),
        ("close fri at central", Close(date(2024, 12, 27), "", "central")),
        ("roles", Roles()),
        ("help", Help(None)),
        ("help cover", Help("cover")),
        ("?", Help(None)),
    ],
)
def test_every_verb_parses(text: str, command: object) -> None:
    assert ok(text) == command


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ad @alice", 'unknown command "ad" (did you mean "add"?)'),
        ("frobnicate", 'unknown command "frobnicate"'),
        ("add @alice reference mon-fri 25:00-17:00", '"25:00" is not a time: hours go from 00 to 23'),
        ("add @alice reference mon-fri 09:00-17:75", '"17:75" is not a time: minutes go from 00 to 59'),
        ("add @alice reference mon-fri 9am-5pm", '"9am" is not a time (use HH:MM, like 09:30)'),
        ("add @alice reference mon-fri 09:00", '"09:00" is not a time range (use HH:MM-HH:MM'),
        ("add @alice reference mon-fry 09:00-17:00", 'unknown weekday "fry" (did you mean "friday"?)'),
        ("add @alice reference 09:00-17:00", "missing the days (like mon-fri) before the time range"),
        ("add @alice reference mon-fri", "missing the time range (HH:MM-HH:MM) after the days"),
        ("add @alice reference", "missing the days (like mon-fri) after the role"),
        ("add @alice", "missing a role after the person"),
        ("add", "missing a person (@who)"),
        ("add alice reference mon 09:00-10:00", 'expected a person like @alice, got "alice"'),
        ("add @alice Front/Desk mon 09:00-10:00", '"Front/Desk" is not a role'),
        ("remove", "missing an entry id (see show)"),
        ("remove abc", '"abc" is not an entry id'),
        ("remove 0", '"0" is not an entry id'),
        ("remove 12 13", 'unexpected "13" after the entry id'),
        (
            "cover @bob circulation 2024-02-30 09:00-13:00",
            '"2024-02-30" is not a date (that day does not exist)',
        ),
        (
            "cover @bob circulation tomorow 09:00-13:00",
            '"tomorow" is not a date (use YYYY-MM-DD, today, tomorrow or a weekday) '
            '(did you mean "tomorrow"?)',
        ),
        ("cover @bob circulation tomorrow", "missing a time range (HH:MM-HH:MM) after the date"),
        (
            "cover @bob circulation tomorrow 09:00-13:00 instead @alice",
            'expected "for @other" after the time range, got "instead"',
        ),
        ("cover @bob circulation tomorrow 09:00-13:00 for", "missing the person covered (@other) after"),
        ("cover @bob circulation tomorrow 09:00-13:00 for @bob", "@bob cannot cover for themselves"),
        ("off @alice reference thursdy 09:00-12:00", '"thursdy" is not a date'),
        ("close", "missing a date (YYYY-MM-DD, today, tomorrow or a weekday)"),
        ("close someday", '"someday" is not a date'),
        ("close today " + "x" * 201, "the reason is too long (200 characters at most)"),
        ("show reference tech", '"tech" is neither a week nor a second role'),
        ("show this next", 'two weeks given ("next")'),
        ("show 2024-W60", '"2024-W60" is not a week (that week or day does not exist)'),
        ("now please", 'unexpected "please" after the command'),
        ("roles x", 'unexpected "x" after the command'),
        ("help frob", 'no command "frob"'),
    ],
)
def test_every_error_names_the_problem(text: str, problem: str) -> None:
    result = error(text)
    assert result.problem.startswith(problem), result.problem
    assert result.message == f"{result.problem}. Usage: {result.usage}. Example: {result.example}"


def test_usage_and_example_belong_to_the_verb() -> None:
    assert (
        error("cover @a x 2024-02-30 09:00-10:00").usage == "cover @who role <date> HH:MM-HH:MM [for @other]"
    )
    assert error("add @a").example == "add @alice reference mon-fri 09:00-17:00"
    unknown = error("frob")
    assert (
        unknown.usage == "now | show | add | remove | cover | off | close | roles | gaps | feed | take | help"
    )
    assert unknown.example == "help add"


def test_verb_of_and_mutating_verbs() -> None:
    assert verb_of("") == "now"
    assert verb_of("  ADD @x y mon 09:00-10:00") == "add"
    assert verb_of("rota rm 3") == "remove"
    assert verb_of("delete 3") == "remove"
    assert verb_of("frob x") == "frob"
    assert {"add", "remove", "cover", "off", "close"} == MUTATING_VERBS
    for text in ("add x", "rm 1", "cover", "off", "close today"):
        assert verb_of(text) in MUTATING_VERBS
    for text in ("", "show", "now", "roles", "help add", "frob"):
        assert verb_of(text) not in MUTATING_VERBS


def test_windows_cross_midnight() -> None:
    cover = ok("cover @bob circulation 2024-12-31 22:00-02:00")
    assert isinstance(cover, Cover)
    assert cover.window() == (datetime(2024, 12, 31, 22), datetime(2025, 1, 1, 2))
    off = ok("off @bob circulation 2024-12-31 00:00-24:00")
    assert isinstance(off, Off)
    assert off.window() == (datetime(2024, 12, 31), datetime(2025, 1, 1))
    same = ok("off @bob circulation 2024-12-31 09:00-17:00")
    assert isinstance(same, Off)
    assert same.window() == (datetime(2024, 12, 31, 9), datetime(2024, 12, 31, 17))


def test_check_roles() -> None:
    known = {"reference", "circulation", "tech"}
    assert check_roles(ok("add @a reference mon 09:00-10:00"), known) is None
    assert check_roles(ok("show"), known) is None
    assert check_roles(ok("close today"), known) is None
    problem = check_roles(ok("cover @a circulaton today 09:00-10:00"), known)
    assert problem is not None
    assert (
        problem.problem
        == 'unknown role "circulaton" (did you mean "circulation"?); roles: circulation, reference, tech'
    )
    assert problem.usage.startswith("cover ")
    shown = check_roles(ok("show director"), known)
    assert shown is not None
    assert shown.problem.startswith('unknown role "director"')


def test_format_command_is_canonical() -> None:
    assert format_command(ok("add @Alice reference mon,tue,wed,thu,fri 9:00-24:00")) == (
        "add @alice reference mon-fri 09:00-24:00"
    )
    assert format_command(ok("cover <@U1|al> tech tomorrow 22:00-02:00 for @b")) == (
        "cover <@U1> tech 2024-12-25 22:00-02:00 for @b"
    )
    assert format_command(ok("show next")) == "show 2024-12-30"
    assert format_command(ok("close today")) == "close 2024-12-24"
    assert (
        format_command(ok("close today at Harbor  early  closing"))
        == "close 2024-12-24 at harbor early closing"
    )
    assert ok(format_command(ok("close today at harbor x"))) == Close(TODAY, "x", "harbor")


def test_close_names_a_known_branch_or_says_which() -> None:
    assert "missing a branch after at" in error("close today at").problem
    assert '"Front/Desk" is not a branch' in error("close today at Front/Desk").problem
    known = {"central", "harbor"}
    assert check_branch(ok("close today at harbor"), known) is None
    assert check_branch(ok("close today Christmas"), known) is None
    typo = check_branch(ok("close today at harbour"), known)
    assert typo is not None
    assert typo.problem == 'unknown branch "harbour" (did you mean "harbor"?); branches: central, harbor'
    assert typo.usage.startswith("close <date> [at branch]")
    none = check_branch(ok("close today at the request of the board"), set())
    assert none is not None and "no [branches]" in none.problem
    assert format_command(Now()) == "now"


def test_help_text() -> None:
    everything = help_text()
    for usage in (
        "now",
        "show [role]",
        "add @who role days HH:MM-HH:MM",
        "remove <id>",
        "cover @who",
        "off @who",
        "close <date>",
        "roles",
        "help [command]",
    ):
        assert usage in everything
    assert "Only managers" in everything
    one = help_text("cover")
    assert one.splitlines()[0] == "cover @who role <date> HH:MM-HH:MM [for @other]"
    assert "example: cover @bob circulation tomorrow 09:00-13:00 for @alice" in one
    assert "add @who" not in one
    assert not any(mark in everything for mark in ("`", "*", "_", "<b>"))  # plain text, no markup
