"""Private notices on the console: one line per notice, naming everyone it is for.

The core sends a notice once per addressee (on chat desks each person gets their own message); on
the console they all land on one terminal, so the same text arriving for several people within a
moment is printed once, labelled with every addressee.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.core.cards import visible_line
from bot.models import StaffRef

NOTICE_LIMIT = 600


def notice_line(names: list[str], text: str) -> str:
    """``» to Alice Archer, Bob Brennan: text``."""
    return f"» to {', '.join(names)}: {visible_line(text, NOTICE_LIMIT)}"


class Notices:
    """Collects notices for ``delay`` seconds, then prints each text once (``flush`` prints at once)."""

    def __init__(self, write: Callable[[str], None], *, delay: float = 0.25) -> None:
        self._write = write
        self._delay = delay
        self._pending: dict[str, list[str]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, who: StaffRef, text: str, *, me: StaffRef) -> None:
        """Queue ``text`` for ``who`` (named "you" when it is whom the console acts as)."""
        name = "you" if who.user_id == me.user_id else (who.display or who.user_id)
        names = self._pending.setdefault(text, [])
        if name not in names:
            names.append(name)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self.flush)

    def flush(self) -> None:
        """Print what is pending, oldest text first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, {}
        for text, names in pending.items():
            self._write(notice_line(names, text))
