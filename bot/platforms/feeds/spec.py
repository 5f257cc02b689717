"""The feeds platform as the registry sees it (light: the adapter is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec, lazy, on_off

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    return on_off("feeds", bool(s.FEEDS), f"{len(s.FEEDS)} feed(s), every {s.FEED_POLL_SECONDS:g}s")


def _problems(s: Settings) -> list[str]:
    return [
        f"FEEDS: {url!r} is not an http(s) or file:// URL"
        for url in s.FEEDS
        if not url.startswith(("http://", "https://", "file://"))
    ]


SPEC = PlatformSpec(
    name="feeds",
    display="Web (feed)",
    settings_keys=("FEEDS", "FEED_POLL_SECONDS", "FEED_BACKFILL"),
    describe=_describe,
    problems=_problems,
    source_on=lambda s: bool(s.FEEDS),
    build_source=lazy("bot.platforms.feeds.source", "build"),
    read_only=True,
)
