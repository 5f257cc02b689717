"""Who is who on the Matrix desk: staff-room managers and joined members, and where commands work.

The staff room's state and joined members are read from the homeserver and kept for ``TTL`` seconds;
a failed lookup is not cached and counts as "unknown", which the gate (``bot/core/authz.py``) treats
as no.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from nio import JoinedMembersResponse

from bot.core.authz import Facts, Place
from bot.errors import PatronDeskError
from bot.platforms.matrix.commands import power_level
from bot.platforms.matrix.link import MatrixLink

log = logging.getLogger(__name__)

TTL = 60.0


class MatrixRoster:
    """The Matrix desk's roster (see ``bot.core.authz.Roster``)."""

    desk = "matrix"
    where = "the staff room"

    def __init__(
        self, link: MatrixLink, *, manager_level: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.link = link
        self.manager_level = manager_level
        self.clock = clock
        self._state: tuple[float, list[dict[str, Any]]] | None = None
        self._members: tuple[float, frozenset[str]] | None = None

    def place(self, channel: str) -> Place:
        """The staff room or a role's room; the desk sees no other room."""
        if channel and (channel == self.link.staff_room or channel in self.link.desk_rooms):
            return Place.STAFF
        return Place.ELSEWHERE

    async def facts(self, user_id: str, *, need_room: bool) -> Facts:
        """Manager (power level in the staff room) and, when asked, staff-room membership."""
        state = await self.staff_room_state()
        manager = state is not None and power_level(state, user_id) >= self.manager_level
        in_room = None
        if need_room:
            members = await self._joined()
            in_room = None if members is None else user_id in members
        return Facts(manager=manager, in_room=in_room)

    async def staff_room_state(self) -> list[dict[str, Any]] | None:
        """The staff room's state events (cached for TTL); None when the homeserver would not say."""
        now = self.clock()
        if self._state is not None and now - self._state[0] <= TTL:
            return self._state[1]
        try:
            state = await self.link.room_state(self.link.staff_room)
        except PatronDeskError as exc:
            log.warning("matrix staff room state lookup failed (%s)", type(exc).__name__)
            return None
        if not state:
            return None  # not readable: nobody is a manager by it
        self._state = (now, state)
        return state

    async def _joined(self) -> frozenset[str] | None:
        now = self.clock()
        if self._members is not None and now - self._members[0] <= TTL:
            return self._members[1]
        try:
            answer = await self.link.call(self.link.client.joined_members(self.link.staff_room))
        except PatronDeskError as exc:
            log.warning("matrix staff room members lookup failed (%s)", type(exc).__name__)
            return None
        if not isinstance(answer, JoinedMembersResponse):
            return None
        members = frozenset(m.user_id for m in answer.members if m.user_id != self.link.user_id)
        self._members = (now, members)
        return members
