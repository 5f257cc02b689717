"""route(): the reason sentence, backups (cycle-safe), and queued decisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.models import Decision, Mention
from bot.rota.rota import Closure, Override, OverrideKind, Rota, Shift
from bot.routing.router import queued_until, route
from bot.routing.rules import RoleSpec, Rule, RuleSet

ZONE = ZoneInfo("Europe/London")
WEEKDAYS = frozenset(range(5))
ROLES = {
    "circulation": RoleSpec("circulation", backup="reference"),
    "reference": RoleSpec("reference", backup="director"),
    "director": RoleSpec("director"),
    "social-media": RoleSpec("social-media", backup="director"),
}
RULES = RuleSet(
    rules=(
        Rule("renewals", "circulation", keywords=("renew", "overdue")),
        Rule("research", "reference", keywords=("archives",)),
    ),
    default_role="social-media",
    roles=ROLES,
)
SHIFTS = [
    Shift(1, "circulation", "bob", WEEKDAYS, time(9), time(17)),
    Shift(2, "reference", "alice", WEEKDAYS, time(8), time(18)),
    Shift(3, "director", "farid", frozenset({5}), time(10), time(12)),
    Shift(4, "social-media", "eve", frozenset(range(7)), time(22), time(6)),
]

MakeMention = Callable[..., Mention]


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, month, day, hour, minute, tzinfo=ZONE)  # 2022-12-26 is a Monday


def rota(*extra: Override | Closure) -> Rota:
    return Rota(
        zone=ZONE,
        shifts=SHIFTS,
        overrides=[e for e in extra if isinstance(e, Override)],
        closures=[e for e in extra if isinstance(e, Closure)],
    )


def test_on_duty_reason(mention: MakeMention) -> None:
    decision = route(mention("Can I renew my card?"), RULES, rota(), at(12, 20, 10))
    assert decision == Decision(
        role="circulation",
        on_duty=("bob",),
        rule="renewals",
        reason='rule "renewals" (keyword "renew") → circulation; on duty: bob (Mon-Fri 09:00-17:00)',
    )


def test_default_rule_reason_names_the_cover(mention: MakeMention) -> None:
    cover = Override(
        9, "social-media", "dana", datetime(2022, 12, 20, 10), datetime(2022, 12, 20, 14), OverrideKind.ADD
    )
    decision = route(mention("hello!"), RULES, rota(cover), at(12, 20, 11))
    assert decision.role == "social-media"
    assert decision.rule == "default"
    assert decision.on_duty == ("dana",)
    assert (
        decision.reason
        == "no rule matched → social-media (default); on duty: dana (cover Tue 20 Dec 10:00-14:00)"
    )


def test_backup_is_used_and_the_role_stays(mention: MakeMention) -> None:
    decision = route(mention("renew please"), RULES, rota(), at(12, 20, 8, 30))  # bob starts at 09:00
    assert decision.role == "circulation"
    assert decision.on_duty == ("alice",)
    assert not decision.queued
    assert decision.reason == (
        'rule "renewals" (keyword "renew") → circulation; nobody on duty; '
        "backup reference: alice (Mon-Fri 08:00-18:00)"
    )


def test_backup_chain_goes_two_deep(mention: MakeMention) -> None:
    decision = route(mention("overdue"), RULES, rota(), at(12, 24, 11))  # Saturday: only farid
    assert (decision.role, decision.on_duty, decision.queued) == ("circulation", ("farid",), False)
    assert decision.reason.endswith("nobody on duty; backup reference → director: farid (Sat 10:00-12:00)")


def test_queued_with_closure_reason_and_next_opening(mention: MakeMention) -> None:
    r = rota(Closure(5, date(2022, 12, 26), "Boxing Day"), Closure(6, date(2022, 12, 25), "Christmas Day"))
    now = at(12, 25, 12)
    decision = route(mention("renew my books"), RULES, r, now)
    assert decision.queued
    assert decision.on_duty == ()
    assert decision.role == "circulation"
    assert decision.queued_until == at(12, 27, 8)  # alice (the backup) comes on before bob
    assert decision.reason == (
        'rule "renewals" (keyword "renew") → circulation; nobody on duty (closed: Christmas Day), '
        "nor in backup reference → director; queued until Tue 27 Dec 08:00"
    )


def test_queued_until_is_the_roles_own_opening_without_backups(mention: MakeMention) -> None:
    rules = RuleSet(
        rules=RULES.rules,
        default_role="social-media",
        roles={**ROLES, "circulation": RoleSpec("circulation")},
    )
    decision = route(mention("renew"), rules, rota(), at(12, 24, 11))
    assert decision.queued
    assert decision.queued_until == at(12, 26, 9)
    assert decision.reason.endswith("→ circulation; nobody on duty; queued until Mon 26 Dec 09:00")


def test_queued_with_nobody_in_the_horizon(mention: MakeMention) -> None:
    rules = RuleSet(rules=(), default_role="empty", roles={"empty": RoleSpec("empty")})
    decision = route(mention("x"), rules, rota(), at(12, 20, 12))
    assert decision.queued
    assert decision.queued_until is None
    assert (
        decision.reason
        == "no rule matched → empty (default); nobody on duty; queued (nobody on duty in the next 14 days)"
    )


def test_backup_cycles_terminate(mention: MakeMention) -> None:
    roles = {"a": RoleSpec("a", backup="b"), "b": RoleSpec("b", backup="a")}
    rules = RuleSet(rules=(), default_role="a", roles=roles)
    empty = Rota(zone=ZONE)
    decision = route(mention("x"), rules, empty, at(12, 20, 12))
    assert decision.queued
    assert decision.reason == (
        "no rule matched → a (default); nobody on duty, nor in backup b; "
        "queued (nobody on duty in the next 14 days)"
    )
    with_b = Rota(zone=ZONE, shifts=[Shift(1, "b", "bo", frozenset(range(7)), time(0), time(0))])
    assert route(mention("x"), rules, with_b, at(12, 20, 12)).on_duty == ("bo",)


def test_queued_until_picks_the_earliest_in_the_chain() -> None:
    now = at(12, 24, 13)  # Saturday afternoon
    found = queued_until(RULES, rota(), "circulation", now)
    assert found == at(12, 26, 8)  # Monday: alice (reference, the backup) at 08:00, bob at 09:00
    assert found is not None
    assert found.tzinfo == UTC


def test_reason_never_quotes_the_patron(mention: MakeMention) -> None:
    text = "renew Xylophonic-Secret-42 please"
    for now in (at(12, 20, 10), at(12, 20, 8, 30), at(12, 25, 3)):
        decision = route(mention(text, author_handle="@patron@example.social"), RULES, rota(), now)
        assert "Xylophonic" not in decision.reason
        assert "patron" not in decision.reason
    assert route(mention("ARCHIVES?"), RULES, rota(), at(12, 20, 10)).reason.startswith(
        'rule "research" (keyword "archives") → reference'
    )
