"""Shift check-in on Slack: a direct message with "I'm on desk" / "Need cover" buttons, and its clicks.

The question goes to the person's DM with the bot (``chat.postMessage`` to their user id), so only
they see the buttons; the service still refuses anyone else's click (``bot/core/checkin.py``). A
click is acked first, then answered through its ``response_url``: the buttons are replaced by the
answer when it worked, and an ephemeral line says why when it did not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.errors import PatronDeskError
from bot.models import MAX_ID, CheckIn, StaffAction
from bot.platforms.slack.actions import SlackActions
from bot.platforms.slack.clicks import parse_actor
from bot.platforms.slack.escaping import notice_text
from bot.views import ActionResult

log = logging.getLogger(__name__)

HERE, COVER = "checkin_here", "checkin_cover"
Ack = Callable[..., Awaitable[Any]]


def checkin_blocks(text: str, checkin_id: int) -> list[dict[str, Any]]:
    """The question and its two buttons (values carry the check-in's number as JSON)."""
    value = json.dumps({"c": checkin_id})
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": notice_text(text)[:3000]}},
        {
            "type": "actions",
            "block_id": f"checkin:{checkin_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": HERE,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "I'm on desk"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": COVER,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Need cover"},
                    "value": value,
                },
            ],
        },
    ]


def parse_checkin_click(body: dict[str, Any]) -> tuple[str, int, bool] | None:
    """``(user id, check-in number, here)`` of a click on a check-in button; None when it is not one."""
    actions, user = body.get("actions"), body.get("user")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        return None
    action_id, raw = actions[0].get("action_id"), actions[0].get("value")
    if action_id not in (HERE, COVER) or not isinstance(raw, str) or len(raw) > 200:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    number = data.get("c") if isinstance(data, dict) else None
    if type(number) is not int or not 0 < number <= MAX_ID:
        return None
    return user["id"], number, action_id == HERE


class CheckinButtons:
    """The check-in buttons' listener, on the desk's shared actions (dispatch, answers, named actors)."""

    def __init__(self, actions: SlackActions) -> None:
        self.actions = actions

    def register(self) -> None:
        """Attach the listener for both buttons."""
        for action_id in (HERE, COVER):
            self.actions.client.app.action(action_id)(self._clicked)

    async def _clicked(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        parsed = parse_checkin_click(body)
        if parsed is None:
            log.info("slack: a check-in button without a valid value; ignored")
            return
        actor = parse_actor(body["user"])
        action: StaffAction = CheckIn(actor, here=parsed[2], checkin_id=parsed[1])
        url = str(body.get("response_url", ""))
        self.actions.tasks.spawn(self._answer(action, url), "slack:checkin")

    async def _answer(self, action: StaffAction, response_url: str) -> None:
        result: ActionResult = await self.actions.dispatch(await self.actions.named(action))
        payload: dict[str, Any] = {"text": notice_text(result.message)}
        payload |= (
            {"replace_original": True}
            if result.ok
            else {"response_type": "ephemeral", "replace_original": False}
        )
        if not response_url:
            return
        try:
            await self.actions.client.respond(response_url, payload)
        except PatronDeskError as exc:
            log.warning("check-in answer failed: %s", type(exc).__name__)
