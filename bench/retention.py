"""Retention passes on 1,000,000 stored mentions: the first daily pass after an upgrade, the next
day's pass, and the dry run in between.

Run: .venv/bin/python -m bench.retention [--url DATABASE_URL] [--keep PATH] [--count N] [--audit N]
The fill is bench/queries.py's (a kept SQLite file from it is copied, never changed) plus N audit rows
per mention (default 3): a purge rewrites the details of its mentions' audit rows, and the audit table
has no index on mention_id. The first pass (purge, then auto-resolve, as the timers run them) finds what
piled up before this version: a day of finished mentions, every reply nobody resolved, and every open
mention untouched for a year. The next day's pass is the steady state.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bench.queries import Bench, composition, fill_postgresql, fill_sqlite, percentile
from bot.core.retention import auto_resolve, purge
from bot.store.db import Database

AUDIT = (
    "INSERT INTO audit (at, actor, action, mention_id, detail) "
    "SELECT received_at, 's1', 'claim', id, '{\"chars\": 42}' FROM mentions"
)


async def daily_pass(bench: Bench, label: str) -> None:
    """What the timers run once a day, timed."""
    started = time.perf_counter()
    result = await purge(bench.service, days=365)
    purged_s = time.perf_counter() - started
    closed = await auto_resolve(bench.service, days=14)
    resolved_s = time.perf_counter() - started - purged_s
    batches = max(1, -(-result.mentions // 500))
    print(
        f"{label}: purged {result.mentions:,} ({result.expired:,} closed as untouched first), "
        f"{result.cards:,} cards, in {purged_s:.1f} s ({purged_s / batches * 1000:.0f} ms per "
        f"500-mention transaction); then auto-resolved {closed:,} in {resolved_s:.1f} s"
    )


async def dry_runs(bench: Bench, runs: int) -> None:
    spent = []
    for _ in range(3 + runs):
        started = time.perf_counter()
        result = await purge(bench.service, days=365, dry_run=True)
        spent.append((time.perf_counter() - started) * 1000)
    spent = spent[3:]
    print(
        f"dry run afterwards: {result.mentions:,} due; p50 {percentile(spent, 0.5):.1f} ms, "
        f"p99 {percentile(spent, 0.99):.1f} ms over {runs} runs"
    )


async def run(args: argparse.Namespace, db: Database, schema: str) -> None:
    await db.migrate()
    fill = fill_sqlite if db.is_sqlite else fill_postgresql
    now, filled, _ = await fill(db, count=args.count, schema=schema)
    async with db.engine.begin() as conn:
        for _ in range(args.audit):
            await conn.exec_driver_sql(AUDIT)
        if not db.is_sqlite:
            await conn.exec_driver_sql("ANALYZE audit")
    print(f"backend: {db.engine.dialect.name}; mentions {filled:,}; audit rows {filled * args.audit:,}")
    print("  " + await composition(db))
    bench = Bench(db, now)
    await bench.start()
    await daily_pass(bench, "first pass after the upgrade")
    print("  " + await composition(db))
    await dry_runs(bench, args.runs)
    later = now + timedelta(days=1)
    bench.service.clock = lambda: later
    await daily_pass(bench, "next day's pass")


async def main_async(args: argparse.Namespace) -> None:
    if args.url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = Database(args.url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        db = Database(args.url, connect_args={"server_settings": {"search_path": schema}})
        try:
            await run(args, db, schema)
        finally:
            await db.aclose()
            async with admin.engine.begin() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.aclose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "retention.db"
        if args.keep and args.keep.exists():
            shutil.copy(args.keep, path)
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await run(args, db, "")
        finally:
            await db.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="a PostgreSQL URL (default: an SQLite file)")
    parser.add_argument("--keep", type=Path, help="a filled SQLite file from bench/queries.py --keep, copied")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=3, help="audit rows per mention")
    parser.add_argument("--runs", type=int, default=50)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
