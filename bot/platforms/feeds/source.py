"""RSS/Atom feeds (Google Alerts included): a read-only source polled over HTTP or from disk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from bot import __version__
from bot.backoff import Backoff
from bot.config import Settings
from bot.errors import (
    AdapterConfigError,
    PatronDeskError,
    PermanentError,
    ReplyNotSupported,
    TransientError,
)
from bot.models import Mention, ReplyRef
from bot.net.http_json import status_error
from bot.net.wire import tls
from bot.platforms.base import AdapterDeps
from bot.platforms.feeds.cursor import FeedState, dump_cursor, load_cursor, plan_sync
from bot.platforms.feeds.parse import SOURCE, parse_feed
from bot.platforms.feeds.redirects import is_internal

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024  # a feed larger than this is refused while it streams in
FETCH_DEADLINE = 60.0  # whole request, so a server dripping one byte at a time cannot hold us
MAX_REDIRECTS = 5
MAX_BACKOFF = 3600.0  # a failing feed is retried at least hourly
TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=10.0, pool=10.0)
ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


class FeedTooLarge(PermanentError):
    """The body passed the size cap."""


def build(settings: Settings, deps: AdapterDeps) -> FeedsAdapter | None:
    """The feeds adapter when ``FEEDS`` is set, else ``None``."""
    if not settings.FEEDS:
        return None
    return FeedsAdapter(
        settings.FEEDS, poll_seconds=settings.FEED_POLL_SECONDS, backfill=settings.FEED_BACKFILL
    )


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One feed's fetch: ``entries`` is None when the server said 304 Not Modified."""

    entries: list[Mention] | None
    etag: str | None
    modified: str | None


@dataclass(slots=True)
class _Schedule:
    due: float = 0.0
    attempt: int = 0


class FeedsAdapter:
    """Polls every feed every ``poll_seconds``; a failing feed backs off alone."""

    source = SOURCE

    def __init__(
        self,
        feeds: Sequence[str],
        *,
        poll_seconds: float = 300.0,
        backfill: bool = False,
        client: httpx.AsyncClient | None = None,
        max_bytes: int = MAX_BYTES,
        deadline: float = FETCH_DEADLINE,
        backoff: Backoff | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Create the adapter; ``client`` is injected by tests, otherwise ``open()`` makes one."""
        self._feeds = tuple(dict.fromkeys(feeds))
        self._poll = poll_seconds
        self._backfill = backfill
        self._client = client
        self._owns_client = client is None
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._backoff = backoff or Backoff(base=poll_seconds, cap=max(MAX_BACKOFF, poll_seconds))
        self._now = now

    async def open(self) -> None:
        """Check the feed URLs and create the HTTP client."""
        for index, url in enumerate(self._feeds):
            if urlsplit(url).scheme not in ("http", "https", "file"):
                raise AdapterConfigError(f"FEEDS entry {index + 1} is not an http(s) or file URL")
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT,
                follow_redirects=False,  # followed by _get, which checks where each hop goes
                headers={"User-Agent": f"PatronDesk/{__version__}", "Accept": ACCEPT},
                verify=tls(),
            )

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Feeds are read-only: the card offers the link and "Mark handled" instead."""
        raise ReplyNotSupported("feeds are read-only; open the link to answer")

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        """Yield new entries of every feed, forever, each with the cursor that includes it.

        Feeds are fetched concurrently, one request per feed at a time; a feed that fails
        (timeout, 429, 5xx, too big, hostile or broken XML) is logged and retried later with
        its own backoff while the others carry on.
        """
        loaded = load_cursor(cursor)
        states: dict[str, FeedState] = dict(loaded.feeds)
        schedules = {url: _Schedule() for url in self._feeds}
        running: dict[asyncio.Task[_Fetched], str] = {}
        loop = asyncio.get_running_loop()
        try:
            while True:
                for url in self._feeds:
                    if url not in running.values() and schedules[url].due <= loop.time():
                        running[asyncio.create_task(self._fetch(url, states.get(url)))] = url
                busy = set(running.values())
                idle = [schedule.due for url, schedule in schedules.items() if url not in busy]
                wait = max(min(idle) - loop.time(), 0.0) if idle else None
                if not running:
                    await asyncio.sleep(wait or 0.0)
                    continue
                done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    url = running.pop(task)
                    plan = self._settle(
                        url, task, previous=states.get(url), trusted=loaded.trusted, schedule=schedules[url]
                    )
                    for mention, state in plan:
                        states[url] = state
                        yield mention, dump_cursor(states, configured=self._feeds)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _settle(
        self,
        url: str,
        task: asyncio.Task[_Fetched],
        *,
        previous: FeedState | None,
        trusted: bool,
        schedule: _Schedule,
    ) -> list[tuple[Mention | None, FeedState]]:
        """Turn a finished fetch into the items to yield, and schedule the feed's next poll."""
        now = asyncio.get_running_loop().time()
        try:
            fetched = task.result()
        except PatronDeskError as exc:
            hint = exc.retry_after if isinstance(exc, TransientError) else None
            wait = max(self._backoff.delay(schedule.attempt, retry_after=hint), self._poll)
            schedule.attempt += 1
            schedule.due = now + wait
            level = logging.WARNING if isinstance(exc, TransientError) else logging.ERROR
            log.log(level, "feed %d (%s): %s; next try in %.0fs", self._index(url), _host(url), exc, wait)
            return []
        if schedule.attempt:
            log.info("feed %d (%s): recovered", self._index(url), _host(url))
        schedule.attempt = 0
        schedule.due = now + self._poll
        if fetched.entries is None:
            return []
        # an unreadable stored cursor re-reads everything: the store drops repeats, a skip is lost
        plan = plan_sync(
            previous,
            fetched.entries,
            etag=fetched.etag,
            modified=fetched.modified,
            backfill=self._backfill or not trusted,
        )
        new = sum(mention is not None for mention, _ in plan)
        level = logging.INFO if new else logging.DEBUG
        log.log(
            level, "feed %d (%s): %d entries, %d new", self._index(url), _host(url), len(fetched.entries), new
        )
        return plan

    async def _fetch(self, url: str, state: FeedState | None) -> _Fetched:
        """Fetch and parse one feed; every failure becomes a domain error naming no content."""
        try:
            if urlsplit(url).scheme == "file":
                data: bytes | None = await asyncio.to_thread(_read_file, url, self._max_bytes)
                etag = modified = None
            else:
                async with asyncio.timeout(self._deadline):
                    data, etag, modified = await self._get(url, state)
            if data is None:
                return _Fetched(None, etag, modified)
            entries = await asyncio.to_thread(parse_feed, data, feed_url=url, now=self._now())
        except PatronDeskError:
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise TransientError("timed out") from None
        except httpx.TooManyRedirects:
            raise PermanentError("too many redirects") from None
        except httpx.HTTPError as exc:
            raise TransientError(f"network error ({type(exc).__name__})") from None
        except OSError as exc:
            raise PermanentError(f"cannot read file ({type(exc).__name__})") from None
        except Exception as exc:  # a parser bug on one feed must not stop the others
            raise PermanentError(f"unexpected {type(exc).__name__}") from None
        return _Fetched(entries, etag, modified)

    async def _get(self, url: str, state: FeedState | None) -> tuple[bytes | None, str | None, str | None]:
        """Conditional GET with the size cap enforced while the body streams in.

        Redirects are followed here, at most ``MAX_REDIRECTS``, and never from a public feed
        into loopback, private or link-local addresses (a feed host must not make us probe the
        library's own network); a feed configured on such an address may redirect within it.
        """
        if self._client is None:
            raise RuntimeError("FeedsAdapter.open() was not called")
        headers = {}
        if state and state.etag:
            headers["If-None-Match"] = state.etag
        if state and state.modified:
            headers["If-Modified-Since"] = state.modified
        inside: bool | None = None  # whether the configured URL is internal; looked up on a redirect
        target = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            stream = self._client.stream("GET", target, headers=headers, follow_redirects=False)
            async with stream as response:
                if response.is_redirect and "location" in response.headers:
                    target = target.join(response.headers["location"])
                    if target.scheme not in ("http", "https"):
                        raise PermanentError("redirect to a scheme other than http(s)")
                    if inside is None:
                        inside = await is_internal(url)
                    if not inside and await is_internal(str(target)):
                        raise PermanentError("redirect into a loopback or private network refused")
                    continue
                return await self._body(response, state)
        raise PermanentError("too many redirects")

    async def _body(
        self, response: httpx.Response, state: FeedState | None
    ) -> tuple[bytes | None, str | None, str | None]:
        if response.status_code == 304:
            return None, state.etag if state else None, state.modified if state else None
        _raise_for_status(response, now=self._now())
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise FeedTooLarge(f"declared {declared} bytes, cap {self._max_bytes}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise FeedTooLarge(f"more than {self._max_bytes} bytes")
        return bytes(body), response.headers.get("ETag"), response.headers.get("Last-Modified")

    def _index(self, url: str) -> int:
        return self._feeds.index(url) + 1


def _raise_for_status(response: httpx.Response, *, now: datetime) -> None:
    """Translate an unsuccessful status into a domain error (status code only, never the body)."""
    if response.is_success:
        return
    status = response.status_code
    raise status_error(
        status, label=f"HTTP {status}", now=now, retry_after=response.headers.get("Retry-After")
    )


def _read_file(url: str, max_bytes: int) -> bytes:
    """Read a ``file://`` feed (an admin's local test), with the same size cap."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise PermanentError("file URLs must be local")
    with Path(url2pathname(parts.path)).open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FeedTooLarge(f"more than {max_bytes} bytes")
    return data


def _host(url: str) -> str:
    """What a log line may say about a feed: its host (the path can hold account ids)."""
    parts = urlsplit(url)
    return parts.hostname or parts.scheme
