"""`PlatformSpec` (one per platform, in the registry) and what the composition root hands adapters
(`AdapterDeps`); the Protocols and capabilities a part may offer are in ``bot.platforms.capabilities``."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.models import Mention, MentionChange
from bot.platforms.capabilities import HttpRoutes, Mailer, ReplyValidator

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "AdapterDeps",
    "PlatformParts",
    "PlatformSpec",
    "ReplyLimits",
    "lazy",
    "missing",
]


Ingest = Callable[[Mention | None, str | None], Awaitable[bool]]
"""Store a mention (and the cursor after it) in one transaction; False when it was a repeat."""
OnChange = Callable[[MentionChange], Awaitable[None]]


class ReplyLimits:
    """Reply length per source platform: the open source's own figure (a Mastodon instance's
    ``max_characters``), else the platform's documented default. Shared by the desks' reply editors."""

    def __init__(self, defaults: Mapping[str, int | None] | None = None) -> None:
        self._defaults = dict(defaults or {})
        self._live: dict[str, ReplyValidator] = {}

    def add(self, name: str, source: ReplyValidator) -> None:
        """Take the limit from this (opened) source from now on."""
        self._live[name] = source

    def __call__(self, platform: str) -> int | None:
        source = self._live.get(platform)
        if source is not None:
            return source.reply_limit()
        return self._defaults.get(platform)


@dataclass(frozen=True, slots=True)
class AdapterDeps:
    """What the composition root hands to adapter and desk factories (never the whole bot).

    ``clients`` holds the one SDK client per platform shared by that platform's source and desk
    (built by the spec's ``make_client``). Push sources (Slack events, the webhook) call ``ingest``
    before they acknowledge, instead of yielding from ``mentions``. A part that needs the shared
    HTTP server implements `HttpRoutes`; `app.py` mounts the routes on the one server. ``announce``
    tells every staff channel something staff must act on (plain words, never patron text).
    """

    ingest: Ingest | None = None
    clients: Mapping[str, Any] = field(default_factory=dict)
    on_change: OnChange | None = None  # edits and deletions of earlier posts
    desk_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # roles' own channels/rooms
    reply_limits: ReplyLimits | None = None
    announce: Callable[[str], Awaitable[None]] | None = None  # a notice to all staff (e.g. a token expired)
    mailer: Mailer | None = None  # a configured client that answers by mail (see `Mailer`)


Builder = Callable[["Settings", AdapterDeps], Any]
Enabled = Callable[["Settings"], bool]


def lazy(module: str, attr: str) -> Callable[..., Any]:
    """``module.attr`` imported on first call: a spec names its heavy modules without loading them."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    call.__qualname__ = f"lazy({module}.{attr})"
    return call


def _never(settings: Settings) -> bool:
    return False


def _no_problems(settings: Settings) -> list[str]:
    return []


Route = tuple[str, str, Any]  # (method, path, aiohttp handler)


@dataclass(frozen=True, slots=True)
class PlatformParts:
    """What runs of one platform in this process (None: not built here); a spec's ``http_routes`` reads it."""

    client: Any = None
    source: Any = None
    desk: Any = None


def routes_of(*parts: Any) -> list[Route]:
    """The routes of every part that serves HTTP (`HttpRoutes`), in order."""
    return [route for part in parts if isinstance(part, HttpRoutes) for route in part.http_routes()]


def missing(settings: Settings, because: str, *keys: str) -> list[str]:
    """``["<because> but <KEY> is not set"]`` for each unset key (a desk needs all of them)."""
    return [f"{because} but {key} is not set" for key in keys if not getattr(settings, key)]


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    """Everything the core knows about one platform; the registry holds one per platform.

    ``source_on``/``desk_on`` say whether settings ask for that part (the build functions may still
    return None or raise ``AdapterConfigError``); ``describe`` is the line `check` prints;
    ``problems`` the lines saying what a half-filled section lacks (settings refuse to load while any
    remain); ``http_routes`` what this platform mounts on the one HTTP server, given its built parts;
    ``reply_limit`` the documented reply length when the source cannot tell (graphemes).
    """

    name: str
    display: str
    settings_keys: tuple[str, ...]
    describe: Callable[[Settings], str]
    problems: Callable[[Settings], list[str]] = _no_problems
    http_routes: Callable[[PlatformParts], list[Route]] | None = None
    source_on: Enabled = _never
    desk_on: Enabled = _never
    build_source: Builder | None = None
    build_desk: Builder | None = None
    make_client: Callable[[Settings], Any] | None = None
    client_on: Enabled = _never
    reply_limit: int | None = None
    reply_visibility: bool = False  # staff choose who sees a reply (Mastodon's visibility)
    # nobody on this source waits for an answer (feeds): its new cards go after those of sources
    # whose mentions can be answered (a question, an email, a web form), and a burst of them folds
    # into one summary card (FEED_BURST_FOLD)
    read_only: bool = False
    private_replies: bool = False  # a reply reaches only the patron (mail): the privacy guard stays quiet
    staff_id_column: str | None = None  # the staff table's column holding this desk's user ids
    role_channel_column: str | None = None  # the roles table's column holding a role's own channel
    duty_group_field: str | None = None  # the rules file's role key naming a user group that follows duty
    # a rota `@who` token in this desk's id form -> (user id, display name for a new row), else None
    staff_token: Callable[[str], tuple[str, str] | None] | None = None
    command_prefix: str = "/"  # how staff type commands here ("/rota"; "!rota" on Matrix)
    local: bool = False  # typed at the server's terminal: whoever can type there is staff
    build_standin: Callable[[], Any] | None = None  # the demo's loopback stand-in (`run --demo`)

    def source_enabled(self, settings: Settings) -> bool:
        """Settings ask for this platform's source."""
        return self.build_source is not None and self.source_on(settings)

    def desk_enabled(self, settings: Settings) -> bool:
        """Settings ask for this platform's desk."""
        return self.build_desk is not None and self.desk_on(settings)

    def staff_id(self, person: Any) -> str:
        """A rules-file person's id on this desk (the staff spec's field named like the staff column)."""
        return getattr(person, self.staff_id_column, "") or "" if self.staff_id_column else ""

    def role_channel(self, role: Any) -> str:
        """A role's own channel or room on this desk (the role spec's field named like the roles column)."""
        return getattr(role, self.role_channel_column, "") or "" if self.role_channel_column else ""


def on_off(label: str, on: bool, where: str) -> str:
    """A `check` line: ``"<label>: on, <where>"`` or ``"<label>: off"``."""
    return f"{label}: {'on, ' + where if on else 'off'}"
