"""The ids of the desk's buttons and the JSON values they carry (exact ids; arguments in the value)."""

from __future__ import annotations

import json
from typing import Any

from bot.models import MAX_ID

CLAIM, REPLY, RESOLVE, RELEASE, REASSIGN, IGNORE, OPEN = (
    "pd_claim",
    "pd_reply",
    "pd_resolve",
    "pd_release",
    "pd_reassign",
    "pd_ignore",
    "pd_open",
)
SNOOZE, WAKE, APPROVE, REJECT, EDIT = "pd_snooze", "pd_wake", "pd_approve", "pd_reject", "pd_edit"
# each snooze button has its own action id (unique in the block); the time is the id's, not the value's
SNOOZES = {
    SNOOZE: ("Wait for patron", "patron"),
    "pd_snooze_2h": ("Snooze 2h", "2h"),
    "pd_snooze_morning": ("Snooze till 9:00", "tomorrow 09:00"),
}
SNOOZE_AT = "pd_snooze_at"  # "Snooze until…": a form with a day and a time, or typed words
NOTE, RESOLVE_READ = "pd_note", "pd_resolve_read"  # the Note & tags form, the Resolve-with-READ form
ACTION_IDS = (
    CLAIM,
    REPLY,
    RESOLVE,
    RELEASE,
    REASSIGN,
    IGNORE,
    OPEN,
    *SNOOZES,
    SNOOZE_AT,
    WAKE,
    APPROVE,
    EDIT,
    REJECT,
    NOTE,
    RESOLVE_READ,
)

DIGEST_PAGE = "pd_digest_page"
FOLD_LIST, FOLD_CLAIM, FOLD_RESOLVE = "pd_fold_list", "pd_fold_claim", "pd_fold_resolve"
FOLD_VERBS = {FOLD_LIST: "list", FOLD_CLAIM: "claim", FOLD_RESOLVE: "resolve"}
CARD_EVENT = "patron_desk_card"


def button_value(mention_id: int, **extra: str) -> str:
    """The JSON value every button carries: ``{"m": mention_id, ...}``."""
    return json.dumps({"m": mention_id, **extra}, separators=(",", ":"))


def parse_button_value(value: str | None) -> dict[str, Any] | None:
    """The button's JSON value, or None when it is not ours (no integer ``m`` in 1..MAX_ID)."""
    data = _json_object(value, limit=2000)  # Slack caps a button value at 2,000
    if data is None or type(data.get("m")) is not int or not 0 < data["m"] <= MAX_ID:
        return None
    return data


def parse_fold_value(value: str | None) -> int | None:
    """The summary card a fold button is about, or None when the value is not ours."""
    fold = (_json_object(value, limit=100) or {}).get("f")
    return fold if type(fold) is int and 0 < fold <= MAX_ID else None


def parse_digest_page(value: str | None) -> int | None:
    """The page a digest's ‹ › button asks for, or None when the value is not ours."""
    page = (_json_object(value, limit=100) or {}).get("page")
    return page if type(page) is int and 0 <= page < 1_000_000 else None


def _json_object(value: str | None, *, limit: int) -> dict[str, Any] | None:
    """A button value of at most ``limit`` characters as a JSON object, or None."""
    if not isinstance(value, str) or len(value) > limit:
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
