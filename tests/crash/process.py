"""The bot as a child process (`python -m bot run`), started, killed with SIGKILL, stopped, restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from bot.config import Settings

CRASH_VARS = ("PATRON_DESK_CRASH_AT", "PATRON_DESK_NO_RECONCILE")


def child_env(settings: dict[str, str], *, no_reconcile: bool = False) -> dict[str, str]:
    """The environment for the bot: this one without any setting or crash variable, plus ``settings``."""
    drop = {*Settings.names(), *CRASH_VARS}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(settings)
    if no_reconcile:
        env["PATRON_DESK_NO_RECONCILE"] = "1"
    return env


def _log_file(path: Path) -> IO[bytes]:
    return path.open("ab")


class Child:
    """One run of the bot process."""

    def __init__(self, proc: asyncio.subprocess.Process, log: IO[bytes], number: int) -> None:
        self.proc = proc
        self.number = number
        self.exited: asyncio.Task[int] = asyncio.create_task(proc.wait(), name=f"bot-{number}-exit")
        self.stopping = False  # asked to stop (SIGTERM): its end is not a crash
        self._log = log
        self.exited.add_done_callback(lambda _: log.close())

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    @property
    def killed(self) -> bool:
        """Ended by SIGKILL (a crash point, or the harness after an emulator drop)."""
        return self.exited.done() and self.proc.returncode == -signal.SIGKILL

    def kill(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)

    async def stop(self, within: float = 20.0) -> int:
        """SIGTERM (the graceful stop); SIGKILL if it has not ended ``within`` seconds later."""
        self.stopping = True
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(within):
                return await asyncio.shield(self.exited)
        except TimeoutError:
            self.kill()
            return await self.exited


class BotProcess:
    """Starts children of one bot (same database, same settings); remembers every start."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.children: list[Child] = []

    @property
    def current(self) -> Child:
        return self.children[-1]

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    async def start(self, *, crash_at: str | None = None) -> Child:
        env = dict(self.env)
        if crash_at:
            env["PATRON_DESK_CRASH_AT"] = crash_at
        log = _log_file(self.log_path)
        log.write(f"\n===== start {len(self.children) + 1} (crash at {crash_at or '-'}) =====\n".encode())
        log.flush()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.workdir,  # no stray .env from the repository
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        child = Child(proc, log, len(self.children) + 1)
        self.children.append(child)
        return child

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    async def aclose(self) -> None:
        """Kill whatever is still running (a failed run)."""
        for child in self.children:
            child.kill()
            with contextlib.suppress(Exception):
                await child.exited
