"""Patron text made harmless for Matrix: no pings, no pills, no bidi tricks, cut on grapheme boundaries."""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

import grapheme

TEXT_LIMIT = 1_500  # code points of patron text on a card; the link leads to the full post
REPLY_LIMIT = 800  # the staff reply as shown on the card
NOTE_LIMIT = 300
SHORT_LIMIT = 200  # names, handles, rule and role labels
URL_LIMIT = 1_000

_WORD_JOINER = "\u2060"
_FSI, _PDI = "\u2068", "\u2069"
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MXID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")


def cut(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` code points plus an ellipsis, never splitting a grapheme."""
    if len(text) <= limit:
        return text
    return text[: grapheme.safe_split_index(text, limit)] + "…"


def clean(text: str, limit: int = TEXT_LIMIT) -> str:
    """Make untrusted text inert: no bidi overrides, no control characters, no pings, bounded size.

    Every ``@`` gets a word joiner after it, so ``@room``, ``@alice:example.org`` and
    ``matrix.to/#/@alice`` links can neither ping nor become pills.
    """
    text = _BIDI_CONTROLS.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return cut(text, limit).replace("@", "@" + _WORD_JOINER)


def _isolated(text: str) -> str:
    """Wrap patron text in a bidi isolate so right-to-left text cannot reorder the card around it."""
    return f"{_FSI}{text}{_PDI}" if text else text


def _esc(text: str, limit: int = SHORT_LIMIT) -> str:
    """Cleaned, isolated and HTML-escaped untrusted text (newlines become <br>)."""
    return html.escape(_isolated(clean(text, limit)), quote=False).replace("\n", "<br>")


def _plain(text: str, limit: int = SHORT_LIMIT) -> str:
    return _isolated(clean(text, limit))


def _line(text: str, limit: int = SHORT_LIMIT) -> str:
    """Like ``_plain`` but on one line: a newline in a name must not print a fake card line."""
    return _isolated(" ".join(clean(text, limit).split()))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that is safe to link (not a matrix.to user link, which would render as a pill)."""
    if not url or len(url) > URL_LIMIT:
        return None
    url = url.strip()
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in url):
        return None  # a newline or U+202E would print fake lines or reorder the plain-text body
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if parts.netloc.lower() == "matrix.to" and parts.fragment.lower().startswith(("/@", "/%40")):
        return None
    return url


def is_user_id(value: str) -> bool:
    """Whether ``value`` looks like a Matrix user id (safe to put in a pill and in m.mentions)."""
    return bool(_MXID.match(value))
