"""Engines: async drivers from plain URLs, SQLite in WAL with BEGIN IMMEDIATE, PostgreSQL settings."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_MS = 30_000


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


# Every transaction on SQLite begins with BEGIN IMMEDIATE (below), so only one of them runs at a time
# whatever the pool holds: more connections only wait in SQLite's busy handler instead of the pool's
# queue. Each aiosqlite connection is a thread with its own schema copy, statement cache and malloc
# arena that stays after the thread ends; the default pool (5 kept, 10 more at a time) opened 12 as
# every relay worker and source read the database at start. One connection, and tasks queue for it
# in order (pool_timeout, 30 s like the busy timeout): the idle bot is about 2.7 MiB smaller.
SQLITE_POOL = {"pool_size": 1, "max_overflow": 0, "pool_timeout": SQLITE_BUSY_MS / 1000}


def _file_database(url: str) -> bool:
    """True for an SQLite file, the case where SQLAlchemy pools connections (``:memory:`` gets one,
    shared: a StaticPool that takes no size)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database not in (None, "", ":memory:") and parsed.query.get("mode") != "memory"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine; on SQLite turn on WAL, a busy timeout and BEGIN IMMEDIATE.

    ``hide_parameters``: a failed statement's error (and any log of it) must not quote bound
    values, which are patron text (DESIGN.md invariant 8).
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if "poolclass" not in kwargs and _file_database(url):
            kwargs = {**SQLITE_POOL, **kwargs}
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
