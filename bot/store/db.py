"""Engine and sessions: SQLite in WAL mode with write transactions that begin as writes; PostgreSQL as is."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_MS = 30_000
SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)
CHECKPOINT_EVERY = 200  # inline commits between passive WAL checkpoints on the writer thread
MIGRATE_LOCK = 0x70617472_6F6E0002  # advisory-lock key held while migrating (PostgreSQL)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async drivers."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def sqlite_file(url: str) -> Path | None:
    """The absolute path of an SQLite database file (None for another database or ``:memory:``)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


# asyncpg prepares every statement; from its sixth execution PostgreSQL may switch to a generic plan
# that cannot see which statuses a timer asks for, and walked the whole primary key (9 ms -> 120 ms
# on 1M mentions). A custom plan per execution costs a fraction of a millisecond and stays right.
# JIT: these are short OLTP statements whose estimates can be inflated; compiling cost 100+ ms.
PG_SETTINGS = {"plan_cache_mode": "force_custom_plan", "jit": "off"}


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine; on SQLite turn on WAL, a busy timeout and BEGIN IMMEDIATE.

    ``hide_parameters``: a failed statement's error (and any log of it) must not quote bound
    values, which are patron text (DESIGN.md invariant 8).
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # Every transaction ends in COMMIT or ROLLBACK (Database.transaction), so the pool's extra
        # rollback on check-in is a wasted round trip to the driver thread.
        engine = create_async_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_MS / 1000},
            pool_reset_on_return=None,
            hide_parameters=True,
            **kwargs,
        )
        private_sqlite_file(engine.url.database)
        _sqlite_pragmas(engine)
        return engine
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args["server_settings"] = {**PG_SETTINGS, **connect_args.get("server_settings", {})}
    return create_async_engine(
        url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args, **kwargs
    )


def private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file readable by its owner only (0600), or make an existing one so.

    SQLite creates the -wal and -shm files with the database file's mode, so they follow; ones
    left over from an older run are tightened too. A file owned by someone else is left alone.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return  # no such directory, or not ours: connecting reports it in its own words
    for path in (database, f"{database}-wal", f"{database}-shm"):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:
            continue


def _sqlite_pragmas(engine: AsyncEngine | Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, so two claims both
    # read, then both try to upgrade to a write lock and one gets "database is locked" at once
    # (the busy timeout does not apply to lock upgrades). Emitting BEGIN IMMEDIATE ourselves makes
    # every transaction take the write lock up front, and the busy timeout queues them instead.
    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(target, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(target, "begin")
    def _begin(conn: Connection) -> None:
        if isinstance(engine, AsyncEngine):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        driver = conn.connection.dbapi_connection  # the writer thread: sqlite3 itself, no wrapping
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE")


# Drivers that log SQL parameters (and so patron text) at DEBUG: kept at WARNING whatever the
# configured level, because patron text must never reach a log (DESIGN.md invariant 8).
CHATTY_DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


def quiet_drivers() -> None:
    """Keep database drivers from logging statement parameters."""
    for name in CHATTY_DRIVERS:
        logging.getLogger(name).setLevel(logging.WARNING)


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


_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|None)\s*$', re.M)


def heads() -> set[str] | None:
    """The newest revision(s) of bot/migrations, read from the files (None when one is not plain)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    return revisions - parents or None


def _at_head(connection: Connection) -> bool:
    """The database is already at the newest revision: nothing to migrate."""
    newest = heads()
    if newest is None or not inspect(connection).has_table("alembic_version"):
        return False
    current = {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}
    return current == newest


def _upgrade(connection: Connection) -> None:
    # Alembic and Mako stay in memory once imported (about 11 MiB of the idle process): a start
    # on a database already at the newest revision does not import them.
    if _at_head(connection):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")
