"""The Reply modal's draft: its ids, the reply limits, and the JSON it carries in ``private_metadata``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grapheme

from bot.core.cards import source_name
from bot.platforms import default_reply_limits
from bot.platforms.base import ReplyLimits

REPLY_VIEW, CONFIRM_VIEW = "pd_reply", "pd_reply_confirm"
TEXT_BLOCK, VIS_BLOCK = "pd_text", "pd_vis"
ANSWER_BLOCK, ANSWER_SELECT, PRIVACY_BLOCK = "pd_answer", "pd_answer_pick", "pd_privacy"
PUBLISH_PRIVATELY, PUBLISH_ANYWAY = "private", "anyway"
Limits = Callable[[str], int | None]
"""Reply length per platform, in graphemes (what the patron sees as characters); None: no limit."""
DEFAULT_LIMITS: Limits = ReplyLimits(default_reply_limits())  # each platform's documented figure
METADATA_LIMIT = 3000


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """What the editor carries: which mention, where, and (after the editor) the text."""

    mention_id: int
    platform: str
    visibility: str
    channel: str
    text: str = ""
    choose_visibility: bool = False
    approve: bool = False  # the approver editing a held reply: Publish approves the edited text
    fills: int = 0  # saved answers put in the text box so far (each fill gets a fresh box)
    warned: bool = False  # the preview showed the privacy guard's warning: Publish confirms it

    @property
    def text_block(self) -> str:
        """The text box's block id: Slack keeps what was typed in a block it knows, so a fill
        from a saved answer needs a new one."""
        return f"{TEXT_BLOCK}_{self.fills}" if self.fills else TEXT_BLOCK

    def metadata(self) -> str:
        """The draft as ``private_metadata``."""
        data: dict[str, Any] = {"m": self.mention_id, "p": self.platform, "v": self.visibility}
        data["c"] = self.channel
        if self.text:
            data["t"] = self.text
        if self.choose_visibility:
            data["cv"] = 1
        if self.approve:
            data["a"] = 1
        if self.fills:
            data["f"] = self.fills
        if self.warned:
            data["w"] = 1
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_metadata(raw: str | None) -> ReplyDraft | None:
    """A draft from ``private_metadata``; None when it is not one of ours."""
    try:
        data = json.loads(raw or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or type(data.get("m")) is not int:
        return None
    fields = [data.get(key, "") for key in ("p", "v", "c", "t")]
    if not all(isinstance(value, str) for value in fields):
        return None
    platform, visibility, channel, text = fields
    fills = data.get("f", 0)
    fills = fills if type(fills) is int and 0 <= fills < 10_000 else 0
    return ReplyDraft(
        data["m"],
        platform,
        visibility,
        channel,
        text,
        bool(data.get("cv")),
        approve=bool(data.get("a")),
        fills=fills,
        warned=bool(data.get("w")),
    )


def limit_for(platform: str, limits: Limits | None = None) -> int | None:
    """The reply limit in graphemes (the source's own when it told us), or None when there is none."""
    return (limits or DEFAULT_LIMITS)(platform)


def check_reply(text: str, platform: str, limits: Limits | None = None) -> str | None:
    """Why the reply cannot be sent (shown under the text box), or None when it is fine."""
    if not text.strip():
        return "Write the reply first."
    limit = limit_for(platform, limits)
    count = grapheme.length(text.strip())
    if limit is not None and count > limit:
        return f"{count} characters: {source_name(platform)} allows {limit}. Shorten it by {count - limit}."
    return None
