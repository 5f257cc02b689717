"""The registry: one explicit entry per platform, name -> `PlatformSpec`.

Each spec module is light (settings and names only); a platform's client, source and desk modules
are imported by its build functions, so only configured platforms are loaded at start-up.
Adding a platform is one package here and one line below.
"""

from __future__ import annotations

from bot.platforms.base import PlatformSpec
from bot.platforms.bluesky.spec import SPEC as BLUESKY
from bot.platforms.console.spec import SPEC as CONSOLE
from bot.platforms.feeds.spec import SPEC as FEEDS
from bot.platforms.mastodon.spec import SPEC as MASTODON
from bot.platforms.matrix.spec import SPEC as MATRIX
from bot.platforms.slack.spec import SPEC as SLACK
from bot.platforms.webhook.spec import SPEC as WEBHOOK

# The order is the build order: desks Slack, Matrix, console (as before), then the `check` lines.
REGISTRY: dict[str, PlatformSpec] = {
    spec.name: spec for spec in (FEEDS, MASTODON, BLUESKY, SLACK, MATRIX, WEBHOOK, CONSOLE)
}


def source_platforms() -> frozenset[str]:
    """Names of the platforms that can be a source (what a rule's ``platforms`` may name)."""
    return frozenset(name for name, spec in REGISTRY.items() if spec.build_source is not None)


def display_name(platform: str) -> str:
    """Human name of a platform ("Web (feed)"); an unknown name is shown as it is."""
    spec = REGISTRY.get(platform)
    return spec.display if spec else platform


def default_reply_limits() -> dict[str, int | None]:
    """Each platform's documented reply length (used until its source has opened and knows better)."""
    return {name: spec.reply_limit for name, spec in REGISTRY.items()}
