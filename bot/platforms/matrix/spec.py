"""The Matrix platform as the registry sees it (light: nio is imported only when built)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec, lazy, missing, on_off

if TYPE_CHECKING:
    from bot.config import Settings

_USER_ID = re.compile(r"^@[^:\s]+:\S+$")


def _staff_token(token: str) -> tuple[str, str] | None:
    """A rota `@who` written as a Matrix user id (``@user:server``); the localpart names a new row."""
    return (token, token[1:].split(":", 1)[0]) if _USER_ID.match(token) else None


def _describe(s: Settings) -> str:
    cards = f"cards in {s.MATRIX_STAFF_ROOM}" if s.MATRIX_STAFF_ROOM else "source only, no cards"
    return on_off("matrix", s.matrix_on, f"{s.MATRIX_HOMESERVER} as {s.MATRIX_USER_ID}, {cards}")


def _problems(s: Settings) -> list[str]:
    if not s.matrix_on:
        return []
    found = missing(s, "MATRIX_HOMESERVER is set", "MATRIX_USER_ID")
    if not (s.MATRIX_STAFF_ROOM or s.MATRIX_SOURCE_ROOMS):
        found.append(
            "MATRIX_HOMESERVER is set but MATRIX_STAFF_ROOM is not: cards would go nowhere on Matrix "
            "(set it to the staff room's id, !...)"
        )
    if not (s.MATRIX_ACCESS_TOKEN or s.MATRIX_PASSWORD):
        found.append("MATRIX_HOMESERVER is set but neither MATRIX_ACCESS_TOKEN nor MATRIX_PASSWORD is")
    return found


SPEC = PlatformSpec(
    name="matrix",
    display="Matrix",
    settings_keys=(
        "MATRIX_HOMESERVER",
        "MATRIX_USER_ID",
        "MATRIX_ACCESS_TOKEN",
        "MATRIX_PASSWORD",
        "MATRIX_STAFF_ROOM",
        "MATRIX_SOURCE_ROOMS",
        "MATRIX_DIRECT_MESSAGES",
        "MATRIX_MANAGER_POWER_LEVEL",
    ),
    describe=_describe,
    problems=_problems,
    source_on=lambda s: s.matrix_on and bool(s.MATRIX_SOURCE_ROOMS),
    desk_on=lambda s: s.matrix_on,
    build_source=lazy("bot.platforms.matrix.source", "build"),
    build_desk=lazy("bot.platforms.matrix.desk", "build"),
    make_client=lazy("bot.platforms.matrix.link", "make_client"),
    client_on=lambda s: s.matrix_on,
    command_prefix="!",
    staff_id_column="matrix_user_id",
    role_channel_column="matrix_room",
    staff_token=_staff_token,
)
