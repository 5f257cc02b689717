"""The Note & tags form: an internal note and the card's tags from the rules file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.notes import NOTE_LIMIT
from bot.platforms.slack.card_forms import read_card_meta
from bot.platforms.slack.reply_draft import METADATA_LIMIT

NOTE_VIEW = "pd_note_form"
NOTE_BLOCK, TAGS_BLOCK = "pd_note_text", "pd_tags"


def note_view(
    mention_id: int, *, channel: str, tags: tuple[str, ...], current: tuple[str, ...]
) -> dict[str, Any]:
    """An internal note (optional) and the card's tags (a multi-select of the rules file's tags)."""
    text = PlainTextInputElement(
        action_id="text", multiline=True, max_length=NOTE_LIMIT, placeholder="Seen only by staff"
    )
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*#{mention_id}*: a note is shown on the card for staff and never sent to the patron."
            )
        ),
        InputBlock(block_id=NOTE_BLOCK, label="Internal note", element=text, optional=True),
    ]
    shown = tags[:100]  # Slack's limit of options in a select
    if shown:
        options = [Option(value=tag, text=PlainTextObject(text=tag[:75])) for tag in shown]
        initial = [o for o in options if o.value in current] or None
        select = StaticMultiSelectElement(
            action_id="tags", options=options, initial_options=initial, placeholder="Choose tags"
        )
        blocks.append(InputBlock(block_id=TAGS_BLOCK, label="Tags", element=select, optional=True))
    known = [t for t in current if t in shown]
    meta = json.dumps({"m": mention_id, "c": channel, "t": known}, separators=(",", ":"))
    view = View(
        type="modal",
        callback_id=NOTE_VIEW,
        title=f"Note & tags #{mention_id}"[:24],
        submit="Save",
        close="Cancel",
        blocks=blocks,
        private_metadata=meta[:METADATA_LIMIT],
    )
    return view.to_dict()


@dataclass(frozen=True, slots=True)
class NoteChoice:
    """A checked Note & tags submission: the note ("" for none) and the tags to add and to take off."""

    mention_id: int
    channel: str
    text: str
    add: tuple[str, ...]
    remove: tuple[str, ...]


def read_note(view: dict[str, Any]) -> tuple[NoteChoice | None, dict[str, str]]:
    """The Note & tags submission, or errors keyed by block id (a forged one says so, changes nothing)."""
    data = read_card_meta(view)
    if data is None:
        return None, {NOTE_BLOCK: "This form is out of date; close it and press Note & tags again."}
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get(NOTE_BLOCK) or {}).get("text") or {}).get("value") or "").strip()
    if len(text) > NOTE_LIMIT:
        return None, {NOTE_BLOCK: f"The note is {len(text)} characters; the limit is {NOTE_LIMIT}."}
    before = data.get("t")
    before = [t for t in before if isinstance(t, str)] if isinstance(before, list) else []
    chosen: list[str] = []
    if TAGS_BLOCK in values:
        picked = ((values.get(TAGS_BLOCK) or {}).get("tags") or {}).get("selected_options") or []
        chosen = [str(o.get("value", ""))[:64] for o in picked if isinstance(o, dict)][:100]
    else:
        chosen = before  # no tags offered: none changed
    add = tuple(t for t in chosen if t not in before)
    remove = tuple(t for t in before if t not in chosen)
    if not text and not add and not remove:
        return None, {NOTE_BLOCK: "Write a note or change the tags (or press Cancel)."}
    return NoteChoice(data["m"], data["c"], text, add, remove), {}
