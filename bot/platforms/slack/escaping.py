"""Patron text made harmless for Slack, and cut to Slack's limits.

Patron text is escaped (``& < >``), cannot ping (``<!channel>``, ``@here``, ``<@U…>``, link labels),
has bidi overrides and control characters replaced, and is cut on grapheme boundaries so every block
stays under Slack's limits, counted in UTF-16 code units (never fewer than Slack counts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import grapheme

from bot.models import StaffRef

ELLIPSIS = "…"


_REPLACE = {cp: "\ufffd" for cp in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_REPLACE |= {cp: "\ufffd" for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_REPLACE |= {ord("\n"): "\n", ord("\t"): " ", 0x2028: "\n", 0x2029: "\n"}
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone|group)\b)", re.IGNORECASE)
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
# no whitespace, controls or bidi controls: a link must not print fake lines or reorder the card
_URL = re.compile(
    r"^https?://[^\s<>|\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{1,2900}$"
)


def utf16_len(text: str) -> int:
    """Length as Slack's limits count it (UTF-16 code units), never less than the code points."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def safe_text(text: str, limit: int, *, mrkdwn: bool = True) -> str:
    """Untrusted (patron) text made safe for Slack and cut to ``limit`` UTF-16 units.

    Control and bidi-override characters become U+FFFD, broadcast words get a zero-width space after
    the ``@``, ``& < >`` are escaped for mrkdwn (plain text has no markup to escape), and a cut falls
    on a grapheme boundary and ends with an ellipsis.
    """
    head = text[: limit + 2]  # each code point costs >= 1 unit, so this is enough to decide
    complete = len(head) == len(text)
    head = _BROADCAST.sub("@\u200b", head.translate(_REPLACE))
    pieces = (_escape(c) if mrkdwn else c for c in grapheme.graphemes(head))
    return _take(pieces, limit, complete=complete)


def fit(text: str, limit: int) -> str:
    """Our own markup cut to ``limit`` units on a grapheme boundary (a guard; budgets avoid it)."""
    if utf16_len(text) <= limit:
        return text
    return _take(grapheme.graphemes(text[: limit + 2]), limit, complete=False)


def _escape(cluster: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in cluster)


def _take(pieces: Iterable[str], limit: int, *, complete: bool) -> str:
    budget, used, fits_at = limit - len(ELLIPSIS), 0, 0
    out: list[str] = []
    for piece in pieces:
        used += utf16_len(piece)
        if used > limit:
            return "".join(out[:fits_at]) + ELLIPSIS
        out.append(piece)
        if used <= budget:
            fits_at = len(out)
    return "".join(out) if complete else "".join(out[:fits_at]) + ELLIPSIS


def safe_url(url: str | None, *, limit: int = 1500) -> str | None:
    """An http(s) URL that cannot break out of ``<url|label>`` markup (escaped for it), or None."""
    if not url or len(url) > limit or not _URL.match(url):
        return None
    return url.replace("&", "&amp;")


def staff_mention(ref: StaffRef) -> str | None:
    """``<@U…>`` for a Slack staff identity (trusted, from the staff table); None for others."""
    if ref.desk == "slack" and _SLACK_USER.match(ref.user_id):
        return f"<@{ref.user_id}>"
    return None


def people(names: Sequence[str], refs: Sequence[StaffRef], *, most: int = 8) -> str:
    """Staff names, with a ping for those the staff table links to a Slack user."""
    by_name = {ref.display: staff_mention(ref) for ref in refs if staff_mention(ref)}
    shown = [by_name.get(name) or safe_text(name, 80) for name in names[:most]]
    if len(names) > most:
        shown.append(f"{len(names) - most} more")
    return ", ".join(shown) or "nobody"


def notice_text(message: str, extra: Sequence[str] = (), *, limit: int = 3900) -> str:
    """An answer for one staff member (ephemeral): the service's words, made safe and cut."""
    lines = [message, *extra]
    return safe_text("\n".join(line for line in lines if line), limit) or "Done."
