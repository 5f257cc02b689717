"""`check --connect` for the Slack desk: may the bot post in the staff channel? (Nothing is posted.)"""

from __future__ import annotations

from typing import Any

from bot.errors import AdapterConfigError, PermanentError
from bot.platforms.slack.client import SlackClient


def channel_verdict(channel_id: str, info: dict[str, Any]) -> str:
    """One line from a ``conversations.info`` answer; ``AdapterConfigError`` when cards could not land.

    The bot must be a member of the channel (``is_member``; without it ``chat.postMessage`` answers
    ``not_in_channel``) and the channel must not be archived.
    """
    found = info.get("channel")
    channel: dict[str, Any] = found if isinstance(found, dict) else {}
    label = channel.get("name")
    name = f"#{label}" if isinstance(label, str) and label else channel_id
    if channel.get("is_archived"):
        raise AdapterConfigError(
            f"the staff channel {name} ({channel_id}) is archived; unarchive it or pick another"
        )
    if not channel.get("is_member"):
        raise AdapterConfigError(
            f"the bot is not a member of the staff channel {name} ({channel_id}); "
            f"type /invite @<the bot's name> in that channel"
        )
    return name


async def check_staff_channel(client: SlackClient, channel_id: str) -> str:
    """Who the bot is and whether it can post in ``channel_id``, as one line."""
    me = await client.identity()
    try:
        info = await client.call("conversations_info", channel=channel_id)
    except PermanentError as exc:
        raise AdapterConfigError(f"SLACK_STAFF_CHANNEL {channel_id} cannot be read ({exc})") from None
    name = channel_verdict(channel_id, info)
    return f"bot {me.user_id} can post cards in {name} ({channel_id})"
