"""Several processes and CLI commands on one database at once (DESIGN.md §6, invariant 11).

PostgreSQL: two bot processes and the CLI; SQLite: one bot process and the CLI. Each bot runs the
scripted mix of first actions by new staff, rota changes naming new people, claims, replies and
queue queries, while `patron-desk rota edit` runs again and again beside it. Required: no process
ends, every action is answered, every CLI command succeeds, and each person has exactly one row.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.core.service import DeskService
from bot.platforms import source_platforms
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.rota_repo import load_rota
from bot.store.rota_tables import ShiftRow, StaffRow
from tests.conftest import PG_URL, database_params
from tests.core.helpers import mention
from tests.core.procs_script import MENTIONS, ROTA_CSV, RULES, cli_commands, expected_keys

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=database_params())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database the processes share: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/desk.db"
        return
    name = f"procs_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.engine.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.aclose()


def environment(tmp_path: Path, url: str) -> dict[str, str]:
    rules, rota = tmp_path / "rules.toml", tmp_path / "rota.csv"
    rules.write_text(RULES)
    rota.write_text(ROTA_CSV)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "RULES_FILE": str(rules),
        "ROTA_FILE": str(rota),
        "CONSOLE_DESK": "off",
        "HTTP_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }


async def seed_mentions(url: str) -> None:
    """The mentions the staff act on (ids 1..MENTIONS), stored once both bots are up."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            rota = await load_rota(session, ZoneInfo("UTC"))
        service = DeskService(
            db, rules=load_rules(RULES, platforms=source_platforms()), rota=rota, desks=("script",)
        )
        for n in range(MENTIONS):
            await service.ingest("fake", mention(n), None)
    finally:
        await db.aclose()


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def start_bot(worker: int, env: dict[str, str], workdir: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.core.procs_worker", str(worker), str(workdir), cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def staff_keys(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return list((await session.execute(select(StaffRow.key))).scalars())
    finally:
        await db.aclose()


async def file_shifts(url: str) -> int:
    db = Database(url)
    try:
        async with db.transaction() as session:
            listed = ShiftRow.person.in_(["alice", "bob"])
            stmt = select(func.count()).where(ShiftRow.kind == "weekly", listed)
            return int((await session.execute(stmt)).scalar_one())
    finally:
        await db.aclose()


@pytest.mark.slow  # about 10 s: several bot processes and CLI runs
async def test_bots_and_cli_at_once(database_url: str, tmp_path: Path) -> None:
    env = environment(tmp_path, database_url)
    workers = 2 if database_url.startswith("postgresql") else 1
    # started together: they migrate and seed the empty database at the same time
    bots = [await start_bot(w, env, tmp_path) for w in range(workers)]
    async with asyncio.timeout(120):
        while not all((tmp_path / f"ready-{w}").exists() for w in range(workers)):
            if any(bot.returncode is not None for bot in bots):
                break
            await asyncio.sleep(0.05)
    await seed_mentions(database_url)
    (tmp_path / "go").touch()
    cli = await asyncio.gather(*(run_cli(args, env, tmp_path) for args in cli_commands()))
    outputs = [await bot.communicate() for bot in bots]
    results = [json.loads(out.decode().strip().splitlines()[-1] or "{}") for out, _ in outputs if out.strip()]

    for bot, (out, err) in zip(bots, outputs, strict=True):
        assert bot.returncode == 0, err.decode(errors="replace")[-2000:]
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["alive"], result  # 0 crashes
        assert result["answered"] == result["expected"], result  # every action answered
        assert result["failed"] == 0, result
    for code, text in cli:
        assert code == 0 and "Traceback" not in text, text
    keys = await staff_keys(database_url)
    assert Counter(keys).most_common(1)[0][1] == 1
    assert set(keys) == expected_keys()  # one row per person: no duplicates, no "administrator-…"
    assert await file_shifts(database_url) == 2  # the rota file imported once, not once per worker
    answered, kind = sum(r["answered"] for r in results), database_url.split("+")[0]
    print(
        f"\n{kind}: {workers} bot(s) + {len(cli)} CLI runs: {answered} actions answered "
        f"({sum(r['ok'] for r in results)} ok, {sum(r['failed'] for r in results)} failed), "
        f"0 crashes, {len(keys)} staff rows for {len(expected_keys())} people"
    )
