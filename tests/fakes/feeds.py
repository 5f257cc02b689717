"""A loopback HTTP server that serves feeds the way real hosts do, and misbehaves on request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import Literal

from aiohttp import web

from bot.models import Mention
from bot.platforms.feeds.source import FeedsAdapter

from .loopback import LoopbackServer

Mode = Literal["ok", "status", "stall", "stream"]
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a test feed."""

    id: str
    title: str
    summary: str = ""
    link: str = ""
    published: datetime = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    lang: str | None = None


def atom(items: list[Item], *, title: str = "Google Alert - Riverside Public Library") -> bytes:
    """An Atom document in Google Alerts' shape (html titles and content, redirect links)."""
    entries = "".join(
        f"<entry{_lang(item)}><id>{escape(item.id)}</id>"
        f'<title type="html">{escape(item.title)}</title>'
        f'<link href="{escape(item.link)}"></link>'
        f"<published>{item.published.isoformat()}</published>"
        f"<updated>{item.published.isoformat()}</updated>"
        f'<content type="html">{escape(item.summary)}</content>'
        "<author><name></name></author></entry>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="{ATOM_NS}" '
        'xmlns:idx="urn:atom-extension:indexing">'
        "<id>tag:google.com,2005:reader/user/0000/state/com.google/alerts/1111</id>"
        f"<title>{escape(title)}</title><updated>2025-03-01T09:00:00Z</updated>{entries}</feed>"
    ).encode()


def rss(items: list[Item], *, language: str = "en-gb") -> bytes:
    """An RSS 2.0 document with guids, pubDates and HTML descriptions."""
    body = "".join(
        f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
        f"<description>{escape(item.summary)}</description>"
        + (f'<guid isPermaLink="false">{escape(item.id)}</guid>' if item.id else "")
        + f"<pubDate>{format_datetime(item.published)}</pubDate></item>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Riverside Community Forum</title><link>https://forum.example.org/</link>"
        f"<description>Latest posts</description><language>{language}</language>{body}</channel></rss>"
    ).encode()


def _lang(item: Item) -> str:
    return f' xml:lang="{item.lang}"' if item.lang else ""


@dataclass(slots=True)
class Route:
    """What one path serves, and what the server saw on it."""

    body: bytes = b""
    mode: Mode = "ok"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    use_etag: bool = True
    use_last_modified: bool = True
    version: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    not_modified: int = 0
    streamed: int = 0

    @property
    def etag(self) -> str:
        """The entity tag of the current body."""
        return f'"v{self.version}"'

    @property
    def last_modified(self) -> str:
        """An HTTP date that moves with every new version."""
        return format_datetime(
            datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=self.version), usegmt=True
        )

    def publish(self, body: bytes) -> None:
        """Serve a new version of the document."""
        self.body = body
        self.version += 1
        self.mode = "ok"


class FeedServer(LoopbackServer):
    """A loopback server whose paths (``routes``) are set up by the tests."""

    shutdown_timeout = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}
        self._release = asyncio.Event()

    def web_routes(self) -> list[web.RouteDef]:
        return [web.get("/{name:.*}", self._handle)]

    async def close(self) -> None:
        self._release.set()  # stalled and streaming answers end, so the runner can stop
        await super().close()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.origin + path

    def route(self, path: str, body: bytes = b"", **options: object) -> Route:
        """Create (or replace) the route at ``path``."""
        route = Route(body=body, version=1, **options)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404)
        route.requests.append(dict(request.headers))
        if route.mode == "stall":
            await self._release.wait()
            return web.Response(status=503)
        if route.mode == "status":
            return web.Response(status=route.status, headers=route.headers, text="unavailable")
        if route.mode == "stream":
            return await self._stream(request, route)
        return self._document(request, route)

    def _document(self, request: web.Request, route: Route) -> web.Response:
        headers = {"Content-Type": "application/atom+xml; charset=utf-8", **route.headers}
        if route.use_etag:
            headers["ETag"] = route.etag
        if route.use_last_modified:
            headers["Last-Modified"] = route.last_modified
        fresh = (route.use_etag and request.headers.get("If-None-Match") == route.etag) or (
            not route.use_etag
            and route.use_last_modified
            and request.headers.get("If-Modified-Since") == route.last_modified
        )
        if fresh:
            route.not_modified += 1
            return web.Response(status=304, headers=headers)
        return web.Response(body=route.body, headers=headers)

    async def _stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        """An endless body without Content-Length: only a cap enforced while reading stops it."""
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<!-- " + b"x" * 65_536 + b" -->"
        try:
            await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            while route.streamed < 512 * 1024 * 1024 and not self._release.is_set():
                await response.write(chunk)
                route.streamed += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response


async def eventually(predicate: Callable[[], bool], *, within: float = 10.0) -> None:
    """Wait until ``predicate()`` holds (checked every 10 ms); fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


class Pump:
    """Consumes ``adapter.mentions(cursor)`` in a task and records every yielded pair."""

    def __init__(self, adapter: FeedsAdapter, cursor: str | None = None) -> None:
        self.items: list[tuple[Mention | None, str | None]] = []
        self.task = asyncio.create_task(self._run(adapter, cursor))

    async def _run(self, adapter: FeedsAdapter, cursor: str | None) -> None:
        async for item in adapter.mentions(cursor):
            self.items.append(item)

    @property
    def mentions(self) -> list[Mention]:
        """The mentions yielded so far (cursor-only updates left out)."""
        return [mention for mention, _ in self.items if mention is not None]

    @property
    def cursor(self) -> str | None:
        """The last cursor yielded, as the store would hold it."""
        cursors = [cursor for _, cursor in self.items if cursor is not None]
        return cursors[-1] if cursors else None

    async def stop(self) -> None:
        """Cancel the consumer (the adapter's generator closes its fetch tasks)."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        if not self.task.cancelled() and self.task.exception() is not None:
            raise self.task.exception()  # type: ignore[misc]
