"""Pure building and reading of two small card forms: Reject (a held reply) with an optional reason
for its writer, and Snooze until a time the staff member picks (a date and a time, or typed words
such as ``3d`` or ``friday 14:00``). The service reads the time in the zone of the card's role (its
branch's, else the library's) and refuses a past or too distant one; its words come back into the
form as the error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
    TimePickerElement,
)

from bot.core.approval import REASON_LIMIT
from bot.platforms.slack.card_forms import card_modal, read_card_meta
from bot.platforms.slack.escaping import safe_text

REJECT_VIEW, SNOOZE_VIEW = "pd_reject_form", "pd_snooze_form"
REASON_BLOCK, DATE_BLOCK, TIME_BLOCK, WHEN_BLOCK = "pd_reason", "pd_snooze_date", "pd_snooze_time", "pd_when"
WHEN_LIMIT = 40
_DATE, _TIME = re.compile(r"^\d{4}-\d{2}-\d{2}$"), re.compile(r"^\d{2}:\d{2}$")


def reject_view(mention_id: int, *, channel: str) -> dict[str, Any]:
    """Reject a held reply, with a reason its writer is told (optional)."""
    reason = PlainTextInputElement(
        action_id="reason", multiline=True, max_length=REASON_LIMIT, placeholder="e.g. too curt; offer a call"
    )
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"The reply to *#{mention_id}* goes back to its writer unpublished. "
                "They are told your reason."
            )
        ),
        InputBlock(block_id=REASON_BLOCK, label="Reason for the writer", element=reason, optional=True),
    ]
    return card_modal(REJECT_VIEW, "Reject", mention_id, channel, blocks)


def snooze_view(mention_id: int, *, channel: str, branch: str = "") -> dict[str, Any]:
    """Snooze until a date and time (the card's branch's time, else the library's), or until typed
    words say."""
    where = f"{safe_text(branch, 80)} time" if branch else "the library's time"
    when = PlainTextInputElement(action_id="when", max_length=WHEN_LIMIT, placeholder="e.g. 3d, friday 14:00")
    day, clock = DatePickerElement(action_id="date"), TimePickerElement(action_id="time")
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Set *#{mention_id}* aside until a time ({where}). "
                "It wakes earlier if the patron writes again."
            )
        ),
        InputBlock(block_id=DATE_BLOCK, label="Day", element=day, optional=True),
        InputBlock(block_id=TIME_BLOCK, label="Time (09:00 if none)", element=clock, optional=True),
        InputBlock(block_id=WHEN_BLOCK, label="Or type it", element=when, optional=True),
    ]
    return card_modal(SNOOZE_VIEW, "Snooze", mention_id, channel, blocks)


@dataclass(frozen=True, slots=True)
class CardChoice:
    """A checked submission of one of these forms: the card, its channel, and the words typed."""

    mention_id: int
    channel: str
    text: str  # the reason (Reject) or the snooze time as the service reads it (Snooze)
    block: str = REASON_BLOCK  # where the service's refusal shows in the form


def _value(view: dict[str, Any], block: str, action: str, key: str) -> str:
    """One typed or picked value ("" when missing or of another shape: a forged submission)."""
    found: Any = view
    for step in ("state", "values", block, action, key):
        found = found.get(step) if isinstance(found, dict) else None
    return found.strip() if isinstance(found, str) else ""


def read_reject(view: dict[str, Any]) -> tuple[CardChoice | None, dict[str, str]]:
    """The Reject submission, or errors keyed by block id."""
    data = read_card_meta(view)
    if data is None:
        return None, {REASON_BLOCK: "This form is out of date; close it and press Reject again."}
    reason = _value(view, REASON_BLOCK, "reason", "value")
    if len(reason) > REASON_LIMIT:
        return None, {REASON_BLOCK: f"The reason is {len(reason)} characters; the limit is {REASON_LIMIT}."}
    return CardChoice(data["m"], data["c"], reason), {}


def read_snooze(view: dict[str, Any]) -> tuple[CardChoice | None, dict[str, str]]:
    """The Snooze submission as words the service reads (``2026-12-08 14:30``, ``3d``), or errors."""
    data = read_card_meta(view)
    if data is None:
        return None, {WHEN_BLOCK: "This form is out of date; close it and press Snooze until… again."}
    day = _value(view, DATE_BLOCK, "date", "selected_date")
    clock = _value(view, TIME_BLOCK, "time", "selected_time")
    typed = " ".join(_value(view, WHEN_BLOCK, "when", "value").split())[:WHEN_LIMIT]
    if typed and (day or clock):
        return None, {WHEN_BLOCK: "Pick a day and time or type one, not both."}
    if (day and not _DATE.match(day)) or (clock and not _TIME.match(clock)):
        return None, {DATE_BLOCK: "Pick the day and the time again."}
    if not (typed or day or clock):
        return None, {WHEN_BLOCK: "Pick a day or a time, or type one (e.g. 3d or friday 14:00)."}
    if typed:
        return CardChoice(data["m"], data["c"], typed, WHEN_BLOCK), {}
    picked = f"{day} {clock or '09:00'}" if day else clock  # a time alone: its next occurrence
    return CardChoice(data["m"], data["c"], picked, DATE_BLOCK), {}
