"""The Mastodon platform as the registry sees it (light: the adapter is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec, lazy, missing, on_off

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    return on_off("mastodon", s.mastodon_on, s.MASTODON_URL)


def _problems(s: Settings) -> list[str]:
    return missing(s, "MASTODON_URL is set", "MASTODON_ACCESS_TOKEN") if s.mastodon_on else []


SPEC = PlatformSpec(
    name="mastodon",
    display="Mastodon",
    settings_keys=(
        "MASTODON_URL",
        "MASTODON_ACCESS_TOKEN",
        "MASTODON_STREAMING",
        "MASTODON_POLL_SECONDS",
        "MASTODON_BACKFILL",
    ),
    describe=_describe,
    problems=_problems,
    source_on=lambda s: s.mastodon_on,
    build_source=lazy("bot.platforms.mastodon.source", "build"),
    build_standin=lazy("bot.platforms.mastodon.standin", "build"),
    reply_visibility=True,
    reply_limit=500,  # Mastodon's default; the open source reads its instance's own max_characters
)
