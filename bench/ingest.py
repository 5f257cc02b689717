"""Ingest against its floor: the bot's ingest beside a raw driver loop doing the same INSERTs.

Run: .venv/bin/python -m bench.ingest [--count N] [--reps R] [--url POSTGRESQL_URL]
Each repetition ingests ``--count`` mentions through ``DeskService.ingest`` (one transaction each:
the mention, its two card posts in the outbox, the cursor) into a fresh SQLite file, then runs a
raw ``sqlite3`` loop with the very same INSERT statements (their SQL as the bot compiles it) and
one COMMIT each, at the same settings (WAL, ``synchronous=NORMAL``, BEGIN IMMEDIATE). With
``--url`` the same pair runs on PostgreSQL (a raw ``asyncpg`` loop), in a throw-away schema. The
runs interleave (bot, raw, bot, raw ...) so a busy machine slows both alike; min and median of
the per-mention time over the repetitions, and the bot/raw ratio of each. Goal: ratio <= 2.0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.service import DeskService
from bot.domain.sanitize import safe_mention
from bot.models import Mention
from bot.store.db import Database
from bot.store.sql import direct
from tests.core.helpers import rota, rules

TEXTS = [
    "Can I renew my books online? They are overdue.",
    "The wifi in the reading room keeps dropping.",
    "Loved storytime this morning, thank you!",
    "Where can I find local history archives about the 1920s flood?",
]
DESKS = ("slack", "matrix")
MENTION_KEYS = (
    "source", "external_id", "url", "author_id", "author_handle", "author_name", "text", "full_text",
    "lang", "visibility", "content_warning", "can_reply", "reply_ref", "created_at", "received_at",
    "status", "role", "rule", "reason", "on_duty", "queued_until", "note", "tags", "staff_notes",
    "note_count", "version", "escalation_level",
)  # fmt: skip
OUTBOX_KEYS = (
    "kind", "lane", "target", "mention_id", "payload", "dedupe_key", "state", "version", "attempts",
    "next_attempt_at", "leased_until", "last_error", "created_at",
)  # fmt: skip
CURSOR_KEYS = ("source", "stream", "value", "updated_at")


async def fresh(url: str, tmp: Path) -> tuple[Database, str]:
    """A migrated, empty database: a new SQLite file, or a new PostgreSQL schema."""
    if not url:
        db = Database(f"sqlite+aiosqlite:///{tmp}/{uuid.uuid4().hex[:8]}.db")
        await db.migrate()
        return db, ""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = Database(url)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.aclose()
    db = Database(url, connect_args={"server_settings": {"search_path": schema}})
    await db.migrate()
    return db, schema


async def dispose(db: Database, url: str, schema: str) -> None:
    await db.aclose()
    if schema:
        admin = Database(url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.aclose()


async def bot_run(url: str, tmp: Path, count: int) -> float:
    """Seconds per mention through ``DeskService.ingest``."""
    db, schema = await fresh(url, tmp)
    service = DeskService(db, rules=rules(), rota=rota(), desks=DESKS)
    await service.start()
    now = datetime.now(UTC)
    # as a source hands them over: its parser sanitized each (safe_mention), outside the timing
    # like the raw loop's values
    arrived = [
        safe_mention(Mention(source="bench", external_id=f"m{n}", text=TEXTS[n % 4], created_at=now), now=now)
        for n in range(count)
    ]
    started = time.perf_counter()
    for n, mention in enumerate(arrived):
        await service.ingest("bench", mention, str(n))
    elapsed = time.perf_counter() - started
    await dispose(db, url, schema)
    return elapsed / count


def _rows(n: int, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The values the bot writes for mention ``n`` (as ``mentions.insert`` and ``outbox`` build them)."""
    mention = dict.fromkeys(MENTION_KEYS, "")
    mention.update(
        source="bench", external_id=f"m{n}", url=None, text=TEXTS[n % 4], lang=None, visibility="public",
        can_reply=True, created_at=now, received_at=now, status="routed", role="social-media",
        rule="default", reason="default role", on_duty="alice", queued_until=None, version=0,
        escalation_level=0, note_count=0,
    )  # fmt: skip
    posts = [
        {
            "kind": "post_card",
            "lane": 1,
            "target": desk,
            "mention_id": 0,
            "payload": json.dumps({}),
            "dedupe_key": f"post_card:{desk}:{n}",
            "state": "pending",
            "version": 0,
            "attempts": 0,
            "next_attempt_at": now,
            "leased_until": None,
            "last_error": "",
            "created_at": now,
        }
        for desk in DESKS
    ]
    cursor = {"source": "bench", "stream": "default", "value": str(n), "updated_at": now}
    return mention, posts, cursor


def raw_sqlite(path: Path, count: int) -> float:
    """Seconds per mention: the same three INSERT statements on ``sqlite3``, one COMMIT each."""
    mention_sql, outbox_sql, cursor_sql = (
        direct("sqlite", name, keys)
        for name, keys in (("mention", MENTION_KEYS), ("enqueue", OUTBOX_KEYS), ("cursor", CURSOR_KEYS))
    )
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    now = datetime.now(UTC)
    prepared = [_rows(n, now) for n in range(count)]
    for mention, posts, cursor in prepared:  # values in the driver's form, outside the timing
        mention["_args"] = mention_sql.args(mention)
        cursor["_args"] = cursor_sql.args(cursor)
        for post in posts:
            post["_args"] = outbox_sql.args(post)
    started = time.perf_counter()
    for mention, posts, cursor in prepared:
        conn.execute("BEGIN IMMEDIATE")
        new_id = conn.execute(mention_sql.sql, mention["_args"]).fetchone()[0]
        conn.executemany(outbox_sql.sql, [(*p["_args"][:2], new_id, *p["_args"][3:]) for p in posts])
        conn.execute(cursor_sql.sql, cursor["_args"])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed / count


async def raw_run(url: str, tmp: Path, count: int) -> float:
    """Seconds per mention of the raw loop on a freshly migrated database."""
    db, schema = await fresh(url, tmp)
    try:
        if not url:
            assert db.engine.url.database is not None
            path = Path(db.engine.url.database)
            await db.aclose()
            return await asyncio.to_thread(raw_sqlite, path, count)
        return await raw_postgresql(db, count)
    finally:
        await dispose(db, url, schema)


async def raw_postgresql(db: Database, count: int) -> float:
    """The same statements on the asyncpg connection, one transaction each."""
    from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

    from bot.store.sql import Direct, statements

    dialect = pg_asyncpg.dialect()
    made = [
        Direct(statements("postgresql")[name], dialect, keys)
        for name, keys in (("mention", MENTION_KEYS), ("enqueue", OUTBOX_KEYS), ("cursor", CURSOR_KEYS))
    ]
    now = datetime.now(UTC)
    prepared = [_rows(n, now) for n in range(count)]
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        mention_sql, outbox_sql, cursor_sql = [await raw.prepare(d.sql) for d in made]
        started = time.perf_counter()
        for mention, posts, cursor in prepared:
            async with raw.transaction():
                new_id = await mention_sql.fetchval(*made[0].args(mention))
                await outbox_sql.executemany([made[1].args({**p, "mention_id": new_id}) for p in posts])
                await cursor_sql.fetchval(*made[2].args(cursor))
        elapsed = time.perf_counter() - started
    return elapsed / count


def summary(label: str, bot: list[float], raw: list[float]) -> list[str]:
    lo, mid = min(bot) / min(raw), statistics.median(bot) / statistics.median(raw)

    def us(values: list[float]) -> str:
        return f"min {min(values) * 1e6:7.0f} µs  median {statistics.median(values) * 1e6:7.0f} µs"

    verdict = "met" if mid <= 2.0 else "MISSED"
    return [
        f"{label}:",
        f"  bot ingest  {us(bot)} per mention",
        f"  raw loop    {us(raw)} per mention",
        f"  bot/raw     min {lo:5.2f}×     median {mid:5.2f}×   goal <= 2.0: {verdict}",
    ]


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        targets = [("SQLite (WAL, synchronous=NORMAL)", "")]
        if args.url:
            targets.append(("PostgreSQL", args.url))
        times: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label, _ in targets}
        for _ in range(args.reps):
            for label, url in targets:
                times[label][0].append(await bot_run(url, tmp, args.count))
                times[label][1].append(await raw_run(url, tmp, args.count))
    python = (
        f"{platform.python_implementation()} {platform.python_version()}, sqlite {sqlite3.sqlite_version}"
    )
    print(f"ingest: {args.count} mentions per run, {args.reps} interleaved repetitions ({python})")
    for label, (bot, raw) in times.items():
        print("\n".join(summary(label, bot, raw)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--url", default="", help="also measure this PostgreSQL database")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
