"""The summary-card command every desk understands, under its desk command: ``/desk fold N`` on Slack,
``!desk fold N`` on Matrix, ``desk fold N`` on the console; then ``list [page]``, ``claim`` or ``handled``
(pure)."""

from __future__ import annotations

from bot.models import MAX_ID, FoldAction, StaffRef

USAGE = (
    "Use `{p}desk fold N` to list summary card N, `{p}desk fold N claim` or `{p}desk fold N handled`"
    " for all its items."
)
_VERBS = {"": "list", "list": "list", "claim": "claim", "handled": "resolve", "resolve": "resolve"}


def parse_fold(actor: StaffRef, text: str, *, prefix: str = "") -> FoldAction | str:
    """``N [list [page] | claim | handled]`` (after the command word) as a ``FoldAction``, or why not."""
    words = text.split()
    usage = USAGE.format(p=prefix)
    if not words or len(words) > 3:
        return usage
    digits = words[0].lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10 or not 0 < int(digits) <= MAX_ID:
        return f"There is no summary card {words[0][:12]!r}. {usage}"
    verb = _VERBS.get(words[1].lower() if len(words) > 1 else "")
    if verb is None:
        return usage
    page = 1
    if len(words) == 3:
        if verb != "list" or not (words[2].isascii() and words[2].isdigit()) or len(words[2]) > 6:
            return usage
        page = max(int(words[2]), 1)
    return FoldAction(int(digits), actor, verb, page - 1)  # type: ignore[arg-type]


def fold_command(fold_id: int, verb: str = "", *, prefix: str = "") -> str:
    """How staff type the command on a desk, e.g. ``!desk fold 12 claim``."""
    return f"{prefix}desk fold {fold_id}{' ' + verb if verb else ''}"
