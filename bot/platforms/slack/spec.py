"""The Slack platform as the registry sees it (light: the SDK is imported only when built)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.platforms.base import PlatformParts, PlatformSpec, Route, lazy, on_off, routes_of

if TYPE_CHECKING:
    from bot.config import Settings

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


def _staff_token(token: str) -> tuple[str, str] | None:
    """A rota `@who` written as a Slack mention (``<@U…>``) or a bare Slack user id."""
    mention = _MENTION.match(token)
    bare = mention.group(1) if mention else token
    return (bare, bare) if mention or _USER_ID.match(bare) else None


def _describe(s: Settings) -> str:
    mode = "Socket Mode" if s.SLACK_APP_TOKEN else "HTTP mode"
    cards = f"cards in {s.SLACK_STAFF_CHANNEL}" if s.SLACK_STAFF_CHANNEL else "source only, no cards"
    return on_off("slack", s.slack_on, f"{s.SLACK_API_URL} ({mode}), {cards}")


def _problems(s: Settings) -> list[str]:
    if not s.slack_on:
        return []
    found = []
    if not (s.SLACK_STAFF_CHANNEL or s.SLACK_SOURCE_CHANNELS):
        found.append(
            "SLACK_BOT_TOKEN is set but SLACK_STAFF_CHANNEL is not: cards would go nowhere on Slack "
            "(set it to the staff channel's id, C...)"
        )
    if not (s.SLACK_APP_TOKEN or s.SLACK_SIGNING_SECRET):
        found.append(
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) "
            "nor SLACK_SIGNING_SECRET (HTTP mode) is"
        )
    return found


def _http_routes(parts: PlatformParts) -> list[Route]:
    """``POST /slack/events`` in HTTP mode: the shared client serves it once for desk and source."""
    return routes_of(parts.client, parts.desk, parts.source)


SPEC = PlatformSpec(
    name="slack",
    display="Slack",
    settings_keys=(
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
        "SLACK_STAFF_CHANNEL",
        "SLACK_SOURCE_CHANNELS",
        "SLACK_MANAGERS",
        "SLACK_MANAGER_GROUP",
        "SLACK_STAFF_GROUP",
    ),
    describe=_describe,
    problems=_problems,
    http_routes=_http_routes,
    source_on=lambda s: s.slack_on and bool(s.SLACK_SOURCE_CHANNELS),
    desk_on=lambda s: s.slack_on,
    build_source=lazy("bot.platforms.slack.source", "build"),
    build_desk=lazy("bot.platforms.slack.desk", "build"),
    make_client=lazy("bot.platforms.slack.client", "make_client"),
    client_on=lambda s: s.slack_on,
    staff_id_column="slack_user_id",
    role_channel_column="slack_channel",
    duty_group_field="slack_usergroup",
    staff_token=_staff_token,
)
