"""The console desk: cards printed in the terminal, commands typed back. The default with no chat desk."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from typing import TextIO

from bot.config import Settings
from bot.core.base import ACTION_FAILED, OnAction
from bot.core.cards import console_card, fold_text
from bot.models import (
    MAX_ID,
    ActionResult,
    CardRef,
    Claim,
    DeskQuery,
    FoldView,
    Ignore,
    Reassign,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    StaffAction,
    StaffRef,
    TicketView,
)
from bot.platforms.base import AdapterDeps

log = logging.getLogger(__name__)

HELP = """Commands:
  claim N            take mention #N
  reply N <text>     answer #N on the patron's platform
  resolve N          mark #N handled        release N   give #N back
  ignore N           no answer needed       reassign N <role|@person>
  queue              open mentions and who has what
  desk fold N        list summary card N (desk fold N claim / desk fold N handled: all its items)
  rota <command>     the rota (try: rota help, rota now, rota show)
  help               this list"""

# The console's one user is the operator at the server's terminal: whoever can type here can already
# run `patron-desk rota edit` and read the database, so the gate (bot/core/authz.py) takes them as
# staff and manager. The console is never reachable from the network.
ME = StaffRef("console", "console", "console")
VERBS: dict[str, type[Claim] | type[Release] | type[Resolve] | type[Ignore]] = {
    "claim": Claim,
    "release": Release,
    "resolve": Resolve,
    "ignore": Ignore,
}


def parse_line(line: str, me: StaffRef = ME) -> StaffAction | str:
    """A typed console line as a staff action, or a message for the operator."""
    line = line.strip()
    verb, _, rest = line.partition(" ")
    verb = verb.lower()
    if verb in ("help", "?", ""):
        return HELP
    if verb == "rota":
        return RotaCommand(me, rest.strip(), is_manager=True)  # the console operator runs the server
    if verb in ("queue", "desk"):
        return DeskQuery(me, rest.strip())
    number, _, tail = rest.strip().partition(" ")
    if verb not in (*VERBS, "reply", "reassign"):
        return f"Unknown command {verb!r}. Type `help` for the list."
    digits = number.lstrip("#")
    if not (digits.isascii() and digits.isdigit()):
        return f"`{verb}` needs the card number, e.g. `{verb} 3`."
    if len(digits) > 10 or not 0 < int(digits) <= MAX_ID:
        return f"There is no card #{digits[:12]}. Check the number on the card."
    mention_id = int(digits)
    if verb == "reply":
        return (
            Reply(mention_id, me, tail.strip())
            if tail.strip()
            else "Write the answer: `reply 3 Thanks, ...`."
        )
    if verb == "reassign":
        target = tail.strip()
        if not target:
            return "Say to whom: `reassign 3 reference` or `reassign 3 @alice`."
        if target.startswith("@"):
            return Reassign(mention_id, me, person=target)
        return Reassign(mention_id, me, role=target.split()[0])
    return VERBS[verb](mention_id, me)


def _pollable(stream: TextIO) -> bool:
    """A terminal, pipe or socket can be read without blocking the loop; a file or /dev/null cannot."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stream.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class ConsoleDesk:
    """Prints cards to ``output`` and reads commands from ``input`` (stdin by default)."""

    desk = "console"

    def __init__(self, *, input: asyncio.StreamReader | None = None, output: TextIO | None = None) -> None:
        self._input = input
        self._out = output or sys.stdout

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

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
        self._print("Console desk ready. Type `help` for commands.")
        while line := await reader.readline():
            await self._run_line(line.decode("utf-8", "replace"), on_action)
        log.info("console desk: end of input; printing cards only")
        await asyncio.Event().wait()

    async def _run_line(self, line: str, on_action: OnAction) -> None:
        parsed = parse_line(line)
        if isinstance(parsed, str):
            self._print(parsed)
            return
        try:
            result = await on_action(parsed)
        except Exception as exc:  # the desk keeps reading: one failed line must not end the console
            log.error("console %s failed: %s", type(parsed).__name__, type(exc).__name__)
            result = ActionResult(False, ACTION_FAILED)
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

    async def tell(self, who: StaffRef, text: str) -> None:
        """Private feedback: the console has one operator."""
        self._print(f"» {text}")

    async def announce(self, text: str) -> None:
        """A message to the whole desk."""
        self._print(f"\n📣 {text}")

    async def aclose(self) -> None:
        """Nothing to close."""


def build(settings: Settings, deps: AdapterDeps) -> ConsoleDesk | None:
    """The console desk when CONSOLE_DESK says so (auto: when no chat desk is configured)."""
    return ConsoleDesk() if settings.console_on else None
