"""The Reassign form: hand a card to another role or to one person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
    UserSelectElement,
)

from bot.platforms.slack.card_forms import card_modal
from bot.platforms.slack.reply_draft import parse_metadata

REASSIGN_VIEW = "pd_reassign"
ROLE_BLOCK, PERSON_BLOCK = "pd_role", "pd_person"


def reassign_view(mention_id: int, *, channel: str) -> dict[str, Any]:
    """Reassign to a role (by its key) or to a person (a Slack user)."""
    role = PlainTextInputElement(action_id="role", max_length=100, placeholder="e.g. reference")
    person = UserSelectElement(action_id="person", placeholder="Pick a colleague")
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(text=f"Hand *#{mention_id}* to another role *or* to one person.")
        ),
        InputBlock(block_id=ROLE_BLOCK, label="Role", element=role, optional=True),
        InputBlock(block_id=PERSON_BLOCK, label="Person", element=person, optional=True),
    ]
    return card_modal(REASSIGN_VIEW, "Reassign", mention_id, channel, blocks)


@dataclass(frozen=True, slots=True)
class ReassignChoice:
    """A checked Reassign submission: exactly one of ``role`` and ``person`` (``<@U…>``)."""

    mention_id: int
    channel: str
    role: str | None
    person: str | None


def read_reassign(view: dict[str, Any]) -> tuple[ReassignChoice | None, dict[str, str]]:
    """The Reassign submission, or errors keyed by block id."""
    draft = parse_metadata(view.get("private_metadata"))
    if draft is None:
        return None, {ROLE_BLOCK: "This form is out of date; close it and press Reassign again."}
    values = (view.get("state") or {}).get("values") or {}
    role = str(((values.get(ROLE_BLOCK) or {}).get("role") or {}).get("value") or "").strip()
    user = str(((values.get(PERSON_BLOCK) or {}).get("person") or {}).get("selected_user") or "").strip()
    if bool(role) == bool(user):
        return None, {ROLE_BLOCK: "Give a role or pick a person (one of the two)."}
    person = f"<@{user}>" if user else None
    return ReassignChoice(draft.mention_id, draft.channel, role or None, person), {}
