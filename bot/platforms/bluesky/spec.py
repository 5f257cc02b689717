"""The Bluesky platform as the registry sees it (light: the adapter is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec, lazy, missing, on_off

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    return on_off("bluesky", s.bluesky_on, f"{s.BLUESKY_SERVICE} as {s.BLUESKY_HANDLE}")


def _problems(s: Settings) -> list[str]:
    return missing(s, "BLUESKY_HANDLE is set", "BLUESKY_APP_PASSWORD") if s.bluesky_on else []


SPEC = PlatformSpec(
    name="bluesky",
    display="Bluesky",
    settings_keys=(
        "BLUESKY_SERVICE",
        "BLUESKY_HANDLE",
        "BLUESKY_APP_PASSWORD",
        "BLUESKY_POLL_SECONDS",
        "BLUESKY_BACKFILL",
    ),
    describe=_describe,
    problems=_problems,
    source_on=lambda s: s.bluesky_on,
    build_source=lazy("bot.platforms.bluesky.source", "build"),
    build_standin=lazy("bot.platforms.bluesky.standin", "build"),
    reply_limit=300,  # graphemes per post
)
