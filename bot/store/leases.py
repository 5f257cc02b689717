"""One worker per source stream: a PostgreSQL advisory lock held on a dedicated connection.

When the holder dies its connection closes and PostgreSQL frees the lock, so another worker takes
over on its next try (every ``RETRY`` seconds). The holder checks the connection every ``CHECK``
seconds and stops pumping if it has gone. SQLite runs one process, so there the lease is a no-op.
The database's unique keys are the fence: if two workers ever overlap, a repeat is still a no-op.
"""

from __future__ import annotations

import asyncio
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
    """Run ``work()`` only while this worker holds the lease for ``name``; forever, until cancelled."""
    if db.is_sqlite:
        await work()
        return
    key = lock_key(name)
    while True:
        try:
            async with db.engine.connect() as conn:
                held = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar_one()
                await conn.commit()
                if held:
                    log.info("source %s: this worker holds the lease", name)
                    if await _hold(conn, work, check):
                        return  # the work ended by itself (a source that stopped for good)
                    log.warning("source %s: lease lost; another worker may take over", name)
        except (OperationalError, DBAPIError, OSError) as exc:
            log.warning("source %s: lease connection failed (%s)", name, type(exc).__name__)
        await asyncio.sleep(retry)


async def _hold(conn: AsyncConnection, work: Callable[[], Coroutine[Any, Any, None]], check: float) -> bool:
    """Run ``work`` until it ends (True) or the lease connection stops answering (False)."""
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
            except (OperationalError, DBAPIError, OSError, TimeoutError):
                return False  # the finally cancels the pump
        pump.result()
        return True
    finally:
        if not pump.done():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
