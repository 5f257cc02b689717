"""SQLite's ``Database.write``: on the event loop's thread when the write lock is free, on the writer
thread when another connection holds it, in the order asked, and never waiting on the loop.

Invariant 11 (another process's write never stalls or breaks this one) and invariant 1 (nothing
lost): a write that meets a held lock is not dropped, and the loop keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.store import db as db_module
from bot.store.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/w.db")
    await database.write(
        lambda conn: conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
    )
    try:
        yield database
    finally:
        await database.aclose()


def insert(value: str) -> object:
    def work(conn: Connection) -> int:
        return conn.exec_driver_sql("INSERT INTO t (v) VALUES (?) RETURNING id", (value,)).scalar_one()

    return work


@contextmanager
def lock_held_elsewhere(path: str) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holds the write lock until the block ends."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        other.close()


def values(path: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT v FROM t ORDER BY id")]


async def test_a_write_with_the_lock_free_commits_on_the_loop_thread(db: Database) -> None:
    assert await db.write(insert("a")) == 1
    assert db._inline is not None  # the inline connection did it (no thread was needed)
    driver = db._inline.connection.dbapi_connection
    assert driver is not None
    # on the loop's thread SQLite must never wait for a lock: it fails at once, and the thread waits
    assert driver.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert values(str(db.engine.url.database)) == ["a"]


async def test_a_held_lock_moves_the_write_to_the_writer_thread_and_the_loop_keeps_going(
    db: Database,
) -> None:
    path = str(db.engine.url.database)
    with lock_held_elsewhere(path) as other:
        first = asyncio.create_task(db.write(insert("first")))
        ticks = 0
        for _ in range(20):  # the loop runs on while the write waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not first.done()
        second = asyncio.create_task(db.write(insert("second")))  # asked later: must not overtake
        await asyncio.sleep(0.05)
        assert not second.done()
        other.execute("INSERT INTO t (v) VALUES ('other')")
        other.execute("COMMIT")
    assert await first == 2
    assert await second == 3
    assert values(path) == ["other", "first", "second"]
    assert await db.write(insert("after")) == 4  # and inline again once nothing waits


async def test_an_error_inside_the_inline_transaction_rolls_it_back_and_keeps_its_class(db: Database) -> None:
    await db.write(insert("x"))

    def twice(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('y')")
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('x')")  # unique: refused

    with pytest.raises(IntegrityError):
        await db.write(twice)
    assert values(str(db.engine.url.database)) == ["x"]  # 'y' rolled back with it
    assert await db.write(insert("z")) == 2  # a fresh inline connection goes on


async def test_passive_checkpoints_run_on_the_writer_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY", 3)
    ran: list[str] = []
    original = db._checkpoint

    def checkpoint() -> None:
        ran.append(threading.current_thread().name)
        original()

    monkeypatch.setattr(db, "_checkpoint", checkpoint)
    for n in range(7):
        await db.write(insert(f"v{n}"))
    await asyncio.to_thread(db._writer.submit(lambda: None).result)  # type: ignore[union-attr]
    assert ran and all(name.startswith("sqlite-writer") for name in ran)  # 1 or 2: one runs at a time


async def test_transactions_at_once_queue_for_one_pooled_connection_and_all_commit(db: Database) -> None:
    """Every SQLite transaction takes the write lock (BEGIN IMMEDIATE), so the pool keeps one
    connection (one aiosqlite thread) and concurrent transactions wait their turn in its queue."""
    before = {t.ident for t in threading.enumerate()}

    async def one(n: int) -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"r{n}"})
            await asyncio.sleep(0)  # hold the connection across a switch: the others must wait

    await asyncio.gather(*(one(n) for n in range(20)))
    assert sorted(values(db.engine.url.database or "")) == sorted(f"r{n}" for n in range(20))
    assert db.engine.pool.size() == 1  # type: ignore[attr-defined]
    assert db.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert len([t for t in started if "_connection_worker_thread" in t.name]) <= 1


async def test_an_in_memory_database_keeps_its_one_shared_connection() -> None:
    memory = Database("sqlite+aiosqlite:///:memory:")
    try:
        async with memory.transaction() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
        assert type(memory.engine.pool).__name__ == "StaticPool"
    finally:
        await memory.aclose()
