"""A process on a pseudo-terminal, driven like a person at the keyboard: send a line, wait for output."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class Terminal:
    """``command`` with stdin, stdout and stderr on one pseudo-terminal (as `make run` in a shell)."""

    def __init__(self, command: Sequence[str], *, cwd: Path, env: dict[str, str]) -> None:
        self._master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.output = ""
        self._seen = 0  # where the next expect() starts looking

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # the process closed the terminal
            return False
        self.output += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return bool(chunk)

    def expect(self, pattern: str, *, within: float = 120.0) -> re.Match[str]:
        """The first match of ``pattern`` in output after the last match; AssertionError on timeout."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        while True:
            found = regex.search(self.output, self._seen)
            if found:
                self._seen = found.end()
                return found
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 1.0)) and self.proc.poll() is not None):
                if found := regex.search(self.output, self._seen):
                    self._seen = found.end()
                    return found
                raise AssertionError(f"no {pattern!r} in the output:\n{self.output[-4000:]}")

    def send(self, line: str) -> None:
        """Type a line and Enter."""
        os.write(self._master, line.encode() + b"\n")

    def interrupt(self, *, within: float = 60.0) -> int:
        """Ctrl-C; the exit code once the process has ended (its last words are read)."""
        self.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + within
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.5)
        while self._read(0.2):
            pass
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        """Kill the process if it still runs, and close the terminal."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self._master)
