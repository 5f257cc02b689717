"""The console desk as the registry sees it (light: the desk is imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec, lazy, on_off

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    return on_off("console desk", s.console_on, "this terminal")


SPEC = PlatformSpec(
    name="console",
    display="Console",
    settings_keys=("CONSOLE_DESK", "CONSOLE_STAFF"),
    describe=_describe,
    desk_on=lambda s: s.console_on,
    build_desk=lazy("bot.platforms.console.desk", "build"),
    local=True,
)
