"""What every platform offers the core: the source and desk Protocols, capabilities, and `PlatformSpec`."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.core.base import OnAction
from bot.models import Mention, MentionChange, ReplyRef, StaffRef
from bot.views import CardRef, FoldView, TicketView

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "AdapterDeps",
    "Announces",
    "AsksCheckIn",
    "Checks",
    "HttpRoutes",
    "Mailer",
    "Paces",
    "PlatformParts",
    "PlatformSpec",
    "PushSource",
    "Redacts",
    "ReplyLimits",
    "ReplyValidator",
    "ShowsFolds",
    "SourceAdapter",
    "StaffDesk",
    "SyncsDutyGroups",
    "lazy",
    "missing",
]


class SourceAdapter(Protocol):
    """A platform where patrons mention the library.

    ``mentions(cursor)`` yields each mention with the cursor that follows it; delivery may
    repeat but must never skip. The caller stores the cursor in the same transaction as the
    mention. A yielded mention of ``None`` only advances the cursor (a feed's first sync, a Matrix
    sync batch with nothing for us); a cursor of ``None`` leaves the stored cursor unchanged.
    ``reply`` raises ``ReplyNotSupported`` for read-only sources, ``TransientError`` for outages
    and rate limits (retried later) and ``PermanentError`` otherwise.
    """

    source: str

    async def open(self) -> None:
        """Authenticate and check the settings; ``AdapterConfigError`` means do not retry."""

    def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        """Yield ``(mention, cursor_after_it)`` forever (or until cancelled)."""

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Publish ``text`` as a reply to ``to``; the same key never publishes twice."""

    async def aclose(self) -> None:
        """Release connections."""


class StaffDesk(Protocol):
    """A chat surface where staff see cards and act on them.

    ``serve`` runs until cancelled, turning clicks, reactions and commands into ``StaffAction``s
    and answering the actor privately with the ``ActionResult``'s message. The outbox relay calls
    ``post_card``/``update_card``/``tell``; they raise ``TransientError`` (retried later, with the
    platform's ``retry_after`` when given) or ``PermanentError``.
    """

    desk: str

    async def serve(self, on_action: OnAction) -> None:
        """Receive staff actions until cancelled."""

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a new card. With ``retry`` set, first look for an earlier post carrying
        ``dedupe_key`` (an attempt that may have landed before a timeout or crash) and return it."""

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        """Edit the card in place."""

    async def tell(self, who: StaffRef, text: str) -> None:
        """Private feedback to one staff member (ephemeral on Slack, a thread notice on Matrix)."""

    async def aclose(self) -> None:
        """Release connections."""


@runtime_checkable
class PushSource(Protocol):
    """A source that calls ``ingest`` itself (Slack events, the webhook): no pull loop is run for it."""

    push: bool


@runtime_checkable
class ReplyValidator(Protocol):
    """A source that knows, before sending, whether a reply fits (length, a target to reply to)."""

    def reply_limit(self, to: Mention | None = None) -> int | None:
        """Characters (graphemes) the staff text may have; None when there is no limit."""

    def validate_reply(self, to: Mention, text: str) -> None:
        """Raise ``PermanentError`` when ``text`` cannot be published as a reply to ``to``."""


@runtime_checkable
class HttpRoutes(Protocol):
    """A part that needs the shared HTTP server: ``[(method, path, aiohttp_handler), ...]``."""

    def http_routes(self) -> list[tuple[str, str, Any]]:
        """The routes to mount."""


@runtime_checkable
class Announces(Protocol):
    """A desk that can post a notice to its staff channel or room."""

    async def announce(self, text: str) -> None:
        """Post ``text`` where all staff see it."""


@runtime_checkable
class Threads(Protocol):
    """A desk that keeps a card's history as replies in the card's thread (the card stays one message)."""

    async def history(self, ref: CardRef, line: str, *, ping: str = "", key: str = "") -> None:
        """Post ``line`` in the thread of the card ``ref``; ``ping``: the one chat id it may mention;
        ``key``: the outbox row's unique key, for desks that can make a retry idempotent."""


@runtime_checkable
class Redacts(Protocol):
    """A desk that removes a card's patron text after a purge instead of editing it."""

    async def redact_card(self, ref: Any, card: Any) -> None:
        """Replace the card with its redacted form."""


@runtime_checkable
class Paces(Protocol):
    """A desk that paces its posts per channel and can say, before the relay takes a row, when a
    card's turn comes (the relay schedules the row for then instead of attempting it)."""

    async def slot(self, card: TicketView, *, channel: str, dedupe_key: str, lane: int) -> float:
        """Seconds until this card may be posted (reserving its place by ``lane``); 0: now."""


@runtime_checkable
class ShowsFolds(Protocol):
    """A desk that shows a summary card for a burst of read-only items (``FoldView``), with its actions:
    list the items, claim them all, mark them all handled (``FoldAction``)."""

    async def post_fold(
        self, fold: FoldView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post the summary card (once: with ``retry``, find an earlier post first)."""

    async def update_fold(self, ref: CardRef, fold: FoldView) -> None:
        """Edit the summary card in place with new counts."""


@runtime_checkable
class AsksCheckIn(Protocol):
    """A desk that asks a shift's check-in with its own controls (buttons, reactions) instead of a plain
    notice; the answer comes back as a ``CheckIn`` action carrying ``checkin_id``."""

    async def ask_checkin(self, who: StaffRef, text: str, *, checkin_id: int, key: str) -> None:
        """Ask ``who`` privately; ``key``: the outbox row's unique key (a retry is not asked twice)."""


@runtime_checkable
class SyncsDutyGroups(Protocol):
    """A desk whose user groups follow who holds a role (e.g. Slack's ``@reference-desk``)."""

    async def set_duty_group(self, group: str, users: Sequence[str]) -> None:
        """Make ``users`` the whole membership of ``group`` (a handle or an id)."""


@runtime_checkable
class Checks(Protocol):
    """A source that can say who it is signed in as, or a desk that can say whether it may post in
    its staff channel or room (``patron-desk check --connect``). Nothing is posted."""

    async def check(self) -> str:
        """One line: the account used, where it posts; ``PatronDeskError`` when it cannot."""


@runtime_checkable
class Mailer(Protocol):
    """A client that answers by mail to a patron's address (a web form's ``reply_to``).

    A platform's client that implements this is handed to every source as ``AdapterDeps.mailer``, so a
    source whose mentions carry an address can offer Reply without knowing which platform sends.
    """

    async def send_reply(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        idempotency_key: str,
        in_reply_to: str = "",
        references: Sequence[str] = (),
        automatic: bool = False,
    ) -> ReplyRef:
        """Send ``text`` to ``to``; the same key gives the same Message-ID; ``automatic`` marks an
        answer no person wrote (``Auto-Submitted``, so auto-responders do not answer it).
        ``TransientError`` when the server is away or says try later, ``PermanentError`` when it
        refuses the message."""


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
