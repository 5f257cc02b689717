"""Claim race at scale: exactly one winner in every trial, on SQLite (one process) and PostgreSQL
(two worker processes). `make test` runs a reduced size; the full run (1,000 trials each) is:

    PATRON_DESK_FULL=1 TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m pytest tests/scale -q -s
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.models import Claim, StaffRef
from bot.store.db import Database
from bot.store.report_tables import AuditRow
from tests.conftest import PG_URL, drop_database, make_database
from tests.core.helpers import make_service, mention

TRIALS = 1000 if os.environ.get("PATRON_DESK_FULL") else 10
ROOT = Path(__file__).resolve().parents[2]


async def claims_audited(db: Database) -> Counter[int]:
    async with db.transaction() as session:
        stmt = (
            select(AuditRow.mention_id, func.count())
            .where(AuditRow.action == "claim")
            .group_by(AuditRow.mention_id)
        )
        return Counter({mid: n for mid, n in (await session.execute(stmt)).all()})


@pytest.mark.parametrize("claimers", [2, 10, 50])
async def test_sqlite_one_winner_per_trial(tmp_path: Path, claimers: int) -> None:
    db, _ = await make_database("sqlite", tmp_path)
    service = await make_service(db)
    started = time.perf_counter()
    for trial in range(TRIALS):
        await service.ingest("fake", mention(trial), None)
        actors = [StaffRef("slack", f"U{n:05d}", f"C{n}") for n in range(claimers)]
        results = await asyncio.gather(*(service.handle(Claim(trial + 1, a)) for a in actors))
        assert sum(r.ok for r in results) == 1, f"trial {trial}"
    audited = await claims_audited(db)
    await db.aclose()
    assert set(audited.values()) == {1} and len(audited) == TRIALS
    took = time.perf_counter() - started
    print(f"\nsqlite: {TRIALS} trials x {claimers} claimers: one winner each ({took:.1f}s)")


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")
@pytest.mark.parametrize("claimers", [2, 10, 50])
async def test_postgresql_two_processes_one_winner_per_trial(tmp_path: Path, claimers: int) -> None:
    db, schema = await make_database("postgresql", tmp_path)
    try:
        service = await make_service(db)
        for trial in range(TRIALS):
            await service.ingest("fake", mention(trial), None)
        started = time.perf_counter()
        share = max(1, claimers // 2)
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.scale.claim_worker",
                PG_URL,
                schema or "",
                str(w),
                str(TRIALS),
                str(share),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
            )
            for w in range(2)
        ]
        outputs = [json.loads((await p.communicate())[0]) for p in procs]
        assert all(p.returncode == 0 for p in procs)
        wins = Counter(t for out in outputs for t in out["wins"])
        assert sorted(wins) == list(range(TRIALS)) and set(wins.values()) == {1}
        assert sum(out["wrong_messages"] for out in outputs) == 0  # every loser was told who won
        audited = await claims_audited(db)
        assert set(audited.values()) == {1} and len(audited) == TRIALS
        print(
            f"\npostgresql: {TRIALS} trials x {2 * share} claimers in 2 processes: one winner each "
            f"({time.perf_counter() - started:.1f}s)"
        )
    finally:
        await drop_database(db, schema)
