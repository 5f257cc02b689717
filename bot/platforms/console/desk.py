"""The console desk: cards printed in the terminal, commands typed back. The default with no chat desk."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from collections.abc import Iterable
from typing import TextIO

from bot.config import Settings
from bot.core.base import ACTION_FAILED, OnAction
from bot.core.cards import console_card, fold_text
from bot.errors import ConfigError
from bot.models import DeskQuery, StaffRef
from bot.platforms.base import AdapterDeps
from bot.platforms.console.identity import Identity, Staff
from bot.platforms.console.lines import HELP, ME, VERBS, parse_line
from bot.platforms.console.notices import Notices
from bot.routing.rules import StaffSpec
from bot.views import ActionResult, CardRef, FoldView, TicketView

__all__ = ["HELP", "ME", "VERBS", "ConsoleDesk", "build", "parse_line"]

log = logging.getLogger(__name__)


def _pollable(stream: TextIO) -> bool:
    """A terminal, pipe or socket can be read without blocking the loop; a file or /dev/null cannot."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stream.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class ConsoleDesk:
    """Prints cards to ``output`` and reads commands from ``input`` (stdin by default).

    Args:
        input, output: the terminal (stdin/stdout by default).
        staff: the rules file's people, whom `iam NAME` may act as.
        act_as: act as this staff member from the start ("" = the operator, a manager).
        notice_delay: how long notices wait for the same text addressed to others.
    """

    desk = "console"

    def __init__(
        self,
        *,
        input: asyncio.StreamReader | None = None,
        output: TextIO | None = None,
        staff: Iterable[StaffSpec] = (),
        act_as: str = "",
        notice_delay: float = 0.25,
    ) -> None:
        self._input = input
        self._out = output or sys.stdout
        self.staff = Staff(staff)
        found = self.staff.identity(act_as)
        if isinstance(found, str):
            raise ConfigError(f"CONSOLE_STAFF: {found}")
        self.me: Identity = found
        self.notices = Notices(self._write, delay=notice_delay)

    def _write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def _print(self, text: str) -> None:
        self.notices.flush()  # a notice that came first is printed first
        self._write(text)

    async def _reader(self) -> asyncio.StreamReader | None:
        if self._input is not None:
            return self._input
        if sys.stdin is None or sys.stdin.closed or not _pollable(sys.stdin):
            return None
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        except (OSError, ValueError):
            return None
        return reader

    async def serve(self, on_action: OnAction) -> None:
        """Read commands until end of input; cards keep printing after it."""
        reader = await self._reader()
        if reader is None:
            log.info("console desk: no terminal input; printing cards only")
            await asyncio.Event().wait()
            return
        self._print(f"Console desk ready. {self.me.line} Type `help` for commands.")
        while line := await reader.readline():
            await self._run_line(line.decode("utf-8", "replace"), on_action)
        log.info("console desk: end of input; printing cards only")
        await asyncio.Event().wait()

    def _local(self, line: str) -> str | None:
        """Commands the desk answers itself (who it acts as, the help), or None."""
        verb, _, rest = line.strip().partition(" ")
        verb = verb.lower()
        if verb == "iam":
            found = self.staff.identity(rest)
            if isinstance(found, str):
                return found
            self.me = found
            return self.me.line
        if verb == "whoami":
            return self.me.line
        if verb in ("help", "?"):
            return f"{HELP}\n{self.me.line}"
        return None

    async def _run_line(self, line: str, on_action: OnAction) -> None:
        answer = self._local(line)
        if answer is not None:
            self._print(answer)
            return
        parsed = parse_line(line, self.me.ref, manager=self.me.manager)
        if isinstance(parsed, str):
            self._print(parsed)
            return
        try:
            result = await on_action(parsed)
        except Exception as exc:  # the desk keeps reading: one failed line must not end the console
            log.error("console %s failed: %s", type(parsed).__name__, type(exc).__name__)
            result = ActionResult(False, ACTION_FAILED)
        if isinstance(parsed, DeskQuery) and result.ok and result.view is not None:
            self._print("\n" + console_card(result.view))  # `show N`
            return
        self._print(("✓ " if result.ok else "✗ ") + result.message)
        for extra in result.extra:
            self._print(extra)

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Print a new card."""
        self._print("\n" + console_card(card))
        return CardRef(self.desk, channel or "terminal", str(card.mention_id))

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        """Print the card again with its new status."""
        self._print("\n" + console_card(card))

    async def post_fold(
        self, fold: FoldView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Print a summary card for a burst of read-only items."""
        self._print("\n" + fold_text(fold, prefix=""))
        return CardRef(self.desk, channel or "terminal", f"fold-{fold.fold_id}")

    async def update_fold(self, ref: CardRef, fold: FoldView) -> None:
        """Print the summary card again with its new counts."""
        self._print("\n" + fold_text(fold, prefix=""))

    async def history(self, ref: CardRef, line: str, *, ping: str = "", key: str = "") -> None:
        """A history line, under the card's number (the terminal has no threads)."""
        self._print(f"   #{ref.message_id} ↳ {line}")

    async def tell(self, who: StaffRef, text: str) -> None:
        """Private feedback, labelled with its addressee; the same text for several people prints once."""
        self.notices.add(who, text, me=self.me.ref)

    async def ask_checkin(self, who: StaffRef, text: str, *, checkin_id: int, key: str) -> None:
        """A shift's check-in question, with the two commands that answer it (as that person: `iam`)."""
        self.notices.add(who, f"{text} Type `checkin` (on desk) or `needcover`.", me=self.me.ref)

    async def announce(self, text: str) -> None:
        """A message to the whole desk."""
        self._print(f"\n📣 {text}")

    async def aclose(self) -> None:
        """Print notices still waiting."""
        self.notices.flush()


def build(settings: Settings, deps: AdapterDeps) -> ConsoleDesk | None:
    """The console desk when CONSOLE_DESK says so (auto: when no chat desk is configured)."""
    if not settings.console_on:
        return None
    from bot.setup import load_rules_file

    staff = load_rules_file(settings.RULES_FILE).staff
    return ConsoleDesk(staff=staff, act_as=settings.CONSOLE_STAFF)
