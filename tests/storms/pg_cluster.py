"""A private, throwaway PostgreSQL cluster for one test: initdb in a temp dir, a free port, restartable.

The machine's shared PostgreSQL is never touched. As root, the server programs run as the
``postgres`` user (initdb refuses root) through ``runuser``, and the data directory is made theirs.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.loopback import free_port


@dataclass(frozen=True, slots=True)
class PgBinaries:
    """Where initdb and pg_ctl are."""

    initdb: str
    pg_ctl: str


def pg_binaries() -> PgBinaries | None:
    """The newest Debian-style server install, or initdb/pg_ctl on the PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        initdb, pg_ctl = f"{folder}/initdb", f"{folder}/pg_ctl"
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return PgBinaries(initdb, pg_ctl)
    found_initdb, found_pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return PgBinaries(found_initdb, found_pg_ctl) if found_initdb and found_pg_ctl else None


class PgCluster:
    """One cluster: ``init()``, ``start()``, ``restart()``, ``destroy()``; ``url`` for the app."""

    def __init__(self, scratch: Path, binaries: PgBinaries) -> None:
        # tmp_path lives under a root-only 0700 folder the postgres user cannot enter: use /tmp itself
        self.root = Path(tempfile.mkdtemp(prefix="patron-desk-pg-"))
        self.scratch = scratch
        self.binaries = binaries
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.restarts: list[float] = []  # seconds each restart took (stop to accepting again)

    @property
    def url(self) -> str:
        """The database URL (trust authentication on loopback)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def init(self) -> str:
        """Create the cluster; the error text when that is impossible here, else ""."""
        if self.as_postgres:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no postgres user to run initdb as"
            os.chown(self.root, user.pw_uid, user.pw_gid)
        try:
            done = self._run(
                self.binaries.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                "--no-sync",
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"initdb could not run: {exc}"
        if done.returncode != 0:
            return f"initdb failed ({done.returncode}): {done.stderr.strip()[-500:]}"
        return ""

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        # fsync=off is safe here: an immediate stop kills the server, not the machine, so every commit
        # already handed to the kernel survives. (synchronous_commit=off would not: it loses commits.)
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        done = self._run(
            self.binaries.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
            "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no checkpoint, recovery at the next start)."""
        self._run(self.binaries.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, *, mode: str = "immediate", down_for: float = 1.0) -> float:
        """Stop, stay down ``down_for`` seconds, start again; the seconds it was unavailable."""
        began = time.monotonic()
        self.stop(mode)
        time.sleep(down_for)
        self.start()
        took = time.monotonic() - began
        self.restarts.append(took)
        return took

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server log, for failure messages."""
        path = self.root / "log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def destroy(self) -> None:
        """Stop the server and remove its files."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
