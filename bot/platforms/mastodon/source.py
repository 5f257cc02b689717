"""Mastodon source: mention notifications by REST (min_id paging) and SSE streaming; threaded replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.backoff import Backoff, Reconnector
from bot.config import Settings
from bot.errors import AdapterConfigError, PatronDeskError, TransientError
from bot.models import Mention, ReplyRef, narrower
from bot.net.wire import JsonResponse, pause_after, retrying, tls, utc_now
from bot.platforms.base import AdapterDeps, OnChange
from bot.platforms.mastodon.api import MastodonApi
from bot.platforms.mastodon.parse import (
    InstanceInfo,
    checked_target,
    dump_cursor,
    load_cursor,
    notification_id,
    notification_items,
    parse_link_header,
    query_param,
    reply_body,
    room_for_text,
)
from bot.platforms.mastodon.stream import (
    NoticeKind,
    NotificationStream,
    StreamNotice,
    change_for,
    needs_catch_up,
    next_notices,
)

log = logging.getLogger(__name__)

NOTIFICATIONS = "/api/v1/notifications"
Item = tuple[Mention | None, str]


@dataclass(frozen=True, slots=True)
class MastodonOptions:
    """Tuning knobs; the defaults suit a real instance, tests shrink the times."""

    streaming: bool = True
    stream: str = "user"  # "user" also brings deletes/edits of mentions; "user/notification": mentions only
    poll_seconds: float = 60.0  # REST polling when the stream is down or off
    streaming_poll_seconds: float = 300.0  # safety-net catch-up while the stream is up
    stall_timeout: float = 60.0  # Mastodon sends a heartbeat every 15 s
    backfill: bool = False
    page_limit: int = 40
    max_pages: int = 10  # pages read when there is no min_id yet
    request_timeout: float = 30.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base=2.0, cap=300.0))


class MastodonSource:
    """Mentions of the library's Mastodon account, and replies to them."""

    source = "mastodon"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        options: MastodonOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._on_change = on_change
        self._options = options or MastodonOptions()
        self._clock = clock
        client = httpx.AsyncClient(
            base_url=self._base,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "patron-desk"},
            timeout=self._options.request_timeout,
            transport=transport,
            verify=tls(),
        )
        self._api = MastodonApi(client, clock=clock)
        self._domain = urlsplit(self._base).hostname or ""
        self._instance = InstanceInfo()
        self._account_id = ""
        self._acct = ""
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Verify the token (logs the account id) and read the instance's limits."""
        self._account_id, self._acct = await self._api.verify()
        self._instance = await self._api.instance()
        log.info(
            "mastodon: signed in as account id %s; reply limit %d characters",
            self._account_id,
            self._instance.max_characters,
        )

    async def check(self) -> str:
        """Open and describe the account, for ``patron-desk check``."""
        await self.open()
        who = f"@{self._acct}@{self._domain}" if self._acct else f"account id {self._account_id}"
        return f"token OK for {who}"

    async def aclose(self) -> None:
        """Stop the stream reader and close connections."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._api.client.aclose()

    # --- mentions ----------------------------------------------------------------------

    async def mentions(self, cursor: str | None) -> AsyncGenerator[tuple[Mention | None, str | None], None]:
        """Yield mentions oldest-first with the cursor after each, forever.

        Without a stored cursor the current position is recorded and nothing older is
        delivered (unless backfill is on). Streamed mentions are yielded at once with no
        cursor; the REST catch-up that follows every stream mention and every (re)connect
        advances the cursor. Streamed edits and deletions go to ``on_change``.
        """
        await self._ensure_open()
        valid, min_id = load_cursor(cursor)
        if not valid:
            if cursor is not None:
                log.warning("mastodon: stored cursor unreadable; starting from the newest mention")
            if not self._options.backfill:
                min_id = await retrying(self._newest_id, backoff=self._options.backoff, label="mastodon")
                yield None, dump_cursor(min_id)
        queue: asyncio.Queue[StreamNotice | None] = asyncio.Queue()
        stream = self._start_stream(queue)
        try:
            due = True
            while True:
                if due:
                    async for mention, newest in self._caught_up(min_id):
                        min_id = newest
                        yield mention, dump_cursor(newest)
                up = stream is not None and stream.connected
                wait = self._options.streaming_poll_seconds if up else self._options.poll_seconds
                news = await next_notices(queue, wait)
                due = needs_catch_up(news)
                for mention in await self._apply(news or []):
                    yield mention, None
        finally:
            self._stop_tasks()

    async def _caught_up(self, min_id: str | None) -> AsyncIterator[Item]:
        """``_catch_up`` retried (with backoff) from the last item yielded until it completes."""
        attempt = 0
        while True:
            try:
                async for mention, newest in self._catch_up(min_id):
                    min_id = newest
                    yield mention, newest
                return
            except AdapterConfigError:
                raise
            except PatronDeskError as exc:
                await pause_after(exc, attempt, backoff=self._options.backoff, label="mastodon")
                attempt += 1

    async def _apply(self, news: list[StreamNotice | None]) -> list[Mention]:
        """Streamed mentions to deliver now; edits and deletions go to the app's change hook."""
        found = []
        for notice in news:
            if notice is not None and notice.kind is NoticeKind.MENTION and notice.mention is not None:
                found.append(notice.mention)
            change = change_for(notice) if notice is not None else None
            if change is not None and self._on_change is not None:
                try:
                    await self._on_change(change)
                except Exception as exc:  # a failed card update must not stop the mentions
                    what = type(exc).__name__  # never the message: it may quote patron text
                    log.error(
                        "mastodon: %s of status %s not applied (%s)", change.kind, change.external_id, what
                    )
        return found

    async def _catch_up(self, min_id: str | None) -> AsyncIterator[Item]:
        """Every mention newer than ``min_id``, oldest first (``None``: the newest pages)."""
        if min_id is None:
            for item in notification_items(
                reversed(await self._latest_pages()), local_domain=self._domain, now=self._clock()
            ):
                yield item
            return
        params: dict[str, Any] = {"types[]": "mention", "min_id": min_id, "limit": self._options.page_limit}
        while True:
            response = await self._api.call("GET", NOTIFICATIONS, params=params)
            page = _page(response)
            if not page:
                return
            for item in notification_items(reversed(page), local_domain=self._domain, now=self._clock()):
                yield item
            prev = parse_link_header(response.headers.get("link")).get("prev")
            newest = (query_param(prev, "min_id") if prev else None) or notification_id(page[0])
            if not newest or newest == params["min_id"]:
                return  # nothing to page on (a server that ignores min_id): wait for the next poll
            params["min_id"] = newest

    async def _latest_pages(self) -> list[Any]:
        """Newest-first notifications, following ``rel="next"`` for up to ``max_pages`` pages."""
        collected: list[Any] = []
        params: dict[str, Any] = {"types[]": "mention", "limit": self._options.page_limit}
        for _ in range(self._options.max_pages):
            response = await self._api.call("GET", NOTIFICATIONS, params=params)
            page = _page(response)
            if not page:
                break
            collected.extend(page)
            following = parse_link_header(response.headers.get("link")).get("next")
            max_id = query_param(following, "max_id") if following else None
            if not max_id:
                break
            params["max_id"] = max_id
        return collected

    async def _newest_id(self) -> str | None:
        response = await self._api.call("GET", NOTIFICATIONS, params={"types[]": "mention", "limit": 1})
        page = _page(response)
        return notification_id(page[0]) if page else None

    async def _ensure_open(self) -> None:
        """Open again when the instance was unreachable at start-up; a refused token is raised."""
        attempt = 0
        while not self._account_id:
            try:
                await self.open()
            except TransientError as exc:
                await pause_after(exc, attempt, backoff=self._options.backoff, label="mastodon")
                attempt += 1

    def _start_stream(self, queue: asyncio.Queue[StreamNotice | None]) -> NotificationStream | None:
        if not self._options.streaming:
            return None
        base = self._instance.streaming_url or self._base
        base = base.replace("wss://", "https://", 1).replace("ws://", "http://", 1).rstrip("/")
        stream = NotificationStream(
            self._api.client,
            f"{base}/api/v1/streaming/{self._options.stream}",
            stall_timeout=self._options.stall_timeout,
            reconnector=Reconnector(policy=self._options.backoff),
            clock=self._clock,
            local_domain=self._domain,
            own_id=self._account_id,
        )
        task = asyncio.create_task(stream.run(queue), name="mastodon-stream")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    def _stop_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # --- replies -----------------------------------------------------------------------

    def reply_limit(self, to: Mention | None = None) -> int:
        """Characters left for staff text (after the ``@acct`` prefix and content warning)."""
        return room_for_text(to.reply_ref if to else "", self._instance.max_characters)

    def validate_reply(self, to: Mention, text: str) -> None:
        """Raise ``PermanentError`` when ``text`` cannot be published as a reply to ``to``."""
        checked_target(to.reply_ref, text, self._instance.max_characters)

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Publish a threaded reply with the patron's visibility and content warning.

        The ``Idempotency-Key`` makes Mastodon return the first status for a retried key.
        """
        target = checked_target(to.reply_ref, text, self._instance.max_characters)
        target = replace(target, visibility=narrower(target.visibility, to.visibility))
        ref = await self._api.post_status(reply_body(target, text), idempotency_key=idempotency_key)
        log.info("mastodon: replied to status %s with status %s", to.external_id, ref.external_id)
        return ref


def _page(response: JsonResponse) -> list[Any]:
    if not isinstance(response.body, list):
        raise TransientError("notifications: expected a JSON array")
    return response.body


def build(settings: Settings, deps: AdapterDeps) -> MastodonSource | None:
    """The Mastodon source when ``MASTODON_URL`` and ``MASTODON_ACCESS_TOKEN`` are set."""
    if not (settings.MASTODON_URL and settings.MASTODON_ACCESS_TOKEN):
        return None
    options = MastodonOptions(
        streaming=settings.MASTODON_STREAMING,
        poll_seconds=float(settings.MASTODON_POLL_SECONDS),
        backfill=bool(settings.MASTODON_BACKFILL),
    )
    return MastodonSource(
        settings.MASTODON_URL, settings.MASTODON_ACCESS_TOKEN, options=options, on_change=deps.on_change
    )
