"""The demo feed server behind `patron-desk run --demo`: the example feed, revealed over time."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from types import TracebackType

from aiohttp import web

log = logging.getLogger(__name__)

FEED_NAME = "demo-feed.xml"
_ENTRY = re.compile(rb"[ \t]*<entry\b.*?</entry>\s*", re.DOTALL)
_STAMP = re.compile(rb"<(published|updated)>[^<]*</(?:published|updated)>")


def default_feed_path() -> Path:
    """``examples/demo-feed.xml`` next to the package (a source checkout), else under the cwd."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        candidate = base / "examples" / FEED_NAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"examples/{FEED_NAME} not found; pass the path of an Atom feed")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the server answers at one moment: the document and its validators."""

    body: bytes
    etag: str
    last_modified: datetime


class DemoFeed:
    """An Atom document whose entries appear over time, oldest first.

    The file lists entries newest first (as Google Alerts does). The ``initial`` oldest are
    visible from ``started``, then one more every ``interval`` seconds. Each entry's
    published/updated time is rewritten to when it appeared, so cards look fresh and an
    escalation timer measures from the reveal, not from the file's dates.
    """

    def __init__(
        self,
        document: bytes,
        *,
        started: float,
        started_at: datetime,
        initial: int = 5,
        interval: float = 8.0,
    ) -> None:
        """Split ``document`` into head, entries and tail; reveal times count from ``started``."""
        matches = list(_ENTRY.finditer(document))
        if not matches:
            raise ValueError("the demo feed has no <entry> elements")
        self._head = document[: matches[0].start()]
        self._tail = document[matches[-1].end() :]
        self._entries = [match.group(0) for match in reversed(matches)]  # reveal order: oldest first
        self._started = started
        self._started_at = started_at
        self._initial = max(initial, 1)
        self._interval = interval
        self._token = hashlib.sha256(document + started_at.isoformat().encode()).hexdigest()[:12]

    @property
    def total(self) -> int:
        """How many entries the file holds."""
        return len(self._entries)

    def visible(self, now: float) -> int:
        """How many entries are revealed at monotonic time ``now``."""
        elapsed = max(now - self._started, 0.0)
        extra = int(elapsed // self._interval) if self._interval > 0 else self.total
        return min(self._initial + extra, self.total)

    def revealed_at(self, index: int) -> datetime:
        """Wall-clock time the ``index``-th entry (oldest first) appeared; the first ones a minute apart."""
        if index < self._initial:
            return self._started_at - timedelta(minutes=self._initial - index)
        return self._started_at + timedelta(seconds=(index - self._initial + 1) * self._interval)

    def snapshot(self, now: float) -> Snapshot:
        """The document as served at monotonic time ``now``."""
        count = self.visible(now)
        newest = self.revealed_at(count - 1).replace(microsecond=0)
        parts = [_stamped(self._entries[index], self.revealed_at(index)) for index in range(count)]
        head = _STAMP.sub(_stamp_bytes(newest), self._head, count=1)
        body = head + b"".join(reversed(parts)) + self._tail
        return Snapshot(body=body, etag=f'"demo-{self._token}-{count}"', last_modified=newest)


class DemoFeedServer:
    """Serves a ``DemoFeed`` on 127.0.0.1 (a free port) with ETag/Last-Modified and 304s.

    ``async with DemoFeedServer() as server:`` then point ``FEEDS`` at ``server.url``.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        interval: float = 8.0,
        initial: int = 5,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Configure the server; the feed file is read when it starts."""
        self._path = path
        self._interval = interval
        self._initial = initial
        self._host = host
        self._port = port
        self._clock = clock
        self._now = now
        self._runner: web.AppRunner | None = None
        self.feed: DemoFeed | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        """The feed URL (available once started)."""
        if self._runner is None:
            raise RuntimeError("DemoFeedServer is not running")
        return f"http://{self._host}:{self._port}/{FEED_NAME}"

    async def __aenter__(self) -> DemoFeedServer:
        document = (self._path or default_feed_path()).read_bytes()
        self.feed = DemoFeed(
            document,
            started=self._clock(),
            started_at=self._now(),
            initial=self._initial,
            interval=self._interval,
        )
        app = web.Application()
        app.router.add_get(f"/{FEED_NAME}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        log.info(
            "demo feed on %s: %d entries, %d now, one more every %gs",
            self.url,
            self.feed.total,
            min(self._initial, self.feed.total),
            self._interval,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        if self.feed is None:
            raise web.HTTPServiceUnavailable()
        self.requests += 1
        snap = self.feed.snapshot(self._clock())
        headers = {
            "ETag": snap.etag,
            "Last-Modified": format_datetime(snap.last_modified, usegmt=True),
            "Cache-Control": "no-cache",
        }
        if _not_modified(request, snap):
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=snap.body, headers=headers, content_type="application/atom+xml", charset="utf-8"
        )


def _not_modified(request: web.Request, snap: Snapshot) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since is only looked at without it."""
    match = request.headers.get("If-None-Match")
    if match is not None:
        return snap.etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*"
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return snap.last_modified <= when


def _stamp_bytes(when: datetime) -> Callable[[re.Match[bytes]], bytes]:
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return lambda match: b"<" + match.group(1) + b">" + text + b"</" + match.group(1) + b">"


def _stamped(entry: bytes, when: datetime) -> bytes:
    return _STAMP.sub(_stamp_bytes(when), entry)
