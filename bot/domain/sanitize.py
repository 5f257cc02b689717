"""The one boundary that makes any platform field safe to store and to show (DESIGN §2, invariant 9).

Pure: stdlib and ``grapheme`` only, and time is a parameter. Every source hands its ``Mention``
to ``safe_mention``, which marks what it returns (``Mention.sanitized``); the service sanitizes
any mention without that mark before storing. Nothing here refuses a patron's post: odd metadata
is repaired, and a replaced time is marked in the mention's note.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import grapheme

from bot.models import Mention, MentionChange

# Column sizes of ``mentions`` (bot/store/mention_tables.py); Text columns get a cap of their own.
MAX_SOURCE = 32
MAX_EXTERNAL_ID = 512
MAX_AUTHOR = 512
MAX_LANG = 32
MAX_URL = 4096
MAX_TEXT = 40_000
MAX_WARNING = 2_000
MAX_REPLY_REF = 16_384
MAX_NOTE = 1_000
MAX_FOLLOWS = 50  # earlier posts a follow-up may name (an e-mail's References)
MAX_FULL_TEXT = 200_000

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
# A parser that cannot read a time says so with this value; ``safe_mention`` replaces it.
UNKNOWN_TIME = datetime(1, 1, 1, tzinfo=UTC)
TIME_NOTE = "The time given by the platform was not valid; this is when the desk received it."

# Bidi embeddings, overrides, isolates and marks: they reorder what a reader sees around them.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Regular expressions rather than per-character Python loops: this runs on every mention.
_SURROGATES = re.compile("[\ud800-\udfff]")
_NONCHARACTERS = re.compile(
    "[\ufdd0-\ufdef"
    + "".join(f"{chr(p | 0xFFFE)}{chr(p | 0xFFFF)}" for p in range(0, 0x110000, 0x10000))
    + "]"
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Cc except tab and newline
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]")
_SPACES = re.compile(r"\s+")
_URL_UNSAFE = re.compile(r"\s|" + _LINE_BREAKERS.pattern)
_HASHED = "sha256:"


def storable(value: str) -> str:
    """NUL and unpaired surrogates removed (a valid pair is joined), noncharacters replaced by U+FFFD."""
    if _SURROGATES.search(value):
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    return _NONCHARACTERS.sub("\ufffd", value.replace("\x00", ""))


def cut(value: str, limit: int) -> str:
    """At most ``limit`` code points, cut on a grapheme boundary (never inside an emoji or accent)."""
    if len(value) <= limit:
        return value
    index = grapheme.safe_split_index(value, limit)
    return value[:index]


def is_unsafe_in_line(ch: str) -> bool:
    """Whether ``ch`` could break a one-line field: controls, line breaks, bidi controls."""
    return _LINE_BREAKERS.fullmatch(ch) is not None


def one_line(value: str, limit: int = MAX_AUTHOR) -> str:
    """A name, handle or id: storable, no control or bidi character, runs of space as one, cut."""
    value = _LINE_BREAKERS.sub(" ", storable(value))
    return cut(_SPACES.sub(" ", value).strip(), limit).rstrip()  # no trailing space from the cut


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """Multi-line patron text: storable, CR/LF as newlines, other controls replaced, cut."""
    value = storable(value).replace("\r\n", "\n").replace("\r", "\n")
    return cut(_CONTROLS.sub("\ufffd", value), limit)


def safe_url(value: str | None, limit: int = MAX_URL) -> str | None:
    """An absolute http(s) URL on one line (unsafe characters percent-encoded), or None."""
    if not value:
        return None
    value = storable(value).strip()
    value = _URL_UNSAFE.sub(lambda match: quote(match.group(0), safe=""), value)
    if len(value) > limit:
        return None  # a cut URL points somewhere else: better no link than a wrong one
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def safe_id(value: str, limit: int = MAX_EXTERNAL_ID) -> str:
    """An id on one line; a longer one becomes its hash (a cut id could collide with another)."""
    cleaned = one_line(value, limit=len(value) + 1)
    if len(cleaned) <= limit:
        return cleaned
    return _HASHED + hashlib.sha256(cleaned.encode("utf-8")).hexdigest()


def safe_datetime(value: object, *, now: datetime) -> datetime | None:
    """``value`` as aware UTC when it is a sane time (2000 to ``now`` + a day), else None."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        return None
    try:
        when = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if when < EARLIEST or when > now.astimezone(UTC) + FUTURE_SLACK:
        return None
    return when


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 time (``Z``, any fraction) as aware UTC; None when unreadable.

    A time without a zone is taken as UTC. Never raises: a year 9999 with a negative offset
    overflows when converted, and that is an unreadable time like any other.
    """
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip().replace("z", "Z"))
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def from_unix(seconds: object) -> datetime | None:
    """Unix seconds (int, float or numeric string) as aware UTC; None when absent or out of range."""
    if isinstance(seconds, bool):
        return None
    if isinstance(seconds, str):
        try:
            seconds = float(seconds) if len(seconds) <= 32 else None
        except ValueError:
            return None
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or not 0 <= seconds <= 1e11:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def safe_int(value: object, *, low: int, high: int) -> int | None:
    """An integer (not a bool) within ``low..high``, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def with_note(note: str, extra: str) -> str:
    """Append ``extra`` to a card note once."""
    if extra in note:
        return note
    return cut(f"{note} {extra}".strip(), MAX_NOTE)


def safe_mention(mention: Mention, *, now: datetime | None) -> Mention:
    """The same mention with every field storable, within its column and safe to render.

    Idempotent. A time outside 2000..now+1 day (or unreadable, see ``UNKNOWN_TIME``) becomes
    ``now`` and the note says so. ``now=None`` (a parser called without a clock) leaves the time
    to the service, which always passes one before storing.
    """
    created: datetime | None = mention.created_at
    note = one_line(mention.note, MAX_NOTE)
    if now is not None:
        created = safe_datetime(mention.created_at, now=now)
        if created is None:
            created, note = now.astimezone(UTC), with_note(note, TIME_NOTE)
    reply_ref = storable(mention.reply_ref)
    can_reply = mention.can_reply
    if len(reply_ref) > MAX_REPLY_REF:  # cutting would corrupt it: keep the post, lose the reply path
        reply_ref, can_reply = "", False
    lang = one_line(mention.lang or "", MAX_LANG) or None
    safe = replace(
        mention,
        source=one_line(mention.source, MAX_SOURCE),
        external_id=safe_id(mention.external_id),
        text=clean_text(mention.text),
        created_at=created or mention.created_at,
        url=safe_url(mention.url),
        author_id=safe_id(mention.author_id, MAX_AUTHOR),
        author_handle=one_line(mention.author_handle, MAX_AUTHOR),
        author_name=one_line(mention.author_name, MAX_AUTHOR),
        lang=lang,
        content_warning=one_line(mention.content_warning, MAX_WARNING),
        can_reply=can_reply,
        reply_ref=reply_ref,
        note=note,
        follows=tuple(safe_id(ref) for ref in mention.follows[:MAX_FOLLOWS] if ref),
        full_text=clean_text(mention.full_text, MAX_FULL_TEXT),
    )
    if now is not None:  # every field checked, the time too: ingest need not do it again
        object.__setattr__(safe, "sanitized", True)
    return safe


def safe_change(change: MentionChange) -> MentionChange:
    """An edit or withdrawal with the same repairs, so it finds the mention stored under its safe id."""
    return replace(
        change,
        source=one_line(change.source, MAX_SOURCE),
        external_id=safe_id(change.external_id),
        sender=one_line(change.sender, MAX_AUTHOR),
        text=clean_text(change.text),
    )
