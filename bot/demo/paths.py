"""Where the demo keeps its database and log: ``./demo/`` under the directory `make run` starts in.

The database stays after Ctrl-C so `patron-desk report` can be tried on it; the next demo starts
it afresh (the stand-ins' ids start over, so an old cursor would skip their posts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = "demo"
DATABASE_NAME = "patron-desk-demo.db"
LOG_NAME = "patron-desk-demo.log"


@dataclass(frozen=True, slots=True)
class DemoPaths:
    """The demo's files, as absolute paths."""

    folder: Path

    @property
    def database(self) -> Path:
        """The SQLite database file."""
        return self.folder / DATABASE_NAME

    @property
    def log(self) -> Path:
        """The log file (the terminal is for cards)."""
        return self.folder / LOG_NAME

    @property
    def database_url(self) -> str:
        """``DATABASE_URL`` for the database."""
        return f"sqlite+aiosqlite:///{self.database}"


def demo_paths(base: Path | None = None) -> DemoPaths:
    """The demo's files under ``base`` (the current directory)."""
    return DemoPaths(((base or Path.cwd()) / DEMO_DIR).resolve())


def fresh_database(paths: DemoPaths) -> None:
    """Make the folder (owner only) and remove the last demo's database and its WAL files."""
    paths.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
