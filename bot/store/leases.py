"""One worker per source stream: a PostgreSQL advisory lock held on a dedicated connection.

When the holder dies its connection closes and PostgreSQL frees the lock, so another worker takes
over on its next try (every ``RETRY`` seconds). The holder checks the connection every ``CHECK``
seconds and stops pumping if it has gone. SQLite runs one process, so there the lease is a no-op.
The database's unique keys are the fence: if two workers ever overlap, a repeat is still a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import Database

log = logging.getLogger(__name__)

RETRY = 2.0
CHECK = 5.0
LEASE_ERRORS = (OperationalError, DBAPIError, OSError)  # raised by the lease's own connection


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a source stream."""
    digest = hashlib.sha256(f"patron-desk:source:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def run_with_lease(
    db: Database,
    name: str,
    work: Callable[[], Coroutine[Any, Any, None]],
    *,
    retry: float = RETRY,
    check: float = CHECK,
) -> None:
    """Run ``work()`` only while this worker holds the lease for ``name``; forever, until cancelled.

    Only a failure of the lease's own connection is a lost lease (wait, then try again). What the
    work raises is the work's: it is raised here, after the lease is let go, for the supervisor.
    """
    if db.is_sqlite:
        await work()
        return
    key = lock_key(name)
    while True:
        pump: asyncio.Task[None] | None = None
        try:
            async with db.engine.connect() as conn:
                held = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar_one()
                await conn.commit()
                if held:
                    log.info("source %s: this worker holds the lease", name)
                    try:
                        pump = await _hold(conn, work, check)
                    finally:
                        await _let_go(conn)
                    if pump is None:
                        log.warning("source %s: lease lost; another worker may take over", name)
        except LEASE_ERRORS as exc:
            log.warning("source %s: lease connection failed (%s)", name, type(exc).__name__)
        if pump is not None:
            pump.result()  # the work's own outcome: an error is raised as it is, never taken for a lost lease
            return  # the work ended by itself (a source that stopped for good)
        await asyncio.sleep(retry)


async def _let_go(conn: AsyncConnection) -> None:
    """Close the lease's connection instead of pooling it: a pooled connection would keep the lock."""
    with contextlib.suppress(Exception):
        await conn.invalidate()


async def _hold(
    conn: AsyncConnection, work: Callable[[], Coroutine[Any, Any, None]], check: float
) -> asyncio.Task[None] | None:
    """Run ``work`` until it ends (its finished task) or the lease connection stops answering (None)."""
    pump = asyncio.create_task(work())
    try:
        while not pump.done():
            done, _ = await asyncio.wait({pump}, timeout=check)
            if done:
                break
            try:
                async with asyncio.timeout(check):
                    await conn.execute(text("SELECT 1"))
                    await conn.commit()
            except (*LEASE_ERRORS, TimeoutError):
                return None  # the finally cancels the pump
        return pump
    finally:
        if not pump.done():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
