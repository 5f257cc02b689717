"""Ingest throughput: one transaction per mention (mention, decision, outbox rows, cursor).

Run: .venv/bin/python -m bench.ingest [--count N] [--url DATABASE_URL]
Defaults to a fresh SQLite file; pass a PostgreSQL URL to measure that instead.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime

from bot.core.service import DeskService
from bot.models import Mention
from bot.store.db import Database
from tests.core.helpers import rota, rules

TEXTS = [
    "Can I renew my books online? They are overdue.",
    "The wifi in the reading room keeps dropping.",
    "Loved storytime this morning, thank you!",
    "Where can I find local history archives about the 1920s flood?",
]


async def run(url: str, count: int) -> None:
    schema = ""
    if url.startswith("postgres"):  # a throw-away schema, dropped at the end
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        await admin.aclose()
        db = Database(url, connect_args={"server_settings": {"search_path": schema}})
    else:
        db = Database(url)
    await db.migrate()
    service = DeskService(db, rules=rules(), rota=rota(), desks=("slack", "matrix"))
    await service.start()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for n in range(count):
        mention = Mention(source="bench", external_id=f"m{n}", text=TEXTS[n % 4], created_at=now)
        await service.ingest("bench", mention, str(n))
    elapsed = time.perf_counter() - started
    repeat_started = time.perf_counter()
    for n in range(min(count, 1000)):
        mention = Mention(source="bench", external_id=f"m{n}", text=TEXTS[n % 4], created_at=now)
        await service.ingest("bench", mention, str(n))
    repeat = time.perf_counter() - repeat_started
    await db.aclose()
    if schema:
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.aclose()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"backend:           {db.engine.dialect.name} ({python})")
    print(f"mentions ingested: {count} (2 card posts queued each, cursor saved each)")
    print(f"ingest rate:       {count / elapsed:,.0f} mentions/s ({elapsed * 1000 / count:.2f} ms each)")
    print(f"repeat deliveries: {min(count, 1000) / repeat:,.0f}/s (no-ops)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(run(url, args.count))


if __name__ == "__main__":
    main()
