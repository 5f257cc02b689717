"""The registry: one explicit entry per platform, name -> `PlatformSpec`.

Each spec module is light (settings and names only); a platform's client, source and desk modules
are imported by its build functions, so only configured platforms are loaded at start-up.
Adding a platform is one package here and one line below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec
from bot.platforms.bluesky.spec import SPEC as BLUESKY
from bot.platforms.console.spec import SPEC as CONSOLE
from bot.platforms.email.spec import SPEC as EMAIL
from bot.platforms.facebook.spec import SPEC as FACEBOOK
from bot.platforms.feeds.spec import SPEC as FEEDS
from bot.platforms.instagram.spec import SPEC as INSTAGRAM
from bot.platforms.mastodon.spec import SPEC as MASTODON
from bot.platforms.matrix.spec import SPEC as MATRIX
from bot.platforms.slack.spec import SPEC as SLACK
from bot.platforms.webhook.spec import SPEC as WEBHOOK

if TYPE_CHECKING:
    from bot.config import Settings

# The order is the build order: desks Slack, Matrix, console (as before), then the `check` lines.
REGISTRY: dict[str, PlatformSpec] = {
    spec.name: spec
    for spec in (FEEDS, MASTODON, BLUESKY, FACEBOOK, INSTAGRAM, SLACK, MATRIX, WEBHOOK, EMAIL, CONSOLE)
}


# The `route` command's example platform when none is given.
ROUTE_EXAMPLE = MASTODON.name


def source_platforms() -> frozenset[str]:
    """Names of the platforms that can be a source (what a rule's ``platforms`` may name)."""
    return frozenset(name for name, spec in REGISTRY.items() if spec.build_source is not None)


def problems(settings: Settings) -> list[str]:
    """Every platform's half-filled settings, one line each (``Settings.problems`` asks here)."""
    return [line for spec in REGISTRY.values() for line in spec.problems(settings)]


def replies_private(platform: str) -> bool:
    """True when a reply on ``platform`` reaches only the patron (nothing is published)."""
    spec = REGISTRY.get(platform)
    return spec is not None and spec.private_replies


def display_name(platform: str) -> str:
    """Human name of a platform ("Web (feed)"); an unknown name is shown as it is."""
    spec = REGISTRY.get(platform)
    return spec.display if spec else platform


def default_reply_limits() -> dict[str, int | None]:
    """Each platform's documented reply length (used until its source has opened and knows better)."""
    return {name: spec.reply_limit for name, spec in REGISTRY.items()}


def staff_id_columns() -> dict[str, str]:
    """Desk name -> the staff table's column holding that desk's user ids (desks with chat ids only)."""
    return {name: spec.staff_id_column for name, spec in REGISTRY.items() if spec.staff_id_column}


def answerable(source: str) -> bool:
    """Whether a source's mentions can be answered (its spec is not ``read_only``); an unknown
    source counts as answerable, so a patron's question is never put behind a feed."""
    spec = REGISTRY.get(source)
    return spec is None or not spec.read_only


def role_channel_column(desk: str) -> str | None:
    """The roles table's column holding a role's own channel on this desk (None: the desk has none)."""
    spec = REGISTRY.get(desk)
    return spec.role_channel_column if spec else None


def parse_staff_token(token: str) -> tuple[str, str, str] | None:
    """A rota `@who` in some desk's id form -> ``(desk, user_id, display)``; None for a plain name."""
    for name, spec in REGISTRY.items():
        if spec.staff_token is not None and (found := spec.staff_token(token)):
            return (name, *found)
    return None
