"""The Matrix session: login, room membership, invites, error translation and plain requests (matrix-nio)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    DirectRoomsResponse,
    ErrorResponse,
    LoginResponse,
    RoomGetEventResponse,
    RoomGetStateResponse,
    RoomMessagesResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    WhoamiResponse,
)
from nio.api import RelationshipType

from bot.config import Settings
from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError
from bot.net.wire import Holds
from bot.platforms.matrix.wire import direct_inviter, parse_error

log = logging.getLogger(__name__)

DEVICE_ID = "PATRONDESK"  # a fixed device keeps transaction-id dedupe working across password logins
T = TypeVar("T")


class MatrixSession:
    """One bot account on one homeserver: everything but the sync loop (see ``MatrixLink``)."""

    def __init__(
        self,
        client: AsyncClient,
        settings: Settings,
        *,
        accept_direct: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self._holds = Holds(clock)  # sends wait out M_LIMIT_EXCEEDED (the limit is per user, not per room)
        self.settings = settings
        self.user_id = settings.MATRIX_USER_ID
        self.display_name = ""
        self.staff_room = settings.MATRIX_STAFF_ROOM
        self.desk_rooms: set[str] = set()  # role rooms the desk posted cards in, besides the staff room
        self.source_rooms: tuple[str, ...] = tuple(settings.MATRIX_SOURCE_ROOMS)
        self.accept_direct = accept_direct  # accept invites to direct chats (is_direct) besides the rooms
        self.direct_rooms: set[str] = set()
        self._open_lock = asyncio.Lock()
        self._opened = False

    # --- errors -----------------------------------------------------------------------------

    async def call(self, request: Awaitable[T]) -> T:
        """Await a nio request; vendor errors and exceptions become domain errors."""
        try:
            response = await request
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"matrix request failed: {type(exc).__name__}") from None
        if isinstance(response, ErrorResponse):
            transport = response.transport_response
            body = {"errcode": response.status_code, "retry_after_ms": response.retry_after_ms}
            header = transport.headers.get("Retry-After") if transport is not None else None
            status = transport.status if transport is not None else None
            raise parse_error(body, status=status, retry_after=header, now=datetime.now(UTC))
        return response

    # --- connection -------------------------------------------------------------------------

    async def open(self) -> None:
        """Log in and join the configured rooms; an outage is logged and retried by the loop."""
        try:
            await self.ensure_open()
        except TransientError as exc:
            log.warning("matrix homeserver unreachable at start (%s); will retry", type(exc).__name__)

    async def ensure_open(self) -> None:
        """Log in once (access token or password); raise on failure."""
        async with self._open_lock:
            if self._opened:
                return
            await self._login()
            self.staff_room = await self._room_id(self.staff_room) if self.staff_room else ""
            self.source_rooms = tuple([await self._room_id(room) for room in self.source_rooms])
            for room in self.configured_rooms():
                await self._join(room)
            if self.accept_direct:
                self.direct_rooms = await self._direct_rooms()
            self._opened = True

    async def _login(self) -> None:
        if self.settings.MATRIX_ACCESS_TOKEN:
            self.client.access_token = self.settings.MATRIX_ACCESS_TOKEN
            self.client.user_id = self.user_id
            try:
                who = await self.call(self.client.whoami())
            except PermanentError as exc:
                raise AdapterConfigError(f"MATRIX_ACCESS_TOKEN was refused ({exc})") from None
            assert isinstance(who, WhoamiResponse)
            if who.user_id != self.user_id:
                raise AdapterConfigError(f"MATRIX_ACCESS_TOKEN belongs to {who.user_id}, not MATRIX_USER_ID")
            self.client.device_id = who.device_id or ""
        else:
            self.client.device_id = DEVICE_ID
            try:
                answer = await self.call(self.client.login(self.settings.MATRIX_PASSWORD, "Patron Desk"))
            except PermanentError as exc:
                raise AdapterConfigError(f"MATRIX_PASSWORD login failed ({exc})") from None
            assert isinstance(answer, LoginResponse)
        try:
            name = await self.call(self.client.get_displayname(self.user_id))
        except PatronDeskError:
            name = None
        self.display_name = getattr(name, "displayname", None) or ""

    async def _room_id(self, room: str) -> str:
        """Room ids pass through; aliases (#room:server) are resolved once at start."""
        if not room.startswith("#"):
            return room
        try:
            answer = await self.call(self.client.room_resolve_alias(room))
        except PermanentError as exc:
            raise AdapterConfigError(f"matrix room alias {room} does not resolve ({exc})") from None
        assert isinstance(answer, RoomResolveAliasResponse)
        return answer.room_id

    async def _join(self, room_id: str) -> None:
        try:
            await self.call(self.client.join(room_id))
        except PermanentError as exc:
            log.warning("cannot join matrix room %s yet (%s); invite the bot", room_id, exc)
            return
        try:
            await self.call(self.client.room_get_state_event(room_id, "m.room.encryption"))
        except PermanentError:
            return  # 404: not encrypted, as it must be
        log.error("matrix room %s is end-to-end encrypted: the bot cannot read or answer there", room_id)

    async def _direct_rooms(self) -> set[str]:
        """The bot's direct chats, from its ``m.direct`` account data (written when it accepts one)."""
        try:
            answer = await self.call(self.client.list_direct_rooms())
        except PermanentError:  # none recorded yet
            return set()
        assert isinstance(answer, DirectRoomsResponse)
        return {room for rooms in answer.rooms.values() for room in rooms}

    async def _remember_direct(self, room_id: str, inviter: str) -> None:
        """Record a direct chat in ``m.direct`` so it is still known as one after a restart."""
        self.direct_rooms.add(room_id)
        try:
            current = await self.call(self.client.list_direct_rooms())
            rooms = dict(current.rooms) if isinstance(current, DirectRoomsResponse) else {}
        except PermanentError:
            rooms = {}
        rooms[inviter] = sorted({*rooms.get(inviter, []), room_id})
        path = f"/_matrix/client/v3/user/{quote(self.user_id, safe='')}/account_data/m.direct"
        headers = {"Authorization": f"Bearer {self.client.access_token}", "Content-Type": "application/json"}
        try:
            answer = await self.client.send("PUT", path, json.dumps(rooms), headers)
            answer.release()
        except (aiohttp.ClientError, TimeoutError):
            log.warning("could not record direct chat %s in m.direct", room_id)

    def configured_rooms(self) -> tuple[str, ...]:
        """The staff room and the source rooms: the only rooms whose invites are accepted."""
        return tuple(room for room in (self.staff_room, *sorted(self.desk_rooms), *self.source_rooms) if room)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.client.close()

    async def _invites(self, invited: dict[str, Any]) -> None:
        for room_id, info in invited.items():
            if room_id in self.configured_rooms():
                log.info("accepting invite to configured matrix room %s", room_id)
                await self._join(room_id)
                continue
            state = [_stripped(event) for event in info.invite_state]
            inviter = direct_inviter(state, self.user_id) if self.accept_direct else None
            if inviter is not None:
                log.info("accepting direct chat %s", room_id)
                await self._join(room_id)
                await self._remember_direct(room_id, inviter)
                continue
            log.info("declining invite to unconfigured matrix room %s", room_id)
            try:
                await self.call(self.client.room_leave(room_id))
            except PermanentError as exc:
                log.warning("cannot decline invite to %s (%s)", room_id, exc)

    # --- requests used by both sides --------------------------------------------------------

    async def send(
        self, room_id: str, content: dict[str, Any], *, txn: str, kind: str = "m.room.message"
    ) -> str:
        """Send one event with a transaction id (a retry with the same id never sends twice)."""
        self._holds.check("matrix send")
        try:
            await self.ensure_open()
            answer = await self.call(self.client.room_send(room_id, kind, content, tx_id=txn))
        except AdapterConfigError as exc:  # a revoked token: keep the work queued until it is fixed
            raise TransientError(str(exc)) from None
        except RateLimited as exc:
            self._holds.note("matrix send", exc)
            raise
        assert isinstance(answer, RoomSendResponse)
        return answer.event_id

    async def redact_with_edits(self, room_id: str, event_id: str, *, reason: str) -> int:
        """Redact an event and every edit of it (edits carry the full new text); return how many.

        Redacting only the original would leave the text readable in its ``m.replace`` edits.
        """
        edits: list[str] = []
        try:
            await self.ensure_open()
            relations = self.client.room_get_event_relations(room_id, event_id, RelationshipType.replacement)
            async for event in relations:
                edits.append(event.event_id)
        except (
            aiohttp.ClientError,
            TimeoutError,
            AttributeError,
        ) as exc:  # AttributeError: nio on an error page
            raise TransientError(f"matrix relations failed: {type(exc).__name__}") from None
        for target in [*edits, event_id]:
            await self.call(
                self.client.room_redact(room_id, target, reason=reason, tx_id=f"pd-redact-{target}")
            )
        return len(edits) + 1

    async def get_event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """One event's raw dict, or None when it does not exist or cannot be seen."""
        try:
            answer = await self.call(self.client.room_get_event(room_id, event_id))
        except PermanentError:
            return None
        assert isinstance(answer, RoomGetEventResponse)
        return dict(answer.event.source)

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        """The room's current state events (raw), [] when they cannot be read."""
        try:
            answer = await self.call(self.client.room_get_state(room_id))
        except PermanentError:
            return []
        assert isinstance(answer, RoomGetStateResponse)
        return [dict(event) for event in answer.events]

    async def recent(self, room_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest events of a room, newest first."""
        answer = await self.call(self.client.room_messages(room_id, start=None, limit=limit))
        assert isinstance(answer, RoomMessagesResponse)
        return [event.source for event in answer.chunk]

    def member_name(self, room_id: str, user_id: str) -> str:
        """A member's display name as the sync state knows it ('' when unknown)."""
        room = self.client.rooms.get(room_id)
        return (room.user_name(user_id) if room is not None else None) or ""


def _stripped(event: Any) -> dict[str, Any]:
    """An invite-state event as a dict (nio keeps a member event's content beside its source)."""
    source = dict(getattr(event, "source", None) or {})
    content = getattr(event, "content", None)
    if isinstance(content, dict):
        source["content"] = content
    return source
