"""Plain-text answers: who is on now, a week with entry ids, the roles."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.commands.commands import render_now, render_roles, render_week
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.routing.rules import RoleSpec, RuleSet, StaffSpec

ZONE = ZoneInfo("Europe/London")
RULES = RuleSet(
    rules=(),
    default_role="social-media",
    roles={
        "reference": RoleSpec("reference", sla_minutes=60, backup="director", description="Research help"),
        "tech": RoleSpec("tech", backup="director"),
        "director": RoleSpec("director", sla_minutes=120),
        "social-media": RoleSpec("social-media"),
    },
    staff=(
        StaffSpec("alice", "Alice Archer"),
        StaffSpec("farid", "Farid Haddad"),
        StaffSpec("eve", "Eve Ellison"),
    ),
)
ROTA = Rota(
    zone=ZONE,
    shifts=[
        Shift(3, "reference", "alice", frozenset(range(5)), time(9), time(17)),
        Shift(4, "director", "farid", frozenset(range(5)), time(9), time(17)),
        Shift(5, "social-media", "eve", frozenset(range(7)), time(17), time(9)),
    ],
    overrides=[
        Override(
            15,
            "reference",
            "alice",
            datetime(2022, 12, 23, 13),
            datetime(2022, 12, 23, 17),
            OverrideKind.REMOVE,
        ),
        Override(
            16, "reference", "bob", datetime(2022, 12, 23, 13), datetime(2022, 12, 23, 17), OverrideKind.ADD
        ),
        Override(
            17,
            "tech",
            "eve",
            datetime(2022, 12, 21, 10),
            datetime(2022, 12, 21, 12),
            OverrideKind.REPLACE,
            "chidi",
        ),
    ],
    closures=[Closure(12, date(2022, 12, 26), "Boxing Day")],
)


def test_render_now_daytime() -> None:
    text = render_now(ROTA, RULES, datetime(2022, 12, 20, 11, tzinfo=ZONE))
    assert text.splitlines() == [
        "On duty now (Tue 20 Dec 11:00, Europe/London):",
        "  reference     Alice Archer; changes at 17:00",
        "  tech          nobody; backup director: Farid Haddad",
        "  director      Farid Haddad; changes at 17:00",
        "  social-media  nobody (queued until Tue 20 Dec 17:00)",
    ]


def test_render_now_closed_at_night() -> None:
    text = render_now(ROTA, RULES, datetime(2022, 12, 26, 3, tzinfo=ZONE))
    lines = text.splitlines()
    assert lines[1] == "Closed today: Boxing Day [#12]"
    assert lines[2] == "  reference     nobody (queued until Tue 27 Dec 09:00)"
    assert lines[5] == "  social-media  nobody (queued until Tue 27 Dec 00:00)"


def test_render_week_lists_every_entry_with_its_id() -> None:
    text = render_week(ROTA, "reference", date(2022, 12, 19), RULES.names())
    lines = text.splitlines()
    assert lines[0] == "Rota for reference, week of Mon 19 Dec 2022 (times in Europe/London)"
    friday = lines.index("Fri 23 Dec")
    assert lines[friday + 1 : friday + 4] == [
        "  09:00-17:00  Alice Archer  [#3 weekly Mon-Fri]",
        "  13:00-17:00  Alice Archer off  [#15]",
        "  13:00-17:00  bob covers  [#16]",
    ]
    assert "Sat 24 Dec" in lines
    assert lines[lines.index("Sat 24 Dec") + 1] == "  nobody scheduled"
    next_week = render_week(ROTA, None, date(2022, 12, 26), RULES.names())
    assert "Mon 26 Dec  CLOSED: Boxing Day  [#12] (shifts do not apply)" in next_week.splitlines()
    assert "  17:00-09:00  social-media: Eve Ellison  [#5 every day]" in next_week.splitlines()


def test_render_week_for_all_roles_shows_the_role_and_replacements() -> None:
    text = render_week(ROTA, None, date(2022, 12, 19), RULES.names())
    assert "  10:00-12:00  tech: Eve Ellison covers for chidi  [#17]" in text.splitlines()
    assert "Rota for every role" in text


def test_render_roles() -> None:
    assert render_roles(RULES).splitlines() == [
        "Roles (mentions no rule matches go to social-media):",
        "  reference     SLA 60 min; backup director; Research help",
        "  tech          SLA 30 min; backup director",
        "  director      SLA 120 min; backup none",
        "  social-media  SLA 30 min; backup none",
    ]
