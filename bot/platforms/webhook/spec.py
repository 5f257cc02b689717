"""The webhook as the registry sees it (light: the adapter is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformParts, PlatformSpec, Route, lazy, on_off, routes_of

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    return on_off("webhook", bool(s.WEBHOOK_SECRET), f"POST http://{s.HTTP_HOST}:{s.HTTP_PORT}/webhook")


def _http_routes(parts: PlatformParts) -> list[Route]:
    """``POST /webhook``, served by the source."""
    return routes_of(parts.source)


SPEC = PlatformSpec(
    name="webhook",
    display="Web form",
    settings_keys=("WEBHOOK_SECRET",),
    describe=_describe,
    http_routes=_http_routes,
    source_on=lambda s: bool(s.WEBHOOK_SECRET),
    build_source=lazy("bot.platforms.webhook.source", "build"),
)
