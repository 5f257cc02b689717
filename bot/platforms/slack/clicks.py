"""A button press read from a Slack payload, and the staff action a plain button stands for (pure)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bot.models import (
    Approve,
    Claim,
    Ignore,
    Release,
    Reply,
    Resolve,
    Snooze,
    StaffAction,
    StaffRef,
    Visibility,
    Wake,
)
from bot.platforms.slack.buttons import APPROVE, CLAIM, IGNORE, RELEASE, RESOLVE, SNOOZES, WAKE
from bot.platforms.slack.buttons import parse_button_value as parse_value
from bot.platforms.slack.reply_draft import ReplyDraft

SIMPLE: dict[str, type[Claim | Release | Resolve | Ignore]] = {
    CLAIM: Claim,
    RELEASE: Release,
    RESOLVE: Resolve,
    IGNORE: Ignore,
}


def set_aside_action(click: Click) -> StaffAction | None:
    """Snooze (until the button's time), wake or approve; None for any other button (Reject and
    Snooze until… open a form first)."""
    if click.action_id in SNOOZES:
        return Snooze(click.mention_id, click.actor, SNOOZES[click.action_id][1])
    kinds: dict[str, type[Wake | Approve]] = {WAKE: Wake, APPROVE: Approve}
    kind = kinds.get(click.action_id)
    return kind(click.mention_id, click.actor) if kind else None


REPLY_HAS_VISIBILITY = "visibility" in {f.name for f in dataclasses.fields(Reply)}


@dataclass(frozen=True, slots=True)
class Click:
    """One button press on a card: who, which action, which mention, where."""

    actor: StaffRef
    action_id: str
    mention_id: int
    value: dict[str, Any]
    channel: str
    trigger_id: str


def parse_actor(user: dict[str, Any]) -> StaffRef:
    """The staff member in an interaction payload's ``user``."""
    return StaffRef("slack", str(user.get("id", "")), str(user.get("name") or user.get("username") or ""))


def parse_click(body: dict[str, Any]) -> Click | None:
    """A ``block_actions`` payload as a Click; None when it is not one of our buttons."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    if not isinstance(body.get("user"), dict):
        return None
    value = parse_value(actions[0].get("value"))
    if value is None:
        return None
    return Click(
        actor=parse_actor(body["user"]),
        action_id=str(actions[0].get("action_id", "")),
        mention_id=value["m"],
        value=value,
        channel=click_channel(body),
        trigger_id=str(body.get("trigger_id", "")),
    )


def click_channel(body: dict[str, Any]) -> str:
    """The channel a payload came from ("" when it names none)."""
    container, channel = body.get("container"), body.get("channel")
    found = container.get("channel_id") if isinstance(container, dict) else None
    if not found and isinstance(channel, dict):
        found = channel.get("id")
    return str(found or "")


def reply_action(draft: ReplyDraft, actor: StaffRef) -> Reply:
    """The Reply for a confirmed draft (with the chosen visibility when the model carries one)."""
    fields: dict[str, Any] = {"mention_id": draft.mention_id, "actor": actor, "text": draft.text}
    fields["confirmed"] = draft.warned  # the preview showed the privacy warning and Publish was pressed
    if (
        REPLY_HAS_VISIBILITY
        and draft.choose_visibility
        and draft.visibility in Visibility.__members__.values()
    ):
        fields["visibility"] = Visibility(draft.visibility)
    return Reply(**fields)
