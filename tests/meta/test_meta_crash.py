"""Invariant 1 for Facebook under SIGKILL: the bot runs as a child process polling the loopback Graph
API and is killed at each source-side crash point; after a restart every comment (those from before
the crash, and those made while it was down) is stored exactly once. Marked slow, like tests/crash."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.crash.process import child_env
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph
from tests.social.conftest import wait_until

pytestmark = pytest.mark.slow
ROOT = str(Path(__file__).resolve().parents[2])
RULES = 'default_role = "social-media"\n[roles.social-media]\nsla_minutes = 30\n'


def texts(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT text FROM mentions WHERE source = 'facebook'")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


async def start(workdir: Path, graph: FakeGraph, crash_at: str = "") -> asyncio.subprocess.Process:
    rules = workdir / "rules.toml"
    rules.write_text(RULES)
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "RULES_FILE": str(rules),
        "CONSOLE_DESK": "on",  # cards go to the console desk (stdout, discarded)
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "TIMER_SECONDS": "3600",
        "FACEBOOK_PAGE_ID": fake.PAGE_ID,
        "FACEBOOK_PAGE_TOKEN": fake.TOKEN,
        "FACEBOOK_GRAPH_URL": graph.base,
        "FACEBOOK_GRAPH_VERSION": fake.VERSION,
        "FACEBOOK_POLL_SECONDS": "0.2",
        "FACEBOOK_BACKFILL": "true",
    }
    env = child_env(settings)
    if crash_at:
        env["PATRON_DESK_CRASH_AT"] = crash_at
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=workdir,
        env=env | {"PYTHONPATH": ROOT},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


@pytest.mark.parametrize("point", ["after_fetch:3", "in_ingest:2", "after_ingest_commit:2"])
async def test_killed_at_a_crash_point_loses_and_repeats_nothing(
    point: str, tmp_path: Path, graph: FakeGraph
) -> None:
    post = graph.add_post()
    before = [f"before {n}" for n in range(4)]
    for text in before:
        graph.add_comment(post["id"], text)
    crashing = await start(tmp_path, graph, crash_at=point)
    assert await asyncio.wait_for(crashing.wait(), 60) == -9  # SIGKILL at the armed point
    stored_at_crash = texts(tmp_path / "bot.db")
    assert len(stored_at_crash) < len(before)  # it died part-way through
    down = [f"while down {n}" for n in range(3)]
    for text in down:
        graph.add_comment(post["id"], text)
    again = await start(tmp_path, graph)
    try:
        await wait_until(lambda: len(texts(tmp_path / "bot.db")) >= len(before) + len(down), seconds=60)
        await asyncio.sleep(0.5)  # a few more polls: nothing may arrive twice
        final = texts(tmp_path / "bot.db")
    finally:
        again.terminate()
        await asyncio.wait_for(again.wait(), 30)
    assert sorted(final) == sorted(before + down)
