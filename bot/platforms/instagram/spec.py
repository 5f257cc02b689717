"""The Instagram platform as the registry sees it (light: the adapter is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformParts, PlatformSpec, Route, lazy, on_off, routes_of

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    mode = "webhooks at /webhooks/instagram and polling" if s.meta_webhooks_on else "polling only"
    return on_off("instagram", s.instagram_on, f"account {s.INSTAGRAM_ACCOUNT_ID} ({mode})")


def _problems(s: Settings) -> list[str]:
    if s.instagram_on and not (s.INSTAGRAM_TOKEN or s.FACEBOOK_PAGE_TOKEN):
        return ["INSTAGRAM_ACCOUNT_ID is set but neither INSTAGRAM_TOKEN nor FACEBOOK_PAGE_TOKEN is"]
    return []


def _http_routes(parts: PlatformParts) -> list[Route]:
    """The Meta webhook (handshake and signed POSTs), served by the source when webhooks are on."""
    return routes_of(parts.source)


SPEC = PlatformSpec(
    name="instagram",
    display="Instagram",
    settings_keys=("INSTAGRAM_ACCOUNT_ID", "INSTAGRAM_TOKEN"),
    describe=_describe,
    problems=_problems,
    http_routes=_http_routes,
    source_on=lambda s: s.instagram_on,
    build_source=lazy("bot.platforms.instagram.source", "build"),
    reply_limit=2200,
)
