"""Rule matching: each condition, first-match order, the default, and the keyword index."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Mention
from bot.routing.keywords import words
from bot.routing.rules import RoleSpec, Rule, RuleSet, default_rules

ROLES = {k: RoleSpec(key=k) for k in ("circulation", "reference", "tech", "social-media", "director")}

MakeMention = Callable[..., Mention]


def ruleset(*rules: Rule, default: str = "social-media") -> RuleSet:
    return RuleSet(rules=rules, default_role=default, roles=ROLES)


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("renew", "Can I RENEW my books?", True),
        ("renew", "renewable energy talk", False),  # whole words only
        ("late fee", "what is the Late   Fee for DVDs", True),  # phrases, any spacing and case
        ("late fee", "late fees", False),
        ("e-book", "the E-Book app crashed", True),
        ("e-book", "the e book app crashed", True),  # punctuation between words is ignored
        ("e-book", "ebook", False),
        ("#storytime", "Storytime today?", True),
        ("réclamation", "RÉCLAMATION au guichet", True),  # Unicode case folding
        ("straße", "STRASSE closed", True),  # casefold: ß == ss
        ("wifi", "ｗｉｆｉ is down", True),  # NFKC: full-width letters
        ("библиотека", "Где библиотека?", True),
        ("hold", "on hold", True),
        ("hold", "household", False),
    ],
)
def test_keyword_whole_word_case_insensitive_unicode(
    keyword: str, text: str, expected: bool, mention: MakeMention
) -> None:
    rule = Rule(name="r", role="circulation", keywords=(keyword,))
    assert rule.matches(mention(text)) is expected
    assert (ruleset(rule).match(mention(text))[1] == "r") is expected  # the indexed path agrees


def test_platforms_condition(mention: MakeMention) -> None:
    rule = Rule(name="press", role="social-media", platforms=frozenset({"feeds", "Bluesky"}))
    assert rule.matches(mention("x", source="feeds"))
    assert rule.matches(mention("x", source="bluesky"))
    assert not rule.matches(mention("x", source="mastodon"))


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fr", True), ("fr-CA", True), ("FR_ca", True), ("fro", False), ("en", False), (None, False)],
)
def test_languages_match_by_prefix(lang: str | None, expected: bool, mention: MakeMention) -> None:
    rule = Rule(name="fr", role="reference", languages=frozenset({"fr"}))
    assert rule.matches(mention("bonjour", lang=lang)) is expected


@pytest.mark.parametrize(
    ("handle", "author_id", "expected"),
    [
        ("Alice@Example.Social", "", True),
        ("@alice@example.social", "", True),
        ("", "@ALICE@example.social", True),
        ("bob@example.social", "123", False),
    ],
)
def test_authors_with_or_without_at(
    handle: str, author_id: str, expected: bool, mention: MakeMention
) -> None:
    rule = Rule(name="vip", role="director", authors=frozenset({"@alice@example.social"}))
    assert rule.matches(mention("hi", author_handle=handle, author_id=author_id)) is expected


def test_regex_condition(mention: MakeMention) -> None:
    rule = Rule(name="isbn", role="reference", regex=re.compile(r"\bISBN\s*\d{10,13}\b", re.IGNORECASE))
    assert rule.matches(mention("looking for isbn 9780306406157"))
    assert not rule.matches(mention("looking for a book"))


def test_every_given_condition_must_hold(mention: MakeMention) -> None:
    rule = Rule(name="fr-renew", role="circulation", keywords=("renew",), languages=frozenset({"fr"}))
    assert rule.matches(mention("renew please", lang="fr"))
    assert not rule.matches(mention("renew please", lang="en"))
    assert not rule.matches(mention("bonjour", lang="fr"))


def test_content_warning_counts_as_text(mention: MakeMention) -> None:
    rule = Rule(name="c", role="director", keywords=("complaint",))
    assert rule.matches(mention("long story below", content_warning="Complaint"))


def test_first_match_wins_in_order(mention: MakeMention) -> None:
    complaints = Rule(name="complaints", role="director", keywords=("rude",))
    fines = Rule(name="fines", role="circulation", keywords=("fines",))
    text = mention("staff were rude about my fines")
    assert ruleset(complaints, fines).match(text) == ("director", "complaints", 'keyword "rude"')
    assert ruleset(fines, complaints).match(text) == ("circulation", "fines", 'keyword "fines"')


def test_first_match_wins_among_many_rules(mention: MakeMention) -> None:
    filler = [Rule(name=f"f{i}", role="tech", keywords=(f"filler{i}",)) for i in range(12)]
    filler[2] = Rule(name="early", role="reference", keywords=("archives",))
    filler[9] = Rule(name="late", role="director", keywords=("archives",))
    assert ruleset(*filler).match(mention("archives"))[1] == "early"


def test_default_when_nothing_matches(mention: MakeMention) -> None:
    rules = ruleset(Rule(name="fines", role="circulation", keywords=("fines",)))
    assert rules.match(mention("hello library")) == ("social-media", "default", "no rule matched")
    assert default_rules().match(mention("anything")) == ("social-media", "default", "no rule matched")
    assert list(default_rules().roles) == ["social-media"]


def test_why_names_each_condition(mention: MakeMention) -> None:
    rule = Rule(
        name="all",
        role="tech",
        platforms=frozenset({"mastodon"}),
        keywords=("wifi", "printer"),
        regex=re.compile("down"),
        languages=frozenset({"en"}),
        authors=frozenset({"pat"}),
    )
    m = mention("the printer is down", lang="en-GB", author_handle="@pat")
    assert rule.explain(m) == 'keyword "printer", pattern, platform mastodon, language en, listed author'


def test_regex_rules_behind_the_gate_still_match(mention: MakeMention) -> None:
    verbose = re.compile(r"call \s number  # a comment", re.VERBOSE)  # cannot be combined
    backref = re.compile(r"(\w)\1\1")  # a group reference cannot be combined either
    gated = re.compile(r"\bref\s*#\d+", re.IGNORECASE)
    rules = ruleset(
        Rule(name="gated", role="reference", regex=gated),
        Rule(name="verbose", role="tech", regex=verbose),
        Rule(name="backref", role="director", regex=backref),
    )
    assert rules.match(mention("see REF #12"))[1] == "gated"
    assert rules.match(mention("what is the call number"))[1] == "verbose"
    assert rules.match(mention("zzz"))[1] == "backref"
    assert rules.match(mention("nothing here"))[1] == "default"


def test_backup_chain_stops_at_a_cycle() -> None:
    roles = {
        "a": RoleSpec("a", backup="b"),
        "b": RoleSpec("b", backup="c"),
        "c": RoleSpec("c", backup="a"),
        "d": RoleSpec("d", backup="d"),
    }
    rules = RuleSet(rules=(), default_role="a", roles=roles)
    assert rules.backup_chain("a") == ("b", "c")
    assert rules.backup_chain("d") == ()
    assert rules.backup_chain("unknown") == ()


def test_example_rules_route_the_demo_topics(example_rules: RuleSet, mention: MakeMention) -> None:
    cases = {
        "Can I renew my books online?": "circulation",
        "I have overdue fines, help": "circulation",
        "Need research help with the newspaper databases": "reference",
        "Interlibrary loan request status?": "reference",
        "Local history archives open on Saturday?": "reference",
        "The wifi is down again": "tech",
        "Your e-book app keeps crashing": "tech",
        "website down?": "tech",
        "Is there storytime this week?": "social-media",
        "Thanks, you are the best library!": "social-media",
        "Your staff were rude and the new policy is unacceptable": "director",
        "random words": "social-media",
    }
    for text, role in cases.items():
        assert example_rules.match(mention(text))[0] == role, text


# --- the index must agree with trying every rule in order -----------------------------------

VOCAB = ["renew", "late fee", "wifi", "e-book", "hold", "on hold", "the app", "app", "rude", "Straße"]
TEXT_WORDS = [*VOCAB, "the", "please", "fee", "late", "strasse", "ebook", "E-BOOK", "!", "on"]


@st.composite
def rule_lists(draw: st.DrawFn) -> list[Rule]:
    rules = []
    for i in range(draw(st.integers(1, 6))):
        keywords = tuple(draw(st.lists(st.sampled_from(VOCAB), max_size=3)))
        platforms = frozenset(draw(st.lists(st.sampled_from(["mastodon", "feeds"]), max_size=1)))
        pattern = draw(st.sampled_from([None, r"\bfee\b", r"(?i)APP", r"(\w)\1"]))
        regex = re.compile(pattern) if pattern else None
        if not keywords and not platforms and regex is None:
            keywords = ("app",)
        role = draw(st.sampled_from(sorted(ROLES)))
        rules.append(Rule(name=f"r{i}", role=role, keywords=keywords, platforms=platforms, regex=regex))
    return rules


@settings(max_examples=150, deadline=None)
@given(
    rules=rule_lists(),
    text=st.lists(st.sampled_from(TEXT_WORDS), max_size=8),
    source=st.sampled_from(["mastodon", "feeds"]),
)
def test_indexed_match_equals_first_rule_that_matches(
    rules: list[Rule], text: list[str], source: str
) -> None:
    from datetime import UTC, datetime

    m = Mention(
        source=source, external_id="1", text=" ".join(text), created_at=datetime(2024, 1, 1, tzinfo=UTC)
    )
    naive = next(((r.role, r.name) for r in rules if r.matches(m)), ("social-media", "default"))
    assert ruleset(*rules).match(m)[:2] == naive


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_words_agree_with_the_unicode_regex(text: str) -> None:
    import unicodedata

    assert words(text) == re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
