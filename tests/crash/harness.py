"""One crash run: loopback Mastodon and Slack here, the bot as a child process killed at a named point.

Per (point, seed): start the Mastodon server and the Slack emulator in this process; start
`python -m bot run` with PATRON_DESK_CRASH_AT=point:N; post the seed's mentions over time and carry
out its staff steps through Slack; when the child dies by SIGKILL, start it again without the
variable; wait until every mention has a card and the outbox is empty; stop the bot; count what
Slack and Mastodon show. For ``emulator_drop`` the emulator commits the N-th card post and drops the
connection, and the harness kills the child right after; ``slack_timeout`` is the same drop with no
crash (a platform timeout, reconciled by the running bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes import mastodon as mastodon_server
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, Fault, SlackEmulator

from .observe import Counts, carded, count, outbox_pending, read_store, updates_untouched
from .process import BotProcess, Child, child_env
from .scenario import EMULATOR_DROP, SLACK_TIMEOUT, STAFF, Scenario, scenario
from .staff import STAFF_CHANNEL, Staff

SETTLE_WAIT = 90.0  # seconds for every card to appear and the outbox to drain after the last step
RULES = '\ndefault_role = "social-media"\n\n[roles.social-media]\nsla_minutes = 600\n' + "".join(
    f'\n[[staff]]\nkey = "{key}"\nname = "{key.title()}"\nslack_user_id = "{user}"\n'
    for key, user in STAFF.items()
)


@dataclass(slots=True)
class Outcome:
    """What one (point, seed) run showed."""

    point: str
    seed: int
    nth: int
    crashed: bool = False
    counts: Counts = field(default_factory=Counts)
    steps_answered: int = 0
    steps_given_up: int = 0
    seconds: float = 0.0
    log_tail: str = ""


class DroppingSlack(SlackEmulator):
    """The emulator, telling the harness when it has committed a card post and dropped the connection.

    Args:
        hold_history: from a drop until the harness sets ``history_down`` back to False,
            ``conversations.history`` answers 429, so the bot cannot find the dropped post yet.
    """

    def __init__(self, *, hold_history: bool = False) -> None:
        super().__init__()
        self.dropped = asyncio.Event()
        self.dropped_post: dict[str, Any] = {}  # the arguments of the post that was dropped
        self.hold_history = hold_history
        self.history_down = False
        self._last_post: dict[str, Any] = {}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        self._last_post = args
        return super().m_chat_postMessage(args)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method == "conversations.history" and self.history_down:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429)
        response = await super()._api(request)
        transport = request.transport
        if method == "chat.postMessage" and (transport is None or transport.is_closing()):
            self.dropped_post = self._last_post
            self.history_down = self.hold_history
            self.dropped.set()
        return response


def settings_env(workdir: Path, emu: SlackEmulator, masto: FakeMastodon) -> dict[str, str]:
    """The bot's settings as environment variables (what an operator would write)."""
    rules = workdir / "rules.toml"
    rules.write_text(RULES)
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "RULES_FILE": str(rules),
        "CONSOLE_DESK": "off",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "TIMER_SECONDS": "3600",
        "LOG_LEVEL": "INFO",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": emu.api_url,
        "SLACK_STAFF_CHANNEL": STAFF_CHANNEL,
        "MASTODON_URL": masto.url,
        "MASTODON_ACCESS_TOKEN": mastodon_server.TOKEN,
        "MASTODON_BACKFILL": "true",  # mentions posted before the first start are carded too
        "MASTODON_POLL_SECONDS": "2",
        # the matrix drops and counts top-level posts (cards); history lines in a card's thread are
        # posts too and would take the dropped post's place, so they are off here
        "CARD_HISTORY": "off",
    }


class CrashRun:
    """One (point, seed) run; ``await CrashRun(...).run()`` returns its Outcome."""

    def __init__(
        self, plan: Scenario, workdir: Path, *, no_reconcile: bool = False, hold_history: bool = False
    ) -> None:
        self.plan = plan
        self.workdir = workdir
        self.no_reconcile = no_reconcile
        self.outcome = Outcome(plan.point, plan.seed, plan.nth)
        self.emu = DroppingSlack(hold_history=hold_history)
        self.masto = FakeMastodon(heartbeat=0.5)
        self.bot: BotProcess | None = None
        self._stopping = False

    async def run(self) -> Outcome:
        started = time.monotonic()
        await self.emu.start()
        try:
            async with self.masto:
                await self._run()
        finally:
            if self.bot is not None:
                await self.bot.aclose()
                self.outcome.log_tail = self.bot.log_text()[-6000:]
            await self.emu.close()
            self.outcome.seconds = time.monotonic() - started
        return self.outcome

    async def _run(self) -> None:
        self.emu.add_channel(STAFF_CHANNEL)
        for key, user in STAFF.items():
            self.emu.add_user(user, key, key.title())
        env = child_env(settings_env(self.workdir, self.emu, self.masto), no_reconcile=self.no_reconcile)
        self.bot = bot = BotProcess(self.workdir, env)
        plan = self.plan
        for i in range(plan.early):
            self._post(i)
        if plan.point in (EMULATOR_DROP, SLACK_TIMEOUT):
            self.emu.fail("chat.postMessage", *[Fault("pass")] * (plan.nth - 1), Fault("drop"))
            first = await bot.start()
        else:
            first = await bot.start(crash_at=plan.crash_at)
        watcher = asyncio.create_task(self._watch(first), name="watch")
        staff = Staff(self.emu, bot, plan.tokens)
        try:
            await asyncio.gather(self._patrons(), staff.run(plan.steps), self._release_history(staff))
            if not await self._settled():
                self.outcome.counts.problems.append("did not settle")
            if bot.current is first and first.alive:  # never crashed: restart anyway, then settle again
                await self._stop()
                await bot.start()
                if not await self._settled():
                    self.outcome.counts.problems.append("did not settle after the restart")
        finally:
            self._stopping = True
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await self._stop()
        self.outcome.steps_answered, self.outcome.steps_given_up = staff.answered, staff.given_up
        self._count()

    async def _release_history(self, staff: Staff) -> None:
        """With ``hold_history``: let the bot search the channel again once staff have acted on the
        dropped card and the bot has taken up the card update that followed (done or rescheduled)."""
        if not self.emu.hold_history:
            return
        waits = {asyncio.create_task(self.emu.dropped.wait()), asyncio.create_task(staff.finished.wait())}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if self.emu.dropped.is_set():
            key = str(self.emu.dropped_post["metadata"]["event_payload"]["dedupe_key"])
            text = json.dumps(self.emu.dropped_post.get("blocks"), ensure_ascii=False)
            index = next(i for i, token in enumerate(self.plan.tokens) if token in text)
            mention_id = int(key.rsplit(":", 1)[1])
            while not await self._taken_up(staff, index, mention_id):  # noqa: ASYNC110 - in another process
                await asyncio.sleep(0.05)
        self.emu.history_down = False

    async def _taken_up(self, staff: Staff, index: int, mention_id: int) -> bool:
        """Staff are past the mention, and the bot has attempted each of its card updates."""
        db = self.workdir / "bot.db"
        return staff.past(index) and await asyncio.to_thread(updates_untouched, db, mention_id) == 0

    def _post(self, i: int) -> None:
        text = f"Question {i}: {self.plan.tokens[i]} is the library open on Sunday?"
        self.masto.add_mention(text, acct=f"patron{i}@social.example", visibility=self.plan.visibility[i])

    async def _patrons(self) -> None:
        for i, gap in enumerate(self.plan.gaps, start=self.plan.early):
            await asyncio.sleep(gap)  # patrons' pace, not synchronisation
            self._post(i)

    async def _watch(self, first: Child) -> None:
        """Restart the bot (without the crash variable) when the armed child dies."""
        assert self.bot is not None
        if self.plan.point == EMULATOR_DROP:
            dropped = asyncio.create_task(self.emu.dropped.wait())
            try:
                await asyncio.wait({first.exited, dropped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                dropped.cancel()
            if self.emu.dropped.is_set():
                first.kill()  # the post landed and its answer was lost: now the process dies too
        await first.exited
        if self._stopping or first.stopping:
            return
        self.outcome.crashed = first.killed
        armed = self.plan.point not in (EMULATOR_DROP, SLACK_TIMEOUT)
        if not first.killed:
            self.outcome.counts.problems.append(f"the bot exited with {first.proc.returncode}")
        elif armed and f"crash point {self.plan.crash_at} reached" not in self.bot.log_text():
            self.outcome.counts.problems.append("killed, but not at the armed point")
        await self.bot.start()

    async def _settled(self) -> bool:
        """Every mention carded, the outbox empty, the newest child running; False after SETTLE_WAIT."""
        assert self.bot is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_WAIT
        while loop.time() < deadline:
            posted = len(self.masto.state.notifications) == len(self.plan.tokens)
            if (
                posted
                and carded(self.emu.top_level(STAFF_CHANNEL), self.plan.tokens)
                and self.bot.current.alive
            ):
                pending = await asyncio.to_thread(outbox_pending, self.workdir / "bot.db")
                if pending == 0 and self.bot.current.alive:
                    return True
            await asyncio.sleep(0.2)
        return False

    async def _stop(self) -> None:
        assert self.bot is not None
        code = await self.bot.current.stop()
        if code not in (0, -15):
            self.outcome.counts.problems.append(f"graceful stop ended with {code}")

    def _count(self) -> None:
        stored = read_store(self.workdir / "bot.db")
        counts = count(
            tokens=self.plan.tokens,
            messages=self.emu.top_level(STAFF_CHANNEL),
            posted=self.masto.state.posted,
            stored=stored,
        )
        counts.problems = self.outcome.counts.problems + counts.problems
        self.outcome.counts = counts


async def run_one(
    point: str, seed: int, *, no_reconcile: bool = False, hold_history: bool = False
) -> Outcome:
    """Run one (point, seed) in a fresh temporary directory."""
    plan = scenario(point, seed)
    with tempfile.TemporaryDirectory(prefix=f"crash-{point}-{seed}-") as tmp:
        run = CrashRun(plan, Path(tmp), no_reconcile=no_reconcile, hold_history=hold_history)
        return await run.run()
