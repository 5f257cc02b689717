"""Finding 9 (files): the SQLite database and its -wal and -shm files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import Database


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022) makes new files world-readable unless the code says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _use(db: Database) -> None:
    await db.migrate()
    async with db.transaction() as session:
        await session.execute(text("SELECT 1"))
    await db.write(lambda conn: conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))


async def test_new_database_files_are_0600(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "desk.db"
    db = Database(f"sqlite:///{path}")
    try:
        await _use(db)
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)  # WAL mode: both exist while the engine is open
        assert {f.name: oct(_mode(f)) for f in files} == {f.name: "0o600" for f in files}
    finally:
        await db.aclose()


async def test_an_existing_readable_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "old.db"
    for name in (path, Path(f"{path}-wal")):
        name.touch()
        name.chmod(0o644)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await _use(db)
        assert oct(_mode(path)) == "0o600"
        assert oct(_mode(Path(f"{path}-shm"))) == "0o600"
    finally:
        await db.aclose()


async def test_the_demo_database_is_0600(tmp_path: Path, open_umask: None) -> None:
    from bot.config import load_settings
    from bot.demo.paths import demo_paths, fresh_database
    from bot.runner import demo_settings

    paths = demo_paths(tmp_path)
    fresh_database(paths)
    demo = demo_settings(load_settings(), served={}, database_url=paths.database_url)
    db = Database(demo.DATABASE_URL)
    try:
        await _use(db)
        assert oct(_mode(paths.database)) == "0o600"
    finally:
        await db.aclose()
