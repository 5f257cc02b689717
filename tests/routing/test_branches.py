"""Branches in the rules file and in the pure core: parsing and its error lines, each role's zone
and closed days in the rota, routing and gaps per branch, and the open/closed answer checked
against a minute-by-minute reference in zoneinfo across both 2026 DST changes of two zones.

2026 changes (UTC): New York 8 Mar 07:00 and 1 Nov 06:00; London 29 Mar 01:00 and 25 Oct 01:00.
Between them (8-29 Mar, 25 Oct-1 Nov) the two zones are 4 hours apart instead of 5.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.models import Mention
from bot.platforms import source_platforms
from bot.rota.branches import Branch, is_open, overlaps, read_hours
from bot.rota.hours import Hours
from bot.rota.opening import format_gaps, gaps, parse_opening_hours
from bot.rota.rota import Closure, Rota, Shift
from bot.routing.escalation import covering
from bot.routing.router import route
from bot.routing.rules import RuleSet, load_rules

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "branches.toml"
LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
BASE = """
default_role = "ldn"
[roles.ldn]
branch = "central"
backup = "director"
[roles.nyc]
branch = "harbor"
backup = "director"
[roles.director]
"""
BRANCHES = """
[branches.central]
name = "Central"
timezone = "Europe/London"
opening_hours = "mon-fri 09:00-17:00"
closures = ["2026-12-25 Christmas Day"]
[branches.harbor]
name = "Harbor"
timezone = "America/New_York"
opening_hours = "mon-fri 09:00-17:00"
closures = [2026-11-26]
"""


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def rules(text: str = BASE + BRANCHES) -> RuleSet:
    return load_rules(text, platforms=source_platforms())


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        rules(text)
    return str(info.value).splitlines()


def rota(ruleset: RuleSet, *closures: Closure) -> Rota:
    """Alice holds ldn and Bob nyc, 09:00-17:00 on weekdays, each in their branch's wall clock."""
    return Rota(
        zone=LONDON,
        shifts=(
            Shift(1, "ldn", "alice", WEEKDAYS, time(9), time(17)),
            Shift(2, "nyc", "bob", WEEKDAYS, time(9), time(17)),
        ),
        closures=closures,
        places=ruleset.places(),
    )


def mention(text: str = "hello") -> Mention:
    return Mention(source="mastodon", external_id="1", text=text, created_at=utc(2026, 1, 1, 0))


# --- the rules file -----------------------------------------------------------------------------


def test_the_example_file_loads_with_its_branches() -> None:
    found = rules(EXAMPLE.read_text(encoding="utf-8"))
    assert sorted(found.branches) == ["central", "harbor"]
    assert found.branch_of("harbor-desk") == found.branches["harbor"]
    assert found.branch_of("director") is None
    assert found.branches["harbor"].zone == NEW_YORK
    assert found.branches["central"].closures[date(2026, 12, 26)] == "Boxing Day"


def test_without_branches_nothing_has_a_place() -> None:
    plain = rules("default_role = 'a'\n[roles.a]\n")
    assert plain.branches == {} and plain.branch_of("a") is None
    assert plain.places().zones == {}


def test_an_unknown_branch_gets_a_did_you_mean() -> None:
    text = BASE.replace('branch = "harbor"', 'branch = "harbour"') + BRANCHES
    assert problems(text) == [
        'roles.nyc: branch "harbour" is not defined in [branches] (did you mean "harbor"?)'
    ]


def test_a_bad_time_zone_says_the_closest_zone() -> None:
    text = BASE + BRANCHES.replace("America/New_York", "America/New_Yrok")
    assert problems(text) == [
        'branches.harbor: timezone "America/New_Yrok" is not an IANA time zone'
        ' (did you mean "America/New_York"?)'
    ]
    # the role that names it is not reported a second time
    assert len(problems(BASE + BRANCHES.replace("America/New_York", "Mars/Olympus"))) == 1


def test_overlapping_hours_say_where() -> None:
    text = BASE + BRANCHES.replace('"mon-fri 09:00-17:00"', '"mon-fri 09:00-17:00; fri 16:00-20:00"', 1)
    [line] = problems(text)
    assert line.startswith("branches.central.opening_hours: parts overlap on fri 16:00-17:00;")
    assert "give each day's hours once" in line


def test_bad_closures_hours_keys_and_missing_zone_each_get_a_line() -> None:
    text = BASE + BRANCHES.replace(
        'closures = ["2026-12-25 Christmas Day"]',
        'closures = ["25/12/2026", "2026-12-30..2026-12-01"]\nzone = 1',
    ).replace(
        'opening_hours = "mon-fri 09:00-17:00"\nclosures = [2026',
        'opening_hours = "mon-fry 9-5"\nclosures = [2026',
    )
    text = text.replace('timezone = "America/New_York"\n', "")
    lines = problems(text)
    assert 'branches.central: unknown key "zone" (did you mean "timezone"?)' in lines
    assert 'branches.harbor: missing "timezone"' in lines
    text = BASE + BRANCHES.replace('["2026-12-25 Christmas Day"]', '["25/12/2026", "2026-12-30..2026-12-01"]')
    lines = problems(text)
    assert lines[0].startswith("branches.central.closures[0]: expected a date like 2026-12-25")
    assert lines[1].startswith("branches.central.closures[1]: the range must run forward")
    text = BASE + BRANCHES.replace('"mon-fri 09:00-17:00"', '"mon-fry 09:00-17:00"', 1)
    assert problems(text)[0].startswith("branches.central.opening_hours: 'mon-fry 09:00-17:00': unknown day")


def test_branches_must_be_tables_with_simple_keys() -> None:
    assert problems(
        "branches = 3\n" + BASE.replace('branch = "central"', "").replace('branch = "harbor"', "")
    ) == ["branches: must be a table [branches.<key>]"]
    assert 'unknown top-level key "branch" (did you mean "branches"?)' in problems(
        BASE + BRANCHES.replace("[branches.harbor]", "[branch.harbor]")
    )
    lines = problems(BASE + BRANCHES.replace("[branches.harbor]", '[branches."Harbor Branch"]'))
    assert any(line.startswith("branches.Harbor Branch: a branch key must be lowercase") for line in lines)


def test_a_closure_range_covers_every_day() -> None:
    found = rules(
        BASE + BRANCHES.replace('"2026-12-25 Christmas Day"', '"2026-12-24..2026-12-27 Winter break"')
    )
    assert sorted(found.branches["central"].closures) == [date(2026, 12, d) for d in range(24, 28)]


def test_overlap_reference_cases() -> None:
    assert overlaps(read_hours("mon-fri 09:00-12:00; mon-fri 12:00-17:00", where="x")) == []
    assert overlaps(parse_opening_hours("mon 09:00-24:00; mon 10:00-11:00; mon 12:00-13:00")) == [
        "mon 10:00-11:00",
        "mon 12:00-13:00",
    ]


# --- the rota, routing and gaps per branch ------------------------------------------------------------


def test_each_role_reads_its_shifts_in_its_branch_zone_across_both_dst_changes() -> None:
    book = rota(rules())
    # 9 March: New York already on EDT (UTC-4), London still on GMT: 13:00 UTC is 09:00 in New York
    assert book.on_duty("nyc", utc(2026, 3, 9, 13)) == ("bob",)
    assert book.on_duty("nyc", utc(2026, 3, 9, 12, 59)) == ()
    assert book.on_duty("ldn", utc(2026, 3, 9, 9)) == ("alice",)
    # 30 March: London on BST: 08:00 UTC is 09:00 in London
    assert book.on_duty("ldn", utc(2026, 3, 30, 8)) == ("alice",)
    # 26 October: London back on GMT, New York still on EDT
    assert book.on_duty("ldn", utc(2026, 10, 26, 8, 59)) == ()
    assert book.on_duty("nyc", utc(2026, 10, 26, 13)) == ("bob",)
    # 2 November: New York on EST: 13:00 UTC is 08:00 there
    assert book.on_duty("nyc", utc(2026, 11, 2, 13)) == ()
    assert book.on_duty("nyc", utc(2026, 11, 2, 14)) == ("bob",)


def test_a_branch_closure_closes_only_that_branch_on_its_own_local_day() -> None:
    ruleset = rules()
    book = rota(ruleset)
    thanksgiving = utc(2026, 11, 26, 15)  # 10:00 in New York, 15:00 in London
    assert book.on_duty("nyc", thanksgiving) == ()
    assert book.on_duty("ldn", thanksgiving) == ("alice",)
    assert book.closure_on(thanksgiving, "nyc") == Closure(0, date(2026, 11, 26), "")
    harbor = rules(BASE + BRANCHES + '[[rules]]\nname = "h"\nrole = "nyc"\nkeywords = ["harbor"]\n')
    decision = route(mention("harbor"), harbor, rota(harbor), thanksgiving)
    assert "; nobody on duty (closed today), nor in backup director;" in decision.reason
    assert book.closure_on(thanksgiving, "ldn") is None
    # a library-wide closure (from chat) closes each branch on its own local day
    shared = rota(ruleset, Closure(9, date(2026, 12, 23), "Staff day"))
    assert shared.on_duty("nyc", utc(2026, 12, 23, 20)) == ()  # 15:00 on the 23rd in New York
    late = utc(2026, 12, 24, 3)  # 22:00 on the 23rd in New York, 03:00 on the 24th in London
    assert shared.closure_on(late, "nyc") == Closure(9, date(2026, 12, 23), "Staff day")
    assert shared.closure_on(late, "ldn") is None
    assert shared.on_duty("ldn", utc(2026, 12, 24, 10)) == ("alice",)


def test_routing_queues_until_the_branch_opens_and_says_where_and_in_which_zone() -> None:
    ruleset = rules(
        BASE.replace("[roles.director]", "[roles.director]\n") + BRANCHES + '[[rules]]\nname = "h"\n'
        'role = "nyc"\nkeywords = ["harbor"]\n'
    )
    book = rota(ruleset)
    at = utc(2026, 3, 9, 12)  # 12:00 in London (Alice on), 08:00 in New York (Bob not yet)
    central = route(mention(), ruleset, book, at)
    assert central.on_duty == ("alice",) and "→ ldn (default) at Central;" in central.reason
    harbor = route(mention("harbor hours?"), ruleset, book, at)
    assert harbor.queued and harbor.queued_until == utc(2026, 3, 9, 13)
    assert harbor.reason.endswith(
        "(Harbor is closed now), nor in backup director; queued until Mon 9 Mar 09:00 EDT"
    )
    assert " → nyc at Harbor;" in harbor.reason


def test_without_branches_the_reason_is_as_before() -> None:
    plain = rules("default_role = 'a'\n[roles.a]\n")
    decision = route(
        mention(),
        plain,
        Rota(zone=LONDON, shifts=(Shift(1, "a", "x", WEEKDAYS, time(9), time(17)),)),
        utc(2026, 3, 7, 12),
    )
    assert decision.reason.endswith("queued until Mon 9 Mar 09:00")


def test_covering_and_backups_follow_each_branch() -> None:
    ruleset = rules()
    book = rota(ruleset)
    at = utc(2026, 3, 9, 18)  # 18:00 in London (closed), 14:00 in New York (open)
    assert covering(ruleset, book, "ldn", at) == ()
    assert covering(ruleset, book, "nyc", at) == ("bob",)


def test_gaps_are_measured_in_each_branch_hours_and_zone() -> None:
    ruleset = rules()
    empty = Rota(zone=LONDON, places=ruleset.places())  # nobody at all: every open minute is a gap
    found = gaps(ruleset, empty, parse_opening_hours("mon-fri 12:00-13:00"), start=date(2026, 3, 9), days=1)
    by_role = {role: (a, b) for role, a, b in found}
    assert by_role["ldn"] == (datetime(2026, 3, 9, 9, tzinfo=LONDON), datetime(2026, 3, 9, 17, tzinfo=LONDON))
    assert by_role["nyc"][0].astimezone(UTC) == utc(2026, 3, 9, 13)  # 09:00 EDT
    assert by_role["director"][0].astimezone(UTC) == utc(2026, 3, 9, 12)  # the library's hours
    text = format_gaps(found, rules=ruleset)
    assert "  nyc at Harbor: Mon 09 Mar 09:00–17:00 EDT, nobody on duty" in text
    assert "  director: Mon 09 Mar 12:00–13:00, nobody on duty" in text
    # a branch closure is not a gap; LibCal's dated hours for a branch win over its weekly hours
    dated = {"harbor": Hours(Branch("harbor", NEW_YORK).weekly, {date(2026, 3, 9): ()})}
    found = gaps(ruleset, empty, parse_opening_hours(""), start=date(2026, 3, 9), days=1, dated=dated)
    assert "nyc" not in {role for role, _, _ in found}
    found = gaps(ruleset, empty, parse_opening_hours(""), start=date(2026, 11, 26), days=1)
    assert "nyc" not in {role for role, _, _ in found}


# --- open or closed: a minute-by-minute reference -------------------------------------------------

HOURS = [
    "mon-fri 09:00-17:00",
    "mon-fri 08:00-20:00; sat 10:00-16:00",
    "sun 00:00-03:00; sun 22:00-24:00; wed 01:30-02:30",  # hours inside the DST changes
    "",
]
CHANGES_2026 = [utc(2026, 3, 8, 7), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), utc(2026, 11, 1, 6)]
instants = st.one_of(
    st.builds(
        lambda c, s: c + timedelta(seconds=s),
        st.sampled_from(CHANGES_2026),
        st.integers(-2 * 86400, 2 * 86400),
    ),
    st.integers(0, 365 * 86400).map(lambda s: utc(2026, 1, 1, 0) + timedelta(seconds=s)),
)


def open_minutes(text: str) -> set[int]:
    """Every minute of the week the hours open, one minute at a time (no use of the code under test)."""
    if not text:
        return set(range(7 * 1440))
    days = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
    minutes = set()
    for part in text.split(";"):
        span, times = part.split()
        first, _, last = span.partition("-")
        start, end = ((int(h) * 60 + int(m)) for h, m in (t.split(":") for t in times.split("-")))
        for day in range(days[first], days[last or first] + 1):
            minutes.update(day * 1440 + minute for minute in range(start, end))
    return minutes


@settings(max_examples=300, deadline=None)
@given(instant=instants, hours=st.sampled_from(HOURS), zone=st.sampled_from([LONDON, NEW_YORK]))
def test_open_or_closed_equals_the_minute_reference(instant: datetime, hours: str, zone: ZoneInfo) -> None:
    branch = Branch("b", zone, hours=read_hours(hours, where="b"), closures={date(2026, 3, 29): ""})
    local = instant.astimezone(zone)
    expected = local.weekday() * 1440 + local.hour * 60 + local.minute in open_minutes(hours)
    expected = expected and local.date() != date(2026, 3, 29)
    assert is_open(branch, instant) == expected


@settings(max_examples=150, deadline=None)
@given(instant=instants, start=st.integers(0, 47), length=st.integers(1, 48))
def test_a_role_at_a_branch_answers_as_a_rota_in_that_zone_would(
    instant: datetime, start: int, length: int
) -> None:
    """London rota, New York branch: the role's holders are those of a rota kept in New York."""
    begin, end = time(start // 2, start % 2 * 30), time((start + length) % 48 // 2, (start + length) % 2 * 30)
    shift = Shift(1, "nyc", "bob", frozenset({0, 2, 6}), begin, end)
    ruleset = rules()
    branch_rota = Rota(zone=LONDON, shifts=(shift,), places=ruleset.places())
    reference = Rota(zone=NEW_YORK, shifts=(shift,), closures=(Closure(0, date(2026, 11, 26), ""),))
    assert branch_rota.on_duty("nyc", instant) == reference.on_duty("nyc", instant)
    assert branch_rota.next_on_duty("nyc", instant, 3) == reference.next_on_duty("nyc", instant, 3)


def test_a_cover_or_time_off_is_checked_in_the_role_branch_wall_clock() -> None:
    """`off @bob nyc mon 09:00-10:00` means 09:00 in New York, where Bob is on duty."""
    from bot.rota.conflicts import holds

    book = rota(rules())
    monday = datetime(2026, 3, 9, 9)
    assert holds(book, "nyc", "bob", monday, monday + timedelta(hours=1)) == (True, True)
    assert holds(book, "nyc", "bob", monday.replace(hour=8), monday) == (False, False)
    assert holds(book, "ldn", "alice", monday, monday + timedelta(hours=8)) == (True, True)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.text(max_size=40) | st.sampled_from(["Europe/London", "UTC", "", "../etc/passwd", "Europe/"]),
    hours=st.text(max_size=60)
    | st.sampled_from(["mon-fri 09:00-17:00", "sun-mon 22:00-24:00; mon 01:00-02:00"]),
    closures=st.lists(st.text(max_size=40) | st.just("2026-12-24..2026-12-26 x"), max_size=3),
    name=st.text(max_size=30),
)
def test_any_branch_table_loads_or_gets_a_config_error(
    zone: str, hours: str, closures: list[str], name: str
) -> None:
    """Hostile values in a branch table give a ConfigError with one line per problem, never a crash."""
    table = {"timezone": zone, "opening_hours": hours, "closures": closures, "name": name}
    base = BASE.replace('branch = "central"', 'branch = "b"').replace('branch = "harbor"', "")
    text = base + "[branches.b]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
    problem: ConfigError | None = None
    try:
        found = rules(text)
    except ConfigError as exc:
        problem = exc
    if problem is not None:
        assert str(problem).strip() and all(line.strip() for line in str(problem).splitlines())
    else:
        assert found.branch_of("ldn") == found.branches["b"] and found.branches["b"].label == (name or "b")
