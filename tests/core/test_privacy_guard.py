"""The privacy guard (pure): each detector on plain examples, and no crash nor runaway on hostile text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.privacy import (
    ADDRESS,
    CARD,
    EMAIL,
    LOAN,
    PHONE,
    PIN,
    SCAN_LIMIT,
    PrivacyGuard,
    compile_card_pattern,
    findings,
)

GUARD = PrivacyGuard(compile_card_pattern(r"\b2\d{13}\b"))


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("My card is 21234567890123", (CARD,)),
        ("my PIN is 4321", (PIN,)),
        ("write to pat.ron+lib@mail.example.org", (EMAIL,)),
        ("call me on +44 20 7946 0958", (PHONE,)),
        ("call (555) 123-4567", (PHONE,)),
        ("I live at 12 High Street", (ADDRESS,)),
        ("I owe $4.50 in fines", (LOAN,)),
        ("3 books overdue since May", (LOAN,)),
        ("card 21234567890123 and pin: 1234", (CARD, PIN)),
    ],
)
def test_each_kind_is_found(text: str, kinds: tuple[str, ...]) -> None:
    assert GUARD.scan(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Are you open on Monday?",
        "Thanks @library@glammr.us for the event!",  # a fediverse handle is not an email address
        "The event is on 2026-12-07 18:00-20:00",  # dates and times are not phone numbers
        "Can I renew my books online?",
        "Open 09:00-17:00, 10:00-16:00 on Saturdays",
        "question 1700000123.000100",  # a timestamp or a decimal is not a phone number
    ],
)
def test_ordinary_questions_are_quiet(text: str) -> None:
    assert GUARD.scan(text) == ()


def test_no_card_pattern_no_card_check_and_findings_name_both_texts() -> None:
    assert PrivacyGuard().scan("21234567890123") == (PHONE,)  # without the pattern, digits look like a phone
    assert GUARD.scan("21234567890123") == (CARD,)  # a card number is not reported twice
    said = findings(GUARD, reply="call 555 123 4567", post="my PIN is 1234")
    assert said == "the reply contains a phone number; the patron's post contains a PIN"
    assert findings(GUARD, reply="ok", post="ok") == ""


def test_bad_card_patterns_are_refused_in_plain_words() -> None:
    assert compile_card_pattern("  ") is None
    with pytest.raises(ValueError, match="not a regular expression"):
        compile_card_pattern("(")
    with pytest.raises(ValueError, match="matches empty text"):
        compile_card_pattern(r"\d*")


HOSTILE = st.one_of(
    st.text(max_size=2000),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["1", "1 ", "a@", "a.", "@a.", "12 Aa ", "fine $", "-1"]),
        st.integers(0, 5000),
    ),
)


@settings(max_examples=300, deadline=None)
@given(HOSTILE)
def test_hostile_text_never_crashes_the_guard(text: str) -> None:
    found = GUARD.scan(text)
    assert set(found) <= {CARD, PIN, EMAIL, PHONE, ADDRESS, LOAN}


def test_a_huge_post_is_cut_at_the_scan_limit() -> None:
    assert GUARD.scan("x" * SCAN_LIMIT + " call 555 123 4567") == ()
    assert GUARD.scan("1" * 100_000) == ()  # one long run of digits is no number anybody dials
