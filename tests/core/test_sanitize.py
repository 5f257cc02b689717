"""domain.sanitize: whatever a platform sends, the mention is storable, fits its columns, renders safely."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import (
    EARLIEST,
    MAX_AUTHOR,
    MAX_EXTERNAL_ID,
    MAX_LANG,
    TIME_NOTE,
    UNKNOWN_TIME,
    clean_text,
    cut,
    from_unix,
    one_line,
    parse_timestamp,
    safe_change,
    safe_datetime,
    safe_id,
    safe_int,
    safe_mention,
    safe_url,
)
from bot.models import Mention, MentionChange
from bot.net.wire import parse_time

from .hostile import assert_safe

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
HOSTILE = (
    "\x00", "\ud800", "\udfff", "\ud83d", "\ude00", "\ud83d\ude00", "\u202e", "\u202d", "\u2066", "\u2069",
    "\u200e", "\u200f", "\u061c", "\n", "\r", "\r\n", "\t", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029",
    "\ufffe", "\uffff", "\U0010ffff", "\ufdd0", "e\u0301", "👩\u200d👩\u200d👧", "🇫🇷", " ", "@room",
)  # fmt: skip


def hostile_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Text mixing ordinary characters, any code point (surrogates included) and known troublemakers."""
    piece = st.one_of(
        st.text(max_size=8),
        st.sampled_from(HOSTILE),
        st.integers(0, 0x10FFFF).map(chr),
    )
    return st.lists(piece, max_size=max_size).map("".join)


def long_text() -> st.SearchStrategy[str]:
    """Past every column: repeated hostile pieces around a cut point."""
    return st.tuples(hostile_text(10), st.integers(400, 50_000)).map(lambda t: (t[0] or "é") * t[1])


ANY_TIME = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()),
    st.datetimes(
        min_value=datetime(9999, 12, 31), timezones=st.just(timezone(timedelta(hours=-12)))
    ),  # overflows on astimezone(UTC)
    st.datetimes(max_value=datetime(1, 1, 2), timezones=st.just(timezone(timedelta(hours=14)))),
    st.sampled_from([UNKNOWN_TIME, datetime.max.replace(tzinfo=UTC), EARLIEST, NOW + timedelta(days=2)]),
)


@st.composite
def mentions(draw: st.DrawFn) -> Mention:
    text = st.one_of(hostile_text(), hostile_text(), long_text())
    return Mention(
        source=draw(st.sampled_from(["mastodon", "bluesky", "feeds", "matrix", "slack", "webhook"])),
        external_id=draw(text),
        text=draw(text),
        created_at=draw(ANY_TIME),
        url=draw(st.none() | text | hostile_text().map(lambda s: "https://x.example/" + s)),
        author_id=draw(text),
        author_handle=draw(text),
        author_name=draw(text),
        lang=draw(st.none() | text),
        content_warning=draw(text),
        reply_ref=draw(st.one_of(hostile_text(), st.just("{" * 20_000))),
        note=draw(hostile_text()),
    )


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(mentions())
def test_any_mention_comes_out_storable_bounded_and_one_line(mention: Mention) -> None:
    safe = safe_mention(mention, now=NOW)
    assert_safe(safe, now=NOW)
    assert safe_mention(safe, now=NOW + timedelta(minutes=5)) == safe  # idempotent, also later


@given(ANY_TIME)
def test_any_datetime_is_kept_in_the_window_or_refused(value: datetime) -> None:
    kept = safe_datetime(value, now=NOW)
    assert kept is None or (kept.tzinfo is UTC and EARLIEST <= kept <= NOW + timedelta(days=1))


@given(st.one_of(st.text(), hostile_text(), ANY_TIME.map(lambda d: d.isoformat())))
def test_parse_timestamp_never_raises(value: str) -> None:
    parsed = parse_timestamp(value)
    assert parsed is None or parsed.tzinfo is not None


@given(st.one_of(st.integers(), st.floats(), st.text(), st.booleans(), st.none()))
def test_from_unix_never_raises(value: object) -> None:
    assert from_unix(value) is None or from_unix(value).tzinfo is UTC  # type: ignore[union-attr]


def test_a_time_that_overflows_is_unreadable_not_fatal() -> None:
    assert parse_timestamp("9999-12-31T23:59:59-12:00") is None  # finding 1: OverflowError before
    assert parse_time("9999-12-31T23:59:59-12:00") is None
    assert parse_timestamp("2026-03-01T09:00:00.123456789z") == datetime(2026, 3, 1, 9, 0, 0, 123456, UTC)


@pytest.mark.parametrize(
    "created",
    [
        UNKNOWN_TIME,
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        NOW + timedelta(days=1, seconds=1),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12))),
        datetime(2026, 1, 1),  # naive: no zone to trust
    ],
)
def test_a_time_outside_the_window_becomes_the_receive_time_and_is_marked(created: datetime) -> None:
    safe = safe_mention(Mention("feeds", "x", "text", created), now=NOW)
    assert safe.created_at == NOW and safe.note == TIME_NOTE
    assert safe_mention(safe, now=NOW).note == TIME_NOTE  # marked once


def test_a_sane_time_is_kept_and_not_marked() -> None:
    yesterday = NOW - timedelta(days=1)
    safe = safe_mention(
        Mention("feeds", "x", "text", yesterday.astimezone(timezone(timedelta(hours=5)))), now=NOW
    )
    assert safe.created_at == yesterday and safe.note == ""


def test_nul_surrogates_and_noncharacters() -> None:
    assert clean_text("a\x00b\ud800c\ud83d\ude00d\ufffe") == "abc😀d\ufffd"
    assert clean_text("one\r\ntwo\rthree\x1b[0m") == "one\ntwo\nthree\ufffd[0m"


def test_one_line_fields_lose_line_breaks_and_bidi_controls() -> None:
    assert one_line("Ann\n\u202eEvil\tName\u2028x  ") == "Ann Evil Name x"
    assert one_line("👩\u200d👩\u200d👧 Family") == "👩\u200d👩\u200d👧 Family"  # ZWJ is not a bidi control


def test_cuts_fall_on_grapheme_boundaries() -> None:
    name = "e\u0301" * 600  # 1,200 code points, 600 graphemes
    safe = safe_mention(Mention("feeds", "x", "t", NOW, author_name=name), now=NOW)
    assert len(safe.author_name) <= MAX_AUTHOR and safe.author_name.endswith("e\u0301")
    assert cut("ab👩\u200d👩\u200d👧", 4) == "ab"


def test_a_600_character_author_fits_its_column() -> None:
    safe = safe_mention(Mention("feeds", "x", "t", NOW, author_name="A" * 600, lang="x" * 40), now=NOW)
    assert len(safe.author_name) == MAX_AUTHOR and len(safe.lang or "") == MAX_LANG


def test_a_long_id_becomes_its_hash_so_distinct_ids_stay_distinct() -> None:
    long_a, long_b = "a" * 600, "a" * 599 + "b"
    assert safe_id(long_a) == "sha256:" + hashlib.sha256(long_a.encode()).hexdigest()
    assert safe_id(long_a) != safe_id(long_b)
    assert len(safe_id(long_a)) <= MAX_EXTERNAL_ID and safe_id("short") == "short"


def test_urls_stay_links_on_one_line() -> None:
    assert safe_url("https://x.example/a\nFake line\u202e") == "https://x.example/a%0AFake%20line%E2%80%AE"
    assert safe_url("javascript:alert(1)") is None and safe_url("/relative") is None
    assert safe_url("https://x.example/" + "a" * 5000) is None  # a cut link points elsewhere


def test_an_oversized_reply_reference_drops_the_reply_path_not_the_post() -> None:
    safe = safe_mention(Mention("mastodon", "x", "t", NOW, reply_ref="{" * 20_000), now=NOW)
    assert safe.reply_ref == "" and safe.can_reply is False and safe.text == "t"


def test_numbers_are_range_checked() -> None:
    assert safe_int(5, low=0, high=10) == 5
    assert safe_int(2**70, low=0, high=10) is None and safe_int(True, low=0, high=10) is None
    assert from_unix(2**70) is None and from_unix(float("nan")) is None and from_unix("1e400") is None
    assert from_unix("1700000000.000100") == datetime.fromtimestamp(1700000000.0001, UTC)


def test_changes_are_repaired_like_mentions() -> None:
    change = MentionChange("matrix", "$" + "x" * 600, "edit", "@a\n:b", "new\x00 words\ud800")
    safe = safe_change(change)
    assert safe.external_id == safe_id(change.external_id) and safe.sender == "@a :b"
    assert safe.text == "new words"


def test_fields_it_does_not_know_are_left_alone() -> None:
    mention = Mention("webhook", "x", "t", NOW, can_reply=False)
    assert replace(safe_mention(mention, now=NOW), note="") == mention


def test_only_what_safe_mention_returned_with_a_clock_is_marked_sanitized() -> None:
    raw = Mention("feeds", "x", "a \x00 b", NOW, author_name="\u202eevil")
    assert not raw.sanitized
    safe = safe_mention(raw, now=NOW)
    assert safe.sanitized and safe == safe_mention(safe, now=NOW)
    assert not safe_mention(raw, now=None).sanitized  # the time is still unchecked
    assert not replace(safe, text="changed \x00 after").sanitized  # a copy is checked again
    with pytest.raises(TypeError):
        Mention("feeds", "x", "t", NOW, sanitized=True)  # type: ignore[call-arg]
    assert safe == replace(safe_mention(raw, now=None), created_at=safe.created_at)  # no value differs
