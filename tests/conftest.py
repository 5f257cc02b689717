"""Fixtures shared by every test directory: real databases (SQLite files, PostgreSQL when given)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store.db import Database


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


async def make_database(kind: str, tmp_path: object) -> tuple[Database, str | None]:
    """A migrated, empty database: an SQLite file, or a fresh schema in the test PostgreSQL."""
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")
        await db.migrate()
        return db, None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.aclose()
    db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    await db.migrate()
    return db, schema


async def drop_database(db: Database, schema: str | None) -> None:
    """Dispose of the pool; drop the PostgreSQL schema."""
    await db.aclose()
    if schema:
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.aclose()


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
