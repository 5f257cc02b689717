"""A start on a database already at the newest migration skips Alembic (it stays in memory once
imported); any other database still goes through it."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.db import Database
from bot.store.revisions import MIGRATIONS, heads


def test_heads_are_the_newest_revision_of_the_files() -> None:
    numbers = sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert heads() == {numbers[-1]}


async def test_at_head_is_read_from_the_version_table(database: Database) -> None:
    from bot.store.revisions import _at_head

    async with database.engine.begin() as conn:
        assert await conn.run_sync(_at_head)
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        assert not await conn.run_sync(_at_head)
        await conn.exec_driver_sql("DROP TABLE alembic_version")
        assert not await conn.run_sync(_at_head)


def test_a_restart_does_not_import_alembic(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from bot.store.db import Database\n"
        "async def main():\n"
        f"    db = Database('sqlite+aiosqlite:///{tmp_path}/x.db')\n"
        "    await db.migrate()\n"
        "    await db.aclose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    first, again = (
        subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    )
    assert (first.strip(), again.strip()) == ("True", "False")
    assert re.fullmatch(r"\d{4}", next(iter(heads() or {""})))


async def test_migrating_apart_leaves_any_failure_to_the_bots_own_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.store.db import migrate_apart

    await migrate_apart(f"sqlite:///{tmp_path}/no/such/dir/x.db")  # cannot look: nothing raised
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the child fails
    url = f"sqlite:///{tmp_path}/new.db"
    with caplog.at_level(logging.WARNING, logger="bot.store.db"):
        await migrate_apart(url)
    assert "migrating in a child process failed (exit 1" in caplog.text
    db = Database(url)
    try:
        await db.migrate()  # the bot's own call does the work
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_at_head_of)
    finally:
        await db.aclose()


def _at_head_of(connection: object) -> bool:
    from bot.store.revisions import _at_head

    return _at_head(connection)  # type: ignore[arg-type]
