"""Mastodon streaming (server-sent events): a pure SSE decoder and a reconnecting reader."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx

from bot.backoff import Reconnector
from bot.errors import AdapterConfigError, PermanentError, TransientError
from bot.models import Mention, MentionChange
from bot.net.http_json import StatusRules, status_error
from bot.net.retry import reconnecting
from bot.platforms.mastodon.parse import SOURCE, parse_notification, parse_status

log = logging.getLogger(__name__)

# A refused token is 401 or 403; 408 and every other refusal mean "no streaming here: poll".
STREAM_STATUS = StatusRules(
    also_transient=frozenset(), hint_on_5xx=False, refused=frozenset({401, 403}), refused_note="token refused"
)


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event."""

    event: str
    data: str


class SSEDecoder:
    """Line-by-line SSE decoder (the WHATWG rules Mastodon relies on; ``:thump`` is a comment)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SSEEvent | None:
        """Feed one line without its newline; returns an event when a blank line ends one."""
        line = line.rstrip("\r")
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None  # comment / heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


class NoticeKind(StrEnum):
    """What a stream event means for the adapter."""

    MENTION = "mention"  # a new mention: deliver now; the REST catch-up that follows confirms it
    CHECK = "check"  # a notification event we could not read: catch up by REST
    EDIT = "edit"  # status.update of a post that mentions us (``mention`` holds the new version)
    DELETE = "delete"  # the status ``status_id`` was deleted (may or may not be a stored mention)


@dataclass(frozen=True, slots=True)
class StreamNotice:
    """A parsed stream event."""

    kind: NoticeKind
    mention: Mention | None = None
    status_id: str = ""


def parse_stream_event(
    event: SSEEvent, *, local_domain: str = "", own_id: str = "", now: datetime | None = None
) -> StreamNotice | None:
    """Interpret one streaming event; ``None`` for events the adapter ignores. Never raises.

    Home-timeline ``update`` events, other notification types, filter and announcement
    events are ignored without parsing; an edit counts only when the post mentions ``own_id``.
    """
    if event.event == "delete":
        return StreamNotice(NoticeKind.DELETE, status_id=event.data.strip()) if event.data.strip() else None
    if event.event not in ("notification", "status.update"):
        return None
    try:
        payload = json.loads(event.data)
        if not isinstance(payload, dict):
            raise ValueError("payload is not an object")
        if event.event == "status.update":
            return _edit(payload, local_domain=local_domain, own_id=own_id, now=now)
        mention = parse_notification(payload, local_domain=local_domain, now=now)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser's stack
        log.warning("mastodon stream: malformed %s event skipped", event.event)
        return StreamNotice(NoticeKind.CHECK) if event.event == "notification" else None
    if mention is None:
        return None
    return StreamNotice(NoticeKind.MENTION, mention=mention, status_id=mention.external_id)


def needs_catch_up(news: list[StreamNotice | None] | None) -> bool:
    """REST catch-up after a quiet poll interval, a (re)connect, a mention or an unreadable event."""
    if news is None:
        return True
    return any(n is None or n.kind in (NoticeKind.MENTION, NoticeKind.CHECK) for n in news)


def change_for(notice: StreamNotice) -> MentionChange | None:
    """The app-level change an edit or deletion means (the service ignores unknown ids)."""
    if notice.kind is NoticeKind.EDIT and notice.mention is not None:
        edited = notice.mention
        return MentionChange(SOURCE, edited.external_id, "edit", edited.author_id, edited.text)
    if notice.kind is NoticeKind.DELETE and notice.status_id:
        # Mastodon deletes a status only for its author (or the instance's moderators): no sender to check
        return MentionChange(SOURCE, notice.status_id, "withdraw", author_only=True)
    return None


def _edit(
    status: dict[str, Any], *, local_domain: str, own_id: str, now: datetime | None
) -> StreamNotice | None:
    mentioned = status.get("mentions")
    ids = (
        {str(m.get("id")) for m in mentioned if isinstance(m, dict)} if isinstance(mentioned, list) else set()
    )
    if own_id and own_id not in ids:
        return None  # an edit in the home timeline that does not concern the library
    edited = parse_status(status, local_domain=local_domain, now=now)
    return StreamNotice(NoticeKind.EDIT, mention=edited, status_id=edited.external_id)


class StreamUnsupported(Exception):
    """The server does not offer SSE streaming here (GoToSocial, a proxy): poll instead."""


class NotificationStream:
    """Reads a user stream forever over server-sent events, reconnecting with backoff.

    Over HTTP Mastodon names the stream in the path: ``/api/v1/streaming/user`` carries the
    account's notifications plus ``delete`` (also sent for deleted posts that mentioned the
    account) and ``status.update`` events; ``/api/v1/streaming/user/notification`` carries
    notifications only. (``?stream=user:notification`` is the WebSocket form.)

    Puts ``None`` on the queue after every (re)connect (the adapter then catches up by REST)
    and a ``StreamNotice`` for every event that matters. A stream with neither data nor
    heartbeat for ``stall_timeout`` seconds is treated as dead and reconnected.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        stall_timeout: float,
        reconnector: Reconnector,
        clock: Callable[[], datetime],
        local_domain: str = "",
        own_id: str = "",
    ) -> None:
        self._client = client
        self._own_id = own_id
        self._url = url
        self._stall = stall_timeout
        self._reconnector = reconnector
        self._clock = clock
        self._domain = local_domain
        self.connected = False

    async def run(self, queue: asyncio.Queue[StreamNotice | None]) -> None:
        """Run until cancelled, or until the server shows it cannot stream."""
        try:
            await reconnecting(
                functools.partial(self._session, queue),
                policy=self._reconnector,
                on_error=self._dropped,
                clock=asyncio.get_running_loop().time,
                retryable=_droppable,
            )
        except (StreamUnsupported, AdapterConfigError) as exc:
            log.warning("mastodon stream: unavailable (%s); polling only", exc)
            queue.put_nowait(None)  # wake the adapter so it polls at the shorter interval

    async def _session(self, queue: asyncio.Queue[StreamNotice | None]) -> None:
        try:
            await self._read_once(queue)
        finally:
            self.connected = False
        raise _ServerClosed  # a stream that ends is reconnected like one that broke

    def _dropped(self, exc: Exception, wait: float) -> None:
        if isinstance(exc, _ServerClosed):
            log.info("mastodon stream: closed by the server; reconnecting")
        elif isinstance(exc, httpx.ReadTimeout):
            log.warning("mastodon stream: stalled for %.0fs; reconnecting", self._stall)
        elif isinstance(exc, TransientError):
            log.warning("mastodon stream: %s; reconnecting", exc)
        else:
            log.warning("mastodon stream: %s; reconnecting", type(exc).__name__)

    async def _read_once(self, queue: asyncio.Queue[StreamNotice | None]) -> None:
        timeout = httpx.Timeout(30.0, read=self._stall)
        headers = {"Accept": "text/event-stream"}
        async with self._client.stream("GET", self._url, headers=headers, timeout=timeout) as resp:
            if resp.status_code != 200:
                await resp.aread()
                self._refuse(resp)
            self.connected = True
            log.info("mastodon stream: connected")
            queue.put_nowait(None)
            decoder = SSEDecoder()
            async for line in resp.aiter_lines():
                event = decoder.feed(line)
                notice = (
                    parse_stream_event(
                        event, local_domain=self._domain, own_id=self._own_id, now=self._clock()
                    )
                    if event
                    else None
                )
                if notice is not None:
                    queue.put_nowait(notice)

    def _refuse(self, resp: httpx.Response) -> None:
        status = resp.status_code
        error = status_error(
            status,
            label=f"streaming: HTTP {status}",
            now=self._clock(),
            rules=STREAM_STATUS,
            retry_after=resp.headers.get("retry-after"),
        )
        if type(error) is PermanentError:  # anything else refused: this server cannot stream
            raise StreamUnsupported(f"HTTP {status}")
        raise error


class _ServerClosed(Exception):
    """The server ended the stream cleanly."""


def _droppable(exc: Exception) -> bool:
    """A stream that broke, stalled or ended is reconnected; anything else propagates."""
    return isinstance(exc, _ServerClosed | TransientError | httpx.HTTPError)


async def next_notices(
    queue: asyncio.Queue[StreamNotice | None], seconds: float
) -> list[StreamNotice | None] | None:
    """Wait up to ``seconds`` for stream news and take everything queued; None when time ran out.

    ``None`` items in the list mean "(re)connected".
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):  # not wait_for: on 3.11 it can swallow a cancellation
            found = [await queue.get()]
        while not queue.empty():
            found.append(queue.get_nowait())
        return found
    return None
