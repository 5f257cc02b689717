"""The Database: sessions and writes (on SQLite inline, else one writer thread), migrating, closing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store.engine import (
    SQLITE_BUSY_MS,
    _sqlite_pragmas,
    make_engine,
    normalize_url,
    quiet_drivers,
    sqlite_file,
)
from bot.store.revisions import MIGRATIONS, _at_head, _upgrade

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)
CHECKPOINT_EVERY = 200  # inline commits between passive WAL checkpoints on the writer thread
MIGRATE_LOCK = 0x70617472_6F6E0002  # advisory-lock key held while migrating (PostgreSQL)


class Database:
    """The engine plus a session factory; ``transaction()`` and ``write()`` are the ways to write.

    On SQLite, ``write()`` runs a whole transaction with the standard sqlite3 driver (the async
    driver hops to its thread for every cursor call, about fourteen hops for an ingest). It runs
    on the event loop's own thread when it can take the write lock at once: a dedicated connection
    whose busy timeout is 0, so its ``BEGIN IMMEDIATE`` either gets the lock or fails at once and
    never waits on the loop. The two thread hops it saves cost more than the whole transaction
    (a sleeping thread's wake-up, twice per ingest, 100-250 µs on this shared machine). When the
    lock is taken (another process, a session's transaction, an earlier write still waiting), the
    transaction goes to one writer thread instead, which waits with the usual busy timeout; writes
    commit in the order they were asked for either way. The inline connection does not checkpoint
    the WAL on commit (that can fsync); every ``CHECKPOINT_EVERY`` inline commits a passive
    checkpoint runs on the writer thread. On PostgreSQL ``work`` runs on the async connection
    through ``run_sync``.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        quiet_drivers()
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._active = 0
        self._closing = False
        self._idle: asyncio.Event | None = None
        self._sync: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._inline: Connection | None = None  # SQLite: the loop thread's connection (busy timeout 0)
        self._queued = 0  # writes handed to the writer thread and not yet back
        self._since_checkpoint = 0
        self._checkpointing = False
        if self.is_sqlite:
            sync_url = self.engine.url.set(drivername="sqlite")
            self._sync = create_engine(
                sync_url,
                connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False},
                pool_reset_on_return=None,
                hide_parameters=True,
            )
            _sqlite_pragmas(self._sync)
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    @property
    def is_sqlite(self) -> bool:
        """True on SQLite (single process); False on PostgreSQL."""
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on exit, rolled back on error.

        Once ``quiesce()`` has begun, new transactions wait (to be cancelled at that safe point):
        cancelling a task inside a driver call can leave SQLite's write lock held until the
        connection is garbage-collected, so shutdown lets running transactions finish first.
        """
        if self._closing:
            await asyncio.Event().wait()
        self._active += 1
        try:
            async with self.sessions() as session, session.begin():
                yield session
        finally:
            self._active -= 1
            if self._active == 0 and self._idle is not None:
                self._idle.set()

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in one write transaction (committed unless it raises)."""
        if self._closing:
            await asyncio.Event().wait()
        self._active += 1
        try:
            if self._sync is None or self._writer is None:
                async with self.engine.begin() as conn:
                    return await conn.run_sync(work)
            if self._queued == 0:  # nothing ahead of it: try at once, on this thread
                done, result = self._write_inline(work)
                if done:
                    return cast(T, result)
            self._queued += 1
            try:
                return await asyncio.get_running_loop().run_in_executor(self._writer, self._write_sync, work)
            finally:
                self._queued -= 1
        finally:
            self._active -= 1
            if self._active == 0 and self._idle is not None:
                self._idle.set()

    def _write_sync(self, work: Callable[[Connection], T]) -> T:
        assert self._sync is not None
        with self._sync.begin() as conn:
            return work(conn)

    def _write_inline(self, work: Callable[[Connection], T]) -> tuple[bool, T | None]:
        """``(True, result)`` when the transaction committed here; ``(False, None)`` when the write
        lock was taken (rolled back, nothing written): the caller hands it to the writer thread."""
        conn = self._inline
        if conn is None:
            conn = self._inline = self._inline_connection()
        try:
            with conn.begin():
                result = work(conn)
        except Exception as exc:
            busy = _busy(exc)
            if not busy or conn.invalidated:
                self._drop_inline()  # a fresh connection next time: whatever broke stays here
            if busy:
                return False, None
            raise
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and not self._checkpointing:
            self._since_checkpoint = 0
            self._checkpointing = True
            assert self._writer is not None
            self._writer.submit(self._checkpoint)
        return True, result

    def _inline_connection(self) -> Connection:
        assert self._sync is not None
        conn = self._sync.connect()
        driver = conn.connection.dbapi_connection
        assert driver is not None
        driver.execute("PRAGMA busy_timeout=0")  # fail at once rather than wait on the loop
        driver.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints (fsync) go to the writer thread
        return conn

    def _drop_inline(self) -> None:
        """Close the inline connection for good (never back to the pool: its settings are its own)."""
        conn, self._inline = self._inline, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
                conn.close()

    def _checkpoint(self) -> None:
        """A passive WAL checkpoint (never waits for a lock), on the writer thread."""
        assert self._sync is not None
        try:
            raw = self._sync.raw_connection()  # outside any transaction: a checkpoint cannot run in one
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()  # type: ignore[union-attr]
            finally:
                raw.close()
        except Exception as exc:  # the next commit on a default connection checkpoints anyway
            log.warning("WAL checkpoint failed (%s); it is retried later", type(exc).__name__)
        finally:
            self._checkpointing = False

    async def quiesce(self, within: float = 10.0) -> None:
        """Stop new transactions and wait (up to ``within`` seconds) for running ones to finish."""
        self._closing = True
        self._idle = asyncio.Event()
        if self._active == 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._idle.wait()

    async def migrate(self) -> None:
        """Apply Alembic migrations up to head; workers starting together migrate one at a time."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:  # SQLite: BEGIN IMMEDIATE already serializes; PostgreSQL: a lock
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK})")
            await conn.run_sync(_upgrade)

    async def aclose(self) -> None:
        """Finish the writer thread's transaction, then dispose of the pools."""
        self._drop_inline()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.shutdown, True)
        if self._sync is not None:
            self._sync.dispose()
        await self.engine.dispose()


def _busy(exc: BaseException) -> bool:
    """SQLite said the database is locked (SQLITE_BUSY or SQLITE_LOCKED), raw or wrapped."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in SQLITE_BUSY_CODES


async def migrate_apart(url: str) -> None:
    """Bring the database at ``url`` to the newest revision in a child process, if it is not there.

    Alembic and Mako stay in memory once imported (about 10 MiB of the idle bot), so a long-running
    process starting on a new or older database lets a child migrate it; its own ``migrate()`` then
    finds the database at the newest revision and imports neither. If the child fails, nothing is
    lost: the caller's ``migrate()`` runs the migration itself and reports any error as before.
    The URL (it may hold a password) goes to the child on its standard input, not its command line.
    """
    db = Database(url)
    if db.is_sqlite and sqlite_file(url) is None:  # in memory: a child would migrate another database
        await db.aclose()
        return
    try:
        async with db.engine.connect() as conn:
            if await conn.run_sync(_at_head):
                return
    except Exception:  # cannot even look (no such directory, server down): the caller's migrate() says why
        return
    finally:
        await db.aclose()
    paths = [str(MIGRATIONS.parent.parent), os.environ.get("PYTHONPATH", "")]  # where ``bot`` is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.store.db import _migrate_from_stdin; _migrate_from_stdin()",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, err = await child.communicate(url.encode())
    if child.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        kind = last[0].partition(":")[0][:80]  # the exception's class, not its message
        what = (child.returncode, kind)
        log.warning("migrating in a child process failed (exit %s, %s); migrating here", *what)


def _migrate_from_stdin() -> None:
    """The child of ``migrate_apart``: migrate the database whose URL is on standard input."""

    async def main(url: str) -> None:
        db = Database(url)
        try:
            await db.migrate()
        finally:
            await db.aclose()

    asyncio.run(main(sys.stdin.read().strip()))
