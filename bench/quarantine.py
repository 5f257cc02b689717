"""Ingest with bad items mixed in: what a set-aside costs next to a normal ingest, and that none stalls.

Run: .venv/bin/python -m bench.quarantine [--count N] [--every K] [--url DATABASE_URL]
Every K-th item carries an unpaired surrogate (refused by SQLite and PostgreSQL alike); the rest are
normal. Defaults to a fresh SQLite file; pass a PostgreSQL URL to measure that instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime

from bot.core import quarantine
from bot.core.service import DeskService
from bot.models import Mention
from bot.store.db import Database
from tests.core.helpers import rota, rules


async def open_db(url: str) -> tuple[Database, str]:
    if not url.startswith("postgres"):
        return Database(url), ""
    schema = f"bench_{uuid.uuid4().hex[:8]}"  # a throw-away schema, dropped at the end
    admin = Database(url)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.aclose()
    return Database(url, connect_args={"server_settings": {"search_path": schema}}), schema


async def run(url: str, count: int, every: int) -> None:
    db, schema = await open_db(url)
    await db.migrate()
    service = DeskService(db, rules=rules(), rota=rota(), desks=("slack", "matrix"))
    await service.start()
    now = datetime.now(UTC)
    spent = {"good": 0.0, "bad": 0.0}
    for n in range(count):
        kind = "bad" if n % every == every - 1 else "good"
        text = "Can I renew my books online?" + (" \ud800" if kind == "bad" else "")
        mention = Mention(source="bench", external_id=f"m{n}", text=text, created_at=now)
        started = time.perf_counter()
        await service.ingest("bench", mention, str(n + 1))
        spent[kind] += time.perf_counter() - started
    held = len(await quarantine.listing(service.context))
    cursor = await service.cursor("bench")
    await db.aclose()
    if schema:
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.aclose()
    bad = count // every
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"backend:        {db.engine.dialect.name} ({python})")
    print(f"items:          {count}, one in {every} refused by the database ({bad})")
    print(f"normal ingest:  {spent['good'] * 1000 / (count - bad):.2f} ms each")
    print(f"set aside:      {spent['bad'] * 1000 / max(bad, 1):.2f} ms each (failed insert + quarantine)")
    print(f"quarantined:    {held}; cursor at {cursor} of {count} (nothing stalled)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # one warning per set-aside item would dominate the output
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(run(url, args.count, args.every))


if __name__ == "__main__":
    main()
