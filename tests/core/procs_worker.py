"""One bot process running the scripted staff actions through a desk that does not guard itself.

Usage: python -m tests.core.procs_worker WORKER WORKDIR  (settings from the environment)

Starts a whole PatronDesk (migrations, start-up seeding, relay, timers) with a desk whose serve
loop hands every action to the app and does not catch anything: an action that raises would end
the app's main task, as a console or chat desk did before. Writes ``ready-WORKER`` once running,
waits for ``go``, then prints one JSON line: answered, ok, failed, alive, error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.app import PatronDesk
from bot.config import load_settings
from bot.core.authz import Facts, Place
from bot.core.base import OnAction
from bot.models import StaffRef
from bot.views import ActionResult, CardRef, TicketView
from tests.core.procs_script import script, to_action


class ScriptDesk:
    """A desk whose 'staff' are the script; every action is answered into ``results``."""

    desk = "script"

    def __init__(self, specs: list[dict[str, object]], go: Path) -> None:
        self.specs = specs
        self.go = go
        self.results: list[ActionResult] = []
        self.done = asyncio.Event()

    async def serve(self, on_action: OnAction) -> None:
        while not self.go.exists():  # noqa: ASYNC110 - the test process makes the file
            await asyncio.sleep(0.01)
        for spec in self.specs:
            self.results.append(await on_action(to_action(spec)))  # deliberately unguarded
        self.done.set()
        await asyncio.Event().wait()

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        return CardRef(self.desk, channel or "script", str(card.mention_id))

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        return None

    async def tell(self, who: StaffRef, text: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class StaffGroup:
    """Everyone the script names is in the desk's staff group (as with ``SLACK_STAFF_GROUP``): the
    newcomers are staff acting for the first time, not strangers (those are refused by the gate)."""

    where = "the staff channel"

    def __init__(self, desk: str) -> None:
        self.desk = desk

    def place(self, channel: str) -> Place:
        return Place.STAFF

    async def facts(self, user_id: str, *, need_room: bool) -> Facts:
        return Facts(group=True, in_group=True)


async def main(worker: int, workdir: Path) -> dict[str, object]:
    desk = ScriptDesk(script(worker), workdir / "go")
    async with PatronDesk(load_settings(), desks=[desk]) as app:
        for chat in ("slack", "matrix"):
            app.gate.add(StaffGroup(chat))
        (workdir / f"ready-{worker}").touch()
        finished = asyncio.create_task(desk.done.wait())
        await asyncio.wait({finished, app.main_task}, return_when=asyncio.FIRST_COMPLETED)
        finished.cancel()
        crashed = app.main_task.done()
        error = ""
        if crashed and not app.main_task.cancelled() and app.main_task.exception() is not None:
            exc = app.main_task.exception()
            while isinstance(exc, BaseExceptionGroup):
                exc = exc.exceptions[0]
            error = type(exc).__name__
        return {
            "answered": len(desk.results),
            "expected": len(desk.specs),
            "ok": sum(r.ok for r in desk.results),
            "failed": sum(r.message.startswith("That did not work") for r in desk.results),
            "alive": not crashed,
            "error": error,
        }


if __name__ == "__main__":
    outcome = asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
    print(json.dumps(outcome))
