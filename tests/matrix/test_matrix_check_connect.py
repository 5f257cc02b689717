"""`patron-desk check --connect` against a real Synapse: the bot's staff room membership and its power
to post there are checked, and nothing is posted."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from bot.platforms.matrix.reach import send_level
from bot.setup_check import check_setup
from tests.matrix.matrix_helpers import Account, World, by_sender


def desk_line(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("matrix desk:"))


async def raise_message_level(account: Account, room_id: str, level: int) -> None:
    path = f"/rooms/{quote(room_id)}/state/m.room.power_levels/"
    levels = await account.call("GET", path)
    levels.setdefault("events", {})["m.room.message"] = level
    await account.call("PUT", path, levels)


async def test_an_invited_bot_can_post_and_nothing_is_posted(world: World, tmp_path: Path) -> None:
    bot = world.users.bot.user_id
    lines, ok = await check_setup(world.settings(tmp_path), connect=True)
    assert ok, lines
    assert desk_line(lines) == (
        f"matrix desk: connected: {bot} can post cards in {world.staff_room} (power level 0, messages need 0)"
    )
    assert by_sender(await world.staff1.messages(world.staff_room), bot) == []


async def test_a_bot_below_the_message_level_is_told_what_to_raise(world: World, tmp_path: Path) -> None:
    await raise_message_level(world.staff1, world.staff_room, 50)
    lines, ok = await check_setup(world.settings(tmp_path), connect=True)
    assert not ok
    assert "may not post in the staff room" in desk_line(lines)
    assert "messages need power level 50, it has 0" in desk_line(lines)


async def test_a_room_the_bot_was_never_invited_to(world: World, tmp_path: Path) -> None:
    lonely = await world.staff1.create_room(public=False)
    lines, ok = await check_setup(world.settings(tmp_path, MATRIX_STAFF_ROOM=lonely), connect=True)
    assert not ok
    assert f"has not joined the staff room {lonely}; invite it" in desk_line(lines)


def test_send_level_reads_events_then_events_default() -> None:
    levels = {"type": "m.room.power_levels", "state_key": ""}
    assert send_level([]) == 0
    assert send_level([{**levels, "content": {"events_default": 10}}]) == 10
    assert send_level([{**levels, "content": {"events_default": 10, "events": {"m.room.message": 20}}}]) == 20
    assert send_level([{**levels, "content": {"events": {"m.room.message": True}}}]) == 0  # not a number
    assert send_level([{**levels, "state_key": "x", "content": {"events_default": 99}}]) == 0
