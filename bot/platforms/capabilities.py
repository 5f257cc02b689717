"""What a platform's parts may offer the core: the source and desk Protocols and the optional capabilities
(``isinstance`` checks at run time). `PlatformSpec` and the wiring types live in ``bot.platforms.base``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from bot.core.base import OnAction
from bot.models import Mention, ReplyRef, StaffRef
from bot.views import CardRef, FoldView, TicketView

__all__ = [
    "Announces",
    "AsksCheckIn",
    "Checks",
    "HttpRoutes",
    "Mailer",
    "Paces",
    "PushSource",
    "Redacts",
    "ReplyValidator",
    "ShowsFolds",
    "SourceAdapter",
    "StaffDesk",
    "SyncsDutyGroups",
    "Threads",
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
