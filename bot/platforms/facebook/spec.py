"""The Facebook Page platform as the registry sees it (light: the adapter is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformParts, PlatformSpec, Route, lazy, missing, on_off, routes_of

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    mode = "webhooks at /webhooks/facebook and polling" if s.meta_webhooks_on else "polling only"
    return on_off("facebook", s.facebook_on, f"Page {s.FACEBOOK_PAGE_ID} ({mode})")


def _problems(s: Settings) -> list[str]:
    found = missing(s, "FACEBOOK_PAGE_ID is set", "FACEBOOK_PAGE_TOKEN") if s.facebook_on else []
    if bool(s.FACEBOOK_APP_SECRET) != bool(s.FACEBOOK_VERIFY_TOKEN):
        found.append(
            "FACEBOOK_APP_SECRET and FACEBOOK_VERIFY_TOKEN go together (webhooks); set both or neither"
        )
    if not s.FACEBOOK_GRAPH_URL.startswith(("https://", "http://")):
        found.append("FACEBOOK_GRAPH_URL is not an http(s) URL")
    return found


def _http_routes(parts: PlatformParts) -> list[Route]:
    """The Meta webhook (handshake and signed POSTs), served by the source when webhooks are on."""
    return routes_of(parts.source)


SPEC = PlatformSpec(
    name="facebook",
    display="Facebook",
    settings_keys=(
        "FACEBOOK_PAGE_ID",
        "FACEBOOK_PAGE_TOKEN",
        "FACEBOOK_APP_SECRET",
        "FACEBOOK_VERIFY_TOKEN",
        "FACEBOOK_GRAPH_URL",
        "FACEBOOK_GRAPH_VERSION",
        "FACEBOOK_POLL_SECONDS",
        "FACEBOOK_BACKFILL",
    ),
    describe=_describe,
    problems=_problems,
    http_routes=_http_routes,
    source_on=lambda s: s.facebook_on,
    build_source=lazy("bot.platforms.facebook.source", "build"),
    reply_visibility=True,  # "Private mention (direct)" sends a private reply by Messenger
    reply_limit=8000,
)
