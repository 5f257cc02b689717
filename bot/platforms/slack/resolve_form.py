"""The Resolve with READ form: the READ Scale level and whether the question was directional."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.platforms.slack.card_forms import card_modal, read_card_meta

RESOLVE_VIEW = "pd_resolve_form"
READ_BLOCK, KIND_BLOCK = "pd_read", "pd_kind"
READ_LABELS = {
    1: "1 · directions, hours, a quick answer",
    2: "2 · a little looking up",
    3: "3 · some searching, a few sources",
    4: "4 · real research help",
    5: "5 · substantial, several sources",
    6: "6 · in-depth, specialist work",
}
KIND_LABELS = {"reference": "Reference question", "directional": "Directional (where, when, how to find)"}


def resolve_view(mention_id: int, *, channel: str) -> dict[str, Any]:
    """Resolve with the READ Scale level and whether it was a reference or a directional question."""
    levels = [Option(value=str(n), text=PlainTextObject(text=label)) for n, label in READ_LABELS.items()]
    kinds = [Option(value=key, text=PlainTextObject(text=label)) for key, label in KIND_LABELS.items()]
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(text=f"Resolve *#{mention_id}* and count it for the statistics.")
        ),
        InputBlock(
            block_id=READ_BLOCK,
            label="READ Scale",
            element=StaticSelectElement(action_id="read", options=levels, placeholder="Effort 1-6"),
            optional=True,
        ),
        InputBlock(
            block_id=KIND_BLOCK,
            label="Kind of question",
            element=RadioButtonsElement(action_id="kind", options=kinds),
            optional=True,
        ),
    ]
    return card_modal(RESOLVE_VIEW, "Resolve", mention_id, channel, blocks)


@dataclass(frozen=True, slots=True)
class ResolveChoice:
    """A checked Resolve submission."""

    mention_id: int
    channel: str
    read_level: int | None
    directional: bool | None


def read_resolve(view: dict[str, Any]) -> tuple[ResolveChoice | None, dict[str, str]]:
    """The Resolve submission, or errors keyed by block id (a level outside 1-6 is refused)."""
    data = read_card_meta(view)
    if data is None:
        return None, {READ_BLOCK: "This form is out of date; close it and press Resolve with READ again."}
    values = (view.get("state") or {}).get("values") or {}
    level_raw = (((values.get(READ_BLOCK) or {}).get("read") or {}).get("selected_option") or {}).get("value")
    kind_raw = (((values.get(KIND_BLOCK) or {}).get("kind") or {}).get("selected_option") or {}).get("value")
    level: int | None = None
    if level_raw is not None:
        if str(level_raw) not in {str(n) for n in READ_LABELS}:
            return None, {READ_BLOCK: "The READ Scale goes from 1 to 6."}
        level = int(str(level_raw))
    directional: bool | None = None
    if kind_raw is not None:
        if kind_raw not in KIND_LABELS:
            return None, {KIND_BLOCK: "Choose reference or directional."}
        directional = kind_raw == "directional"
    return ResolveChoice(data["m"], data["c"], level, directional), {}
