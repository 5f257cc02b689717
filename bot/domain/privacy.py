"""The privacy guard: what in a text must not be published (pure, simple, no backtracking traps).

Each detector is one linear regular expression over the first ``SCAN_LIMIT`` characters: library card
numbers by the library's own pattern (``CARD_NUMBER_PATTERN``), PINs, email addresses, phone numbers,
street addresses and loan details (fines owed, items overdue). They are deliberately simple: a hint
for staff, never a block. What they find is shown by kind only; the matched text is never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCAN_LIMIT = 20_000  # characters looked at; a post is far shorter, a hostile one is cut here

CARD, PIN, EMAIL, PHONE, ADDRESS, LOAN = (
    "a library card number",
    "a PIN",
    "an email address",
    "a phone number",
    "a street address",
    "loan details",
)
KINDS = (CARD, PIN, EMAIL, PHONE, ADDRESS, LOAN)

_PIN = re.compile(r"\b(?:PIN|passcode|password)\b[ \t:=#-]{0,4}(?:is[ \t]+)?\d{4,8}\b", re.IGNORECASE)
# the local part may not follow "@": a fediverse handle (@pat@example.social) is not an address
_EMAIL = re.compile(r"(?<![\w.+@-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
# whole numbers only: not part of a longer run of digits, a decimal or a timestamp (1700000123.000100)
_PHONE = re.compile(r"(?<![\w+:])(?<!\d[.,-])\+?\(?\d(?:[ .()-]{0,2}\d){6,14}(?![\w:]|[.,-]\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_STREET = r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Close|Terrace"
_ADDRESS = re.compile(rf"\b\d{{1,5}}[a-zA-Z]?,?[ \t]+(?:[A-Z][a-z']{{1,20}}[ \t]+){{1,3}}(?:{_STREET})\b")
_LOAN = re.compile(
    r"\b(?:fines?|fees?|owe[sd]?|overdue|charged)\b[^\n]{0,40}?[$£€][ \t]?\d"
    r"|\b\d{1,3}[ \t]+(?:overdue[ \t]+)?(?:books?|items?|loans?|DVDs?)[ \t]+(?:are[ \t]+|is[ \t]+)?"
    r"(?:overdue|due|checked[ \t]+out|on[ \t]+loan)\b",
    re.IGNORECASE,
)


def compile_card_pattern(pattern: str) -> re.Pattern[str] | None:
    """``CARD_NUMBER_PATTERN`` compiled; None when unset; ``ValueError`` (plain words) when unusable."""
    if not pattern.strip():
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from None
    if compiled.search("") is not None:
        raise ValueError("the pattern matches empty text; give the card number's shape, e.g. 2\\d{13}")
    return compiled


@dataclass(frozen=True, slots=True)
class PrivacyGuard:
    """Finds private data in a text. ``card`` is the library's card-number pattern (None: not checked)."""

    card: re.Pattern[str] | None = None

    def scan(self, text: str) -> tuple[str, ...]:
        """The kinds of private data in ``text`` (in ``KINDS`` order, each once); ``()`` when none."""
        text = text[:SCAN_LIMIT]
        found: set[str] = set()
        cards = [m.span() for m in self.card.finditer(text)] if self.card is not None else []
        if cards:
            found.add(CARD)
        if _PIN.search(text):
            found.add(PIN)
        if _EMAIL.search(text):
            found.add(EMAIL)
        for match in _PHONE.finditer(text):
            inside_card = any(a <= match.start() and match.end() <= b for a, b in cards)
            if not inside_card and not _DATE.fullmatch(match.group().strip("()")):
                found.add(PHONE)
                break
        if _ADDRESS.search(text):
            found.add(ADDRESS)
        if _LOAN.search(text):
            found.add(LOAN)
        return tuple(kind for kind in KINDS if kind in found)


def listed(kinds: tuple[str, ...]) -> str:
    """``a phone number and a PIN``: the kinds in plain words."""
    if len(kinds) <= 1:
        return "".join(kinds)
    return f"{', '.join(kinds[:-1])} and {kinds[-1]}"


def findings(guard: PrivacyGuard, *, reply: str, post: str) -> str:
    """What the guard found, for staff (``""`` when nothing): in the reply, and in the patron's post."""
    parts = []
    if mine := guard.scan(reply):
        parts.append(f"the reply contains {listed(mine)}")
    if theirs := guard.scan(post):
        parts.append(f"the patron's post contains {listed(theirs)}")
    return "; ".join(parts)
