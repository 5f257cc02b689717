"""Hostile-but-parseable platform values for Hypothesis, and the check that a parser's output is safe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from bot.domain.sanitize import EARLIEST, MAX_TEXT, is_unsafe_in_line
from bot.errors import MalformedPayload
from bot.models import Mention
from bot.store.mention_tables import MentionRow

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
TROUBLE = (
    "\x00", "\ud800", "\udfff", "\ud83d\ude00", "\u202e", "\u2066", "\u200f", "\n", "\r\n", "\t", "\x1b[2J",
    "\x85", "\u2028", "\ufffe", "\U0010ffff", "e\u0301", "👩\u200d👩\u200d👧", "@room", "<@U123>",
    "<!channel>", "&#xD800;", "&amp;", "<b>", "https://evil.example/\n", "\\u0000",
)  # fmt: skip
BAD_TIMES = (
    "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "", "yesterday", "2026-11-23T13:00:00",
    "2026-11-23T13:00:00Z",
)  # fmt: skip
ONE_LINE = ("external_id", "author_id", "author_handle", "author_name", "lang", "content_warning", "note")


def hostile_text(max_size: int = 30) -> st.SearchStrategy[str]:
    """Ordinary text, any code point (surrogates included) and known troublemakers, mixed."""
    piece = st.one_of(st.text(max_size=6), st.sampled_from(TROUBLE), st.integers(0, 0x10FFFF).map(chr))
    return st.lists(piece, max_size=max_size).map("".join)


def field_text() -> st.SearchStrategy[str]:
    """A text field: usually short and hostile, sometimes far past any column."""
    long = st.tuples(hostile_text(6), st.integers(513, 3_000)).map(lambda t: (t[0] or "Ā") * t[1])
    return st.one_of(hostile_text(), hostile_text(), long)


NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63, 2**64 + 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, hostile_text())
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text(6), inner, max_size=4)),
    max_leaves=12,
)
TIMES = st.one_of(st.sampled_from(BAD_TIMES), st.datetimes().map(lambda d: d.isoformat() + "Z"), JSON)


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape, sometimes anything at all (a wrong type, a null, a nested mess)."""
    return st.one_of(good, good, good, JSON)


@st.composite
def shaped(draw: st.DrawFn, shape: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """A dict in a platform's shape with some keys dropped and each value possibly the wrong type."""
    keys = draw(st.sets(st.sampled_from(sorted(shape)), max_size=2)) if shape else set()
    return {key: draw(maybe(strategy)) for key, strategy in shape.items() if key not in keys}


def deep_json(depth: int = 30_000) -> str:
    """JSON nested deeper than the interpreter's stack (a RecursionError in ``json.loads``)."""
    return "[" * depth + "]" * depth


def assert_safe(mention: Mention, *, now: datetime = NOW) -> None:
    """Everything ``domain.sanitize`` promises about a mention it returned."""
    for f in fields(Mention):
        value = getattr(mention, f.name)
        if isinstance(value, str):
            assert "\x00" not in value, f.name
            assert not any("\ud800" <= ch <= "\udfff" for ch in value), f.name
            value.encode("utf-8")
    for name in ONE_LINE:
        assert not any(is_unsafe_in_line(ch) for ch in getattr(mention, name) or ""), name
    if mention.url is not None:
        assert mention.url.startswith(("http://", "https://"))
        assert not any(is_unsafe_in_line(ch) or ch.isspace() for ch in mention.url)
    columns = MentionRow.__table__.columns
    for name in ("source", "external_id", "author_id", "author_handle", "author_name", "lang"):
        assert len(getattr(mention, name) or "") <= columns[name].type.length, name
    assert len(mention.text) <= MAX_TEXT
    assert mention.created_at.tzinfo is not None
    assert EARLIEST <= mention.created_at <= now + timedelta(days=1)


def parsed_or_refused(call: Callable[[], Any], *refusals: type[Exception]) -> Any:
    """Run a parser: a result, or None when it refused with a classified (domain) error."""
    try:
        return call()
    except (MalformedPayload, *refusals):
        return None
