"""Fixtures shared by every test directory: real databases (SQLite files, PostgreSQL when given)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.store.db import Database
from bot.store.revisions import heads
from bot.store.schema import metadata


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Every test starts and ends with the same logging: a test that runs the CLI or the app in-process
    calls ``bot.logs.configure``, which replaces the root handlers and level, the record factory and
    the excepthooks; left in place, a later test's caplog saw too little (a feeds test failed so)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in list(logging.root.manager.loggerDict)}
    factory, hooks = logging.getLogRecordFactory(), (sys.excepthook, threading.excepthook)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)
    logging.setLogRecordFactory(factory)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TESTS = Path(__file__).resolve().parent
# whole suites left out of `make check`: the crash-point matrix, the claim races at scale, the fault storms
SLOW_FOLDERS = ("crash", "scale", "storms")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of the slow folders ``slow``; single slow tests elsewhere carry the mark themselves.

    Under pytest-xdist (``make check``) the tests on a real Synapse form one group, so they run on one
    worker and start one homeserver.
    """
    for item in items:
        if item.path.is_relative_to(TESTS) and item.path.relative_to(TESTS).parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("synapse") is not None:
            item.add_marker(pytest.mark.xdist_group("synapse"))


def _writable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Captured output and failure text as UTF-8 a pytest-xdist worker can send: a hostile-input test
    logs or fails on an unpaired surrogate, and the worker died sending it (the run lost every result)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    report.sections = [(title, _writable(content)) for title, content in report.sections]
    if report.failed and report.longrepr is not None:
        text = str(report.longrepr)
        if _writable(text) != text:
            report.longrepr = _writable(text)


def database_params() -> list[object]:
    """SQLite always; PostgreSQL when TEST_DATABASE_URL is set."""
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set"))
    )
    return params


_sqlite_template: list[Path] = []  # one migrated file per test process, copied for each test
_pg_script: list[tuple[str, Any]] = []  # what migrating an empty schema ran, replayed for each test
_pg_tables: list[list[str]] = []  # the tables of a freshly migrated schema
_pg_free: list[str] = []  # schemas emptied after their test, for the next test of this process


async def make_database(kind: str, tmp_path: object) -> tuple[Database, str | None]:
    """A migrated, empty database: an SQLite file, or a fresh schema in the test PostgreSQL.

    Alembic runs once per test process and database kind; later databases are a copy of the first
    SQLite file, or the first schema's migration statements replayed (a third of `make check` was
    spent migrating). ``Database.migrate`` still runs on each: it finds the copy at the newest revision.
    """
    if kind == "sqlite":
        target = Path(str(tmp_path)) / "test.db"
        if not _sqlite_template:
            template = Path(tempfile.mkdtemp(prefix="pd-template-")) / "template.db"
            first = Database(f"sqlite+aiosqlite:///{template}")
            await first.migrate()
            await first.aclose()
            _sqlite_template.append(template)
        with sqlite3.connect(_sqlite_template[0]) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        db = Database(f"sqlite+aiosqlite:///{target}")
        await db.migrate()
        return db, None
    while _pg_free:  # an emptied schema a finished test left (see drop_database)
        schema = _pg_free.pop()
        db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
        counts = " + ".join(f'(SELECT count(*) FROM "{t.name}")' for t in metadata.sorted_tables)
        async with db.engine.connect() as conn:
            left = (await conn.exec_driver_sql(f"SELECT {counts}")).scalar()
        if not left:
            await db.migrate()  # at head: a check only
            return db, schema
        await db.aclose()  # a late writer of the last test: drop it, start this one afresh
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.aclose()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.aclose()
    db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    if _pg_script:
        async with db.engine.begin() as conn:
            for statement, parameters in _pg_script:
                await conn.exec_driver_sql(statement, parameters)
    else:
        recorded: list[tuple[str, Any]] = []

        def record(conn: object, cursor: object, statement: str, parameters: Any, *args: object) -> None:
            recorded.append((statement, parameters))

        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            await db.migrate()
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        _pg_script.extend(recorded)
        async with db.engine.begin() as conn:
            found = await conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", (schema,)
            )
            _pg_tables.append([row[0] for row in found])
    await db.migrate()  # at head now: a check only
    return db, schema


async def drop_database(db: Database, schema: str | None) -> None:
    """Dispose of the pool; empty the PostgreSQL schema for the next test of this process.

    A schema whose revision or tables a test changed is dropped instead (the next one starts fresh).
    """
    await db.aclose()
    if not schema:
        return
    admin = Database(PG_URL)
    try:
        try:
            if await _emptied(admin, schema):
                _pg_free.append(schema)
                return
        except Exception:  # a schema that cannot be emptied is dropped, never left behind
            pass
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.aclose()


async def _emptied(admin: Database, schema: str) -> bool:
    """Empty a schema a test left, when its tables and revision are as migrated; False: drop it."""
    async with admin.engine.begin() as conn:
        found = await conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", (schema,)
        )
        tables = [row[0] for row in found]
        known = {table.name for table in metadata.sorted_tables} | {"alembic_version"}
        fresh = bool(_pg_tables) and tables == _pg_tables[0] and set(tables) == known
        if not fresh or not await _at_newest(conn, schema):
            return False
        # DELETE, not TRUNCATE (new files per table: 0.3 s for a few rows), with the
        # triggers and foreign keys off (the report roll-up's triggers would write as rows go)
        await conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
        await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in reversed(metadata.sorted_tables):
            await conn.exec_driver_sql(f'DELETE FROM "{schema}"."{table.name}"')
        sequences = await conn.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = $1", (schema,)
        )
        for (sequence,) in sequences.all():
            await conn.exec_driver_sql(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART')
    return True


async def _at_newest(conn: Any, schema: str) -> bool:
    found = await conn.exec_driver_sql(f'SELECT version_num FROM "{schema}".alembic_version')
    return {row[0] for row in found} == heads()


@pytest.fixture(scope="session", autouse=True)
def _drop_free_schemas() -> Iterator[None]:
    """At the end of the run, drop the emptied schemas this process kept for reuse."""
    yield
    if not _pg_free:
        return

    async def drop() -> None:
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            for schema in _pg_free:
                await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.aclose()

    asyncio.run(drop())


@pytest.fixture(params=database_params())
async def database(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    """A real, migrated database: SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    db, schema = await make_database(request.param, tmp_path)
    try:
        yield db
    finally:
        await drop_database(db, schema)


@pytest.fixture
async def sqlite_db(tmp_path: object) -> AsyncIterator[Database]:
    """A real, migrated SQLite file."""
    db, _ = await make_database("sqlite", tmp_path)
    try:
        yield db
    finally:
        await db.aclose()
