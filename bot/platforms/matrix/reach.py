"""`check --connect` for the Matrix desk: has the bot joined the staff room, and may it post there?"""

from __future__ import annotations

from typing import Any

from nio import JoinedRoomsResponse

from bot.errors import AdapterConfigError
from bot.platforms.matrix.commands import power_level
from bot.platforms.matrix.link import MatrixLink


def send_level(state: list[dict[str, Any]], event_type: str = "m.room.message") -> int:
    """The power level a room asks for sending ``event_type`` (``events``, else ``events_default``)."""
    levels = next(
        (e for e in state if e.get("type") == "m.room.power_levels" and e.get("state_key") == ""), None
    )
    if levels is None:
        return 0  # no power levels: anyone joined may send
    content = levels.get("content") or {}
    events = content.get("events")
    value = events.get(event_type) if isinstance(events, dict) else None
    if value is None:
        value = content.get("events_default", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def room_verdict(room_id: str, user_id: str, *, joined: bool, state: list[dict[str, Any]]) -> str:
    """One line, or ``AdapterConfigError`` saying what to change so that cards can be posted."""
    if not joined:
        raise AdapterConfigError(
            f"{user_id} has not joined the staff room {room_id}; invite it from Element "
            "(it accepts the invitation when it starts)"
        )
    mine, needed = power_level(state, user_id), send_level(state)
    if mine < needed:
        raise AdapterConfigError(
            f"{user_id} may not post in the staff room {room_id}: messages need power level {needed}, "
            f"it has {mine}; raise it in the room's settings (Roles & Permissions)"
        )
    return f"{user_id} can post cards in {room_id} (power level {mine}, messages need {needed})"


async def check_staff_room(link: MatrixLink) -> str:
    """Sign in (joining rooms the bot was invited to, as at start) and judge the staff room."""
    await link.ensure_open()
    answer = await link.call(link.client.joined_rooms())
    joined = isinstance(answer, JoinedRoomsResponse) and link.staff_room in answer.rooms
    state = await link.room_state(link.staff_room) if joined else []
    return room_verdict(link.staff_room, link.user_id, joined=joined, state=state)
