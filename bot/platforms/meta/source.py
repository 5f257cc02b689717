"""What the Facebook and Instagram sources share: the poll loop, the webhook delivery, the lifecycle.

A subclass says which posts or media to poll, how a comment reads, what a webhook change means and
how a reply is published. Polling runs always: every ``poll_seconds`` without webhooks, and as the
catch-up after a start (comments made while the bot was down) and every ``webhook_poll_seconds``
when webhooks deliver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.backoff import Backoff
from bot.errors import AdapterConfigError, PatronDeskError, TransientError
from bot.models import Mention, MentionChange
from bot.net.wire import pause_after, retrying, utc_now
from bot.platforms.base import Ingest, OnChange
from bot.platforms.meta.graph import GraphClient, TokenRefused
from bot.platforms.meta.poll import advanced, dump_cursor, load_cursor
from bot.platforms.meta.webhook import Change, WebhookEndpoint, changes

log = logging.getLogger(__name__)

Event = Mention | MentionChange | None
PARK = 900.0  # seconds a reply waits while the token is refused (a new one needs a restart)


@dataclass(frozen=True, slots=True)
class GraphOptions:
    """Tuning knobs; the defaults suit a real Page, tests shrink the times."""

    poll_seconds: float = 60.0
    webhook_poll_seconds: float = 900.0  # catch-up while webhooks deliver
    backfill: bool = False
    recent: int = 10  # posts or media whose comments are polled
    page_limit: int = 50
    max_pages: int = 20
    overlap: timedelta = timedelta(minutes=2)
    backoff: Backoff = field(default_factory=lambda: Backoff(base=2.0, cap=300.0))


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    """The app secret (signatures) and the verify token (handshake)."""

    secret: str
    verify_token: str


class GraphSource:
    """The shared part of a Graph API source (subclasses fill in the platform)."""

    source = ""
    object_kind = ""  # the webhook body's ``object``
    webhook_path = ""

    def __init__(
        self,
        client: GraphClient,
        *,
        options: GraphOptions | None = None,
        webhook: WebhookKeys | None = None,
        ingest: Ingest | None = None,
        on_change: OnChange | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.options = options or GraphOptions()
        self.clock = clock
        self._ingest = ingest
        self._on_change = on_change
        self._opened = False
        self.endpoint: WebhookEndpoint | None = None
        if webhook is not None and ingest is not None:
            self.endpoint = WebhookEndpoint(
                path=self.webhook_path,
                secret=webhook.secret,
                verify_token=webhook.verify_token,
                deliver=self.deliver,
                label=client.label,
            )

    # --- what a platform fills in ------------------------------------------------------

    async def identify(self) -> str:
        """Check the token and the account; a line naming them (``AdapterConfigError`` if refused)."""
        raise NotImplementedError

    async def poll_once(self, since: datetime | None) -> list[Mention]:
        """Comments newer than ``since`` (all recent ones when None), in any order."""
        raise NotImplementedError

    async def events(self, change: Change) -> list[Event]:
        """What one webhook change means: mentions to store, edits and withdrawals to apply."""
        raise NotImplementedError

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Check the token and the account."""
        log.info("%s", await self.identify())
        self._opened = True

    async def check(self) -> str:
        """For ``patron-desk check --connect``: the account, and any missing permission."""
        return await self.identify()

    async def aclose(self) -> None:
        """Close the connections."""
        await self.client.aclose()

    def http_routes(self) -> list[tuple[str, str, Callable[[web.Request], Any]]]:
        """The webhook routes when webhooks are configured (else none: polling only)."""
        return self.endpoint.routes() if self.endpoint is not None else []

    # --- polling -------------------------------------------------------------------------

    async def mentions(self, cursor: str | None) -> AsyncGenerator[tuple[Mention | None, str | None], None]:
        """Yield new comments oldest first with the cursor after each, forever.

        Without a stored cursor the current time is recorded and nothing older is delivered
        (unless backfill is on). The first pass after a start is the catch-up.
        """
        await self._ensure_open()
        valid, since = load_cursor(cursor)
        if not valid:
            if cursor is not None:
                log.warning("%s: stored cursor unreadable; starting from now", self.client.label)
            # Graph times have whole seconds: a comment in the starting second is not "before" it
            since = None if self.options.backfill else self.clock().replace(microsecond=0)
            yield None, dump_cursor(since)
        while True:
            async for mention, after in self._caught_up(since):
                since = after
                yield mention, dump_cursor(after)
            wait = self.options.webhook_poll_seconds if self.endpoint else self.options.poll_seconds
            await asyncio.sleep(wait)

    async def _caught_up(self, since: datetime | None) -> AsyncIterator[tuple[Mention, datetime]]:
        """One poll, retried with backoff until it completes; a refused token is raised."""
        attempt = 0
        while True:
            try:
                found = await self.poll_once(since)
                break
            except AdapterConfigError:
                raise
            except PatronDeskError as exc:
                await pause_after(exc, attempt, backoff=self.options.backoff, label=self.client.label)
                attempt += 1
        for mention in sorted(found, key=lambda m: (m.created_at, m.external_id)):
            since = advanced(since, mention.created_at, self.options.overlap)
            yield mention, since

    async def _ensure_open(self) -> None:
        if not self._opened:
            await retrying(self.open, backoff=self.options.backoff, label=self.client.label)

    # --- webhooks ------------------------------------------------------------------------

    async def deliver(self, payload: Any) -> None:
        """Apply a verified webhook body: store new mentions, apply edits and withdrawals.

        A change that cannot be read is skipped (logged by its error class, never by content), so one
        odd change never holds up the others or makes Meta deliver the body forever; an outage during
        a lookup, or a failure to store, is raised: the endpoint answers 503 and Meta delivers again.
        """
        assert self._ingest is not None
        for change in changes(payload, object_kind=self.object_kind):
            try:
                found = await self.events(change)
            except TokenRefused:
                raise TransientError(f"{self.client.label}: token refused") from None
            except TransientError:
                raise
            except (PatronDeskError, ValueError, TypeError, KeyError) as exc:
                what = type(exc).__name__
                log.warning("%s webhook: a %s change skipped (%s)", self.client.label, _field(change), what)
                continue
            for event in found:
                if isinstance(event, Mention):
                    await self._ingest(event, None)
                elif isinstance(event, MentionChange) and self._on_change is not None:
                    await self._on_change(event)

    def now(self) -> datetime:
        """The source's clock (parsers take it to repair odd times)."""
        return self.clock()

    async def publish(self, call: Callable[[], Any]) -> Any:
        """Run a reply call; while the token is refused the reply waits (retried later, never lost)."""
        try:
            return await call()
        except TokenRefused:
            raise TransientError(
                f"{self.client.label}: token refused; reply waits", retry_after=PARK
            ) from None


def _field(change: Change) -> str:
    """The change's field name for a log line: a known-looking identifier or ``?``."""
    name = change.field
    return name if len(name) <= 30 and name.replace("_", "").isalnum() else "?"
