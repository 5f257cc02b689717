"""The one Matrix connection (a matrix-nio AsyncClient) and the single sync loop shared by source and desk."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from nio import AsyncClient, AsyncClientConfig, RoomMessagesResponse, SyncResponse

from bot.backoff import Reconnector
from bot.config import Settings
from bot.errors import PermanentError, TransientError
from bot.platforms.matrix.session import MatrixSession
from bot.platforms.matrix.wire import Batch, RoomEvent, fresh_events, sync_filter

__all__ = ["Batch", "MatrixLink", "RoomEvent", "link_for", "make_client"]

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 50
BACKFILL_PAGES = 20  # after a long outage, page back at most 20 x 100 events per room
_WRAPPED: weakref.WeakKeyDictionary[AsyncClient, MatrixLink] = weakref.WeakKeyDictionary()


def make_client(settings: Settings) -> MatrixLink:
    """Build the one Matrix connection for this process; source and desk both receive it."""
    config = AsyncClientConfig(
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=60,
        store_sync_tokens=False,
        encryption_enabled=False,
    )
    client = AsyncClient(settings.MATRIX_HOMESERVER.rstrip("/"), settings.MATRIX_USER_ID, config=config)
    return MatrixLink(client, settings, accept_direct=settings.MATRIX_DIRECT_MESSAGES)


def link_for(shared: object, settings: Settings) -> MatrixLink:
    """The one link for the client the app injected, so source and desk share one sync loop."""
    if isinstance(shared, MatrixLink):
        return shared
    if isinstance(shared, AsyncClient):
        link = _WRAPPED.get(shared)
        if link is None:
            link = _WRAPPED[shared] = MatrixLink(shared, settings)
        return link
    log.warning("no shared matrix client was injected; building one")
    return make_client(settings)


class MatrixLink(MatrixSession):
    """The session plus the single sync loop that serves both the source and the desk.

    The loop runs where a source pulls ``batches(cursor)``; staff-room events go to a queue that the
    desk drains with ``desk_events()``. With no source attached, the desk runs the loop itself.
    """

    def __init__(
        self,
        client: AsyncClient,
        settings: Settings,
        *,
        reconnector: Reconnector | None = None,
        sync_timeout_ms: int = SYNC_TIMEOUT_MS,
        timeline_limit: int = TIMELINE_LIMIT,
        accept_direct: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(client, settings, accept_direct=accept_direct, clock=clock)
        self.reconnector = reconnector or Reconnector()
        self.sync_timeout_ms = sync_timeout_ms
        self.timeline_limit = timeline_limit
        self.source_attached = False
        self.desk_attached = False
        self._desk_queue: asyncio.Queue[RoomEvent] = asyncio.Queue()
        self._loop_lock = asyncio.Lock()

    # --- the sync loop ----------------------------------------------------------------------

    async def batches(self, since: str | None) -> AsyncGenerator[Batch, None]:
        """Sync forever from ``since``; the first sync without a token yields only its token.

        Staff-room events go to the desk only once the consumer comes back for more, that is
        after the source has stored the batch's token: a crash before that replays them once, a
        crash after it may drop a click, but a staff ``!reply`` is never run twice. Transient
        failures wait as ``bot.backoff`` says (``retry_after_ms`` honoured, capped).
        """
        loop = asyncio.get_running_loop()
        async with self._loop_lock:
            token, full_state, up_since = since, since is not None, loop.time()
            while True:
                try:
                    await self.ensure_open()
                    batch = await self._sync(token, full_state=full_state)
                except TransientError as exc:
                    wait = self.reconnector.failed(retry_after=exc.retry_after)
                    log.warning("matrix sync failed (%s); retrying in %.1fs", type(exc).__name__, wait)
                    await asyncio.sleep(wait)
                    up_since = loop.time()
                    continue
                except PermanentError as exc:
                    if token is None:
                        raise
                    log.error("matrix refused the stored sync token (%s); starting from now", exc)
                    token = None
                    continue
                self.reconnector.connected_for(loop.time() - up_since)
                full_state = False
                yield batch
                token = batch.next_batch
                for item in batch.desk:
                    self._desk_queue.put_nowait(item)

    async def _sync(self, since: str | None, *, full_state: bool) -> Batch:
        limit = self.timeline_limit if since else 1
        timeout = self.sync_timeout_ms if since and not full_state else 0
        try:
            async with asyncio.timeout(self.sync_timeout_ms / 1000 + 60):
                answer = await self.call(
                    self.client.sync(
                        timeout=timeout, since=since, full_state=full_state, sync_filter=sync_filter(limit)
                    )
                )
        except TimeoutError:
            raise TransientError("matrix sync timed out") from None
        assert isinstance(answer, SyncResponse)
        await self._invites(answer.rooms.invite)
        if since is None:
            return Batch(answer.next_batch)
        events: list[RoomEvent] = []
        desk: list[RoomEvent] = []
        for room_id, info in answer.rooms.join.items():
            kind = self._kind(room_id)
            if kind is None:
                continue
            raw = [event.source for event in info.timeline.events]
            if info.timeline.limited and info.timeline.prev_batch:
                raw = await self._backfill(room_id, info.timeline.prev_batch, since) + raw
            for event in fresh_events(raw, self.user_id):
                if kind == "staff":
                    desk.append(RoomEvent(room_id, event))
                else:
                    events.append(RoomEvent(room_id, event, direct=kind == "direct"))
        return Batch(answer.next_batch, tuple(events), tuple(desk))

    def _kind(self, room_id: str) -> str | None:
        if room_id == self.staff_room or room_id in self.desk_rooms:
            return "staff" if self.desk_attached else None
        if not self.source_attached:
            return None
        if room_id in self.source_rooms:
            return "source"
        return "direct" if room_id in self.direct_rooms else None

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[dict[str, Any]]:
        """Events a limited (gappy) sync left out, oldest first: delivery may repeat, never skip."""
        found: list[dict[str, Any]] = []
        start = prev_batch
        for _ in range(BACKFILL_PAGES):
            page = await self.call(self.client.room_messages(room_id, start=start, end=since, limit=100))
            assert isinstance(page, RoomMessagesResponse)
            found.extend(event.source for event in page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        log.info("backfilled %d events in matrix room %s", len(found), room_id)
        return found[::-1]

    async def desk_events(self) -> AsyncIterator[RoomEvent]:
        """Staff-room events, in order, for the desk (fed by whichever task runs the loop)."""
        while True:
            yield await self._desk_queue.get()

    async def run_for_desk(self) -> None:
        """Run the loop from 'now' when no source drives it (desk-only deployments)."""
        if self.source_attached:
            await asyncio.Event().wait()
        async for _batch in self.batches(None):
            pass
