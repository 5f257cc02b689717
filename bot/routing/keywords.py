"""Whole-word, case-insensitive keyword and phrase matching over Unicode text, indexed for speed.

Text and keywords are NFKC-normalized, case-folded and cut into words (runs of letters, digits
and underscore in any script). A keyword is a sequence of words and punctuation between words is
ignored: `e-book` matches "E-Book" and "e book" (not "ebook", which is one word), `#storytime`
matches "storytime". Scripts written without spaces (Chinese, Japanese, Thai) form long words;
use a `regex` condition for those.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"\w+")
# ASCII fast path: bytes that are not word characters become spaces, then split (4x findall's speed)
_ASCII_GAPS = bytes(b if chr(b).isalnum() or b == ord("_") else 32 for b in range(256))


def words(text: str) -> list[str]:
    """The normalized words of ``text``."""
    if text.isascii():  # NFKC and case folding reduce to lower() for ASCII
        return text.lower().encode("ascii").translate(_ASCII_GAPS).decode("ascii").split()
    out: list[str] = []
    for chunk in unicodedata.normalize("NFKC", text).casefold().split():
        if chunk.isalnum():  # the common case: a chunk that is one word (\w is alnum plus "_")
            out.append(chunk)
        else:
            out += _WORD.findall(chunk)
    return out


def phrase_key(keyword: str) -> str:
    """The normalized form of a keyword: its words joined by one space ('' if it has none)."""
    return " ".join(words(keyword))


def phrases_in(
    tokens: Sequence[str], singles: frozenset[str], firsts: dict[str, tuple[int, ...]]
) -> set[str]:
    """Every known phrase key that occurs in ``tokens``.

    Args:
        tokens: the text's words.
        singles: one-word keys.
        firsts: first word of each multi-word key -> the word counts of keys starting with it.
    """
    found = set(singles.intersection(tokens))
    if not firsts.keys().isdisjoint(tokens):
        for i, token in enumerate(tokens):
            for n in firsts.get(token, ()):
                found.add(" ".join(tokens[i : i + n]))
    return found


class KeywordIndex:
    """Which phrase keys occur in a text, for a fixed set of keys, in one pass over its words."""

    __slots__ = ("_firsts", "_keys", "_singles")

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = frozenset(k for k in keys if k)
        self._singles = frozenset(k for k in self._keys if " " not in k)
        firsts: dict[str, set[int]] = {}
        for key in self._keys:
            parts = key.split(" ")
            if len(parts) > 1:
                firsts.setdefault(parts[0], set()).add(len(parts))
        self._firsts = {first: tuple(sorted(ns)) for first, ns in firsts.items()}

    def found(self, text: str) -> set[str]:
        """The keys that occur in ``text`` as whole words (extra strings may appear; intersect)."""
        return phrases_in(words(text), self._singles, self._firsts)


_REFERS = re.compile(r"\\[1-9]|\(\?P[=<]|\(\?\(")


def gateable(pattern: re.Pattern[str]) -> bool:
    """True when ``pattern`` keeps its meaning inside an alternation with others of its flags.

    Group references (`\\1`, named groups, conditionals) would point at other groups once
    combined, a verbose pattern's comment could swallow the rest, and a global inline flag
    like `(?i)` is only allowed at the very start.
    """
    if pattern.flags & re.VERBOSE or _REFERS.search(pattern.pattern):
        return False
    try:
        re.compile(f"(?:{pattern.pattern})", pattern.flags)
    except re.error:
        return False
    return True


def gates(patterns: Iterable[re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    """One alternation per flag set; some gate matches somewhere iff one of ``patterns`` does.

    Lets the router rule out every regex rule with a few searches when none can match (an
    alternation under shared flags keeps the regex engine's fast paths; per-group flags do not).
    """
    by_flags: dict[int, list[str]] = {}
    for pattern in patterns:
        by_flags.setdefault(pattern.flags, []).append(f"(?:{pattern.pattern})")
    return tuple(re.compile("|".join(parts), flags) for flags, parts in by_flags.items())
