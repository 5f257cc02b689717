"""The interface every source adapter implements, and what `build()` receives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.models import Mention, MentionChange, ReplyRef


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


Ingest = Callable[[Mention | None, str | None], Awaitable[bool]]
OnChange = Callable[[MentionChange], Awaitable[None]]
"""Store a mention (and the cursor after it) in one transaction; False when it was a repeat."""


@dataclass(frozen=True, slots=True)
class AdapterDeps:
    """What the composition root hands to adapter and desk factories (never the whole bot).

    ``clients`` holds the one SDK client per platform (``"slack"``, ``"matrix"``) shared by that
    platform's source and desk. Push sources (Slack events, the webhook) call ``ingest`` before
    they acknowledge, instead of yielding from ``mentions``.

    An adapter or desk that needs the shared HTTP server exposes ``http_routes()`` returning
    ``[(method, path, aiohttp_handler), ...]``; `app.py` mounts them on the one server.
    """

    ingest: Ingest | None = None
    clients: Mapping[str, Any] = field(default_factory=dict)
    on_change: OnChange | None = None  # edits and deletions of earlier posts
    desk_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # roles' own channels/rooms
