"""Building a Graph client, options and webhook keys from settings (shared by both Meta platforms)."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Settings
from bot.platforms.base import AdapterDeps
from bot.platforms.meta.graph import GraphClient
from bot.platforms.meta.source import GraphOptions, WebhookKeys


def graph_client(settings: Settings, token: str, *, label: str, fix: str, deps: AdapterDeps) -> GraphClient:
    """A client on the configured Graph URL and version; a refused token is told to staff once."""
    return GraphClient(
        settings.FACEBOOK_GRAPH_URL,
        settings.FACEBOOK_GRAPH_VERSION,
        token,
        label=label,
        tell_staff=deps.announce,
        fix=fix,
    )


def graph_options(settings: Settings) -> GraphOptions:
    """Polling intervals and backfill from settings."""
    return GraphOptions(
        poll_seconds=float(settings.FACEBOOK_POLL_SECONDS),
        webhook_poll_seconds=max(float(settings.FACEBOOK_POLL_SECONDS), 900.0),
        backfill=bool(settings.FACEBOOK_BACKFILL),
        overlap=timedelta(minutes=2),
    )


def webhook_keys(settings: Settings, deps: AdapterDeps) -> WebhookKeys | None:
    """The webhook keys when both are set and the app can store what arrives (else: polling only)."""
    if settings.FACEBOOK_APP_SECRET and settings.FACEBOOK_VERIFY_TOKEN and deps.ingest is not None:
        return WebhookKeys(settings.FACEBOOK_APP_SECRET, settings.FACEBOOK_VERIFY_TOKEN)
    return None
