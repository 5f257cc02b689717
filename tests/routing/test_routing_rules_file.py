"""load_rules: the TOML format, and one error line per problem naming the rule and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.platforms import source_platforms
from bot.routing.rules import RoleSpec, StaffSpec, load_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """
default_role = "social-media"

[roles.social-media]
[roles.reference]
sla_minutes = 45
backup = "social-media"
description = "Research"
slack_channel = "C123"
matrix_room = "!abc:example.org"

[[rules]]
name = "research"
role = "reference"
keywords = ["research", "local history"]
regex = 'ISBN'
languages = ["en"]
platforms = ["mastodon"]
authors = ["@pat@example.social"]

[[staff]]
key = "alice"
name = "Alice Archer"
slack_user_id = "U01"
matrix_user_id = "@alice:example.org"
manager = true
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_rules(text, platforms=source_platforms())
    return str(info.value).splitlines()


def test_a_good_file_loads_every_field() -> None:
    rules = load_rules(GOOD, platforms=source_platforms())
    assert rules.default_role == "social-media"
    assert rules.roles["reference"] == RoleSpec(
        key="reference",
        sla_minutes=45,
        backup="social-media",
        description="Research",
        slack_channel="C123",
        matrix_room="!abc:example.org",
    )
    assert rules.roles["social-media"] == RoleSpec(key="social-media")
    rule = rules.rules[0]
    assert (rule.name, rule.role, rule.keywords) == ("research", "reference", ("research", "local history"))
    assert rule.regex is not None
    assert rule.regex.flags & re.IGNORECASE
    assert rule.platforms == frozenset({"mastodon"})
    assert rule.languages == frozenset({"en"})
    assert rule.authors == frozenset({"@pat@example.social"})
    assert rules.staff == (StaffSpec("alice", "Alice Archer", "U01", "@alice:example.org", manager=True),)


def test_the_example_file_loads() -> None:
    rules = load_rules((EXAMPLES / "rules.toml").read_text(encoding="utf-8"), platforms=source_platforms())
    assert set(rules.roles) == {"reference", "circulation", "tech", "social-media", "director"}
    assert rules.default_role == "social-media"
    for role in rules.roles:
        chain = rules.backup_chain(role)
        assert role == "director" or chain[-1] == "director"  # every chain ends at the director
    assert {s.key for s in rules.staff} == {"alice", "bob", "chidi", "dana", "eve", "farid"}
    assert 1 <= sum(s.manager for s in rules.staff) <= 2


def test_every_problem_gets_its_own_line() -> None:
    text = """
default_role = "social"
colour = "blue"

[roles.reference]
backup = "nobody"
[roles.circulation]
backup = "tech"
[roles.tech]
backup = "circulation"
sla_minutes = 0

[[rules]]
name = "a"
role = "circ"
keywords = ["renew"]

[[rules]]
name = "b"
role = "reference"
regex = "(unclosed"

[[rules]]
name = "c"
role = "reference"
keyword = ["typo"]

[[rules]]
name = "a"
role = "reference"
keywords = ["ok"]

[[rules]]
name = "d"
role = "reference"

[[rules]]
name = "e"
role = "reference"
keywords = ["fine", " ", "!!"]
languages = ["french"]
platforms = ["mastadon"]

[[rules]]
role = "reference"
keywords = "renew"

[[staff]]
key = "alice"
[[staff]]
key = "alice"
[[staff]]
key = "Bad Key"
"""
    lines = problems(text)
    expected = [
        'unknown top-level key "colour"',
        'roles.reference: backup "nobody" is not a defined role',
        "roles.tech: sla_minutes: Input should be greater than or equal to 1",
        "roles.circulation: backup cycle circulation → tech → circulation",
        'default_role: "social" is not defined in [roles]',
        'rules[0] "a": role "circ" is not defined in [roles]',
        "rules[1] \"b\": regex '(unclosed': missing ), unterminated subpattern at position 0",
        'rules[2] "c": unknown key "keyword" (did you mean "keywords"?)',
        'rules[3] "a": duplicate rule name (first used by rules[0])',
        'rules[4] "d": no condition (give at least one of platforms, keywords, regex, languages, authors)',
        'rules[5] "e": keywords[1] is empty',
        'rules[5] "e": keywords[2] "!!" has no letters or digits to match',
        'rules[5] "e": platforms[0] "mastadon" is not a source platform (did you mean "mastodon"?)',
        'rules[5] "e": languages[0] "french" is not a language code (like "en" or "fr-CA")',
        'rules[6]: missing "name"',
        "rules[6]: keywords: Input should be a valid list",
        "staff[1] \"alice\": duplicate key 'alice' (also staff[0])",
        'staff[2] "Bad Key": key: String should match pattern',
    ]
    assert len(lines) == len(expected), "\n".join(lines)
    for want in expected:
        assert any(line.startswith(want) for line in lines), f"{want!r} not in\n" + "\n".join(lines)


def test_missing_default_role_and_bad_shapes() -> None:
    lines = problems('roles = "x"\nrules = 3\n')
    assert lines == [
        "roles: must be a table [roles.<key>]",
        "default_role: missing (the role for mentions no rule matches)",
        "rules: must be an array of tables [[rules]]",
    ]


def test_role_keys_must_be_simple_and_not_reserved() -> None:
    lines = problems('default_role = "next"\n[roles.next]\n[roles."Front Desk"]\n')
    assert lines[0].startswith("roles.next: a role key must be lowercase")
    assert lines[1].startswith("roles.Front Desk: a role key must be lowercase")


def test_invalid_toml_is_one_line() -> None:
    lines = problems('default_role = "x\n')
    assert len(lines) == 1
    assert lines[0].startswith("rules file is not valid TOML:")


def test_a_rule_and_staff_entry_that_is_not_a_table() -> None:
    lines = problems('default_role = "a"\nrules = ["x"]\nstaff = [1]\n[roles.a]\n')
    assert lines == ["rules[0]: must be a table, got str", "staff[0]: must be a table, got int"]


def test_the_caller_says_which_platforms_a_rule_may_name() -> None:
    """Routing knows no platform: the names come from the caller (the registry, in the app)."""
    rule = '\n[[rules]]\nname = "p"\nrole = "reference"\nplatforms = ["Pigeon"]\n'
    assert load_rules(GOOD + rule, platforms={"mastodon", "pigeon"}).rules[1].platforms == {"Pigeon"}
    with pytest.raises(ConfigError, match='platforms\\[0\\] "mastodon" is not a source platform'):
        load_rules(GOOD, platforms={"pigeon"})


def test_approval_names_a_staff_key_or_another_role() -> None:
    text = """
default_role = "reference"
[roles.reference]
approval = "directr"
[roles.director]
approval = "director"
[roles.complaints]
approval = "alice"
[roles.tech]
approval = "director"
[[staff]]
key = "alice"
"""
    assert problems(text) == [
        'roles.reference: approval "directr" is neither a staff key nor a role (did you mean "director"?)',
        'roles.director: approval "director" names the role itself; name someone else',
    ]
    fixed = text.replace('"directr"', '"alice"').replace('approval = "director"\n[roles.c', "[roles.c")
    ok = load_rules(fixed, platforms=source_platforms())
    assert ok.roles["complaints"].approval == "alice" and ok.roles["reference"].approval == "alice"
    assert ok.roles["tech"].approval == "director" and ok.roles["director"].approval == ""
