"""`make run` as a new user meets it: the real `patron-desk run --demo` process on a pseudo-terminal,
driven through claim → reply → the reply on the Mastodon stand-in → resolve → Ctrl-C → `report` on
the database the demo kept. Nothing waits on a clock: each step waits for the output it needs."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.demo.paths import demo_paths
from bot.models import Status
from bot.store import mentions
from bot.store.db import Database
from tests.demo.terminal import Terminal

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # a real process: start-up, migrations, a patron's first post


def clean_env() -> dict[str, str]:
    """The environment without any Patron Desk setting (a new user has none)."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.names()}
    env["PYTHONPATH"] = str(ROOT)
    env["TERM"] = "dumb"
    return env


async def stored(url: str, mention_id: int) -> mentions.MentionRow | None:
    """The mention as the kept database holds it."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            return await mentions.get(session, mention_id)
    finally:
        await db.aclose()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Terminal]:
    terminal = Terminal(
        [sys.executable, "-m", "bot", "run", "--demo", "--as", "alice"], cwd=tmp_path, env=clean_env()
    )
    try:
        yield terminal
    finally:
        terminal.close()


def test_the_whole_loop_in_the_demo_then_report_on_the_kept_database(demo: Terminal, tmp_path: Path) -> None:
    mastodon = demo.expect(r"Mastodon: (http://127\.0\.0\.1:\d+)").group(1)
    demo.expect(r"Console desk ready\. You act as Alice Archer")
    card = demo.expect(r"── #(\d+) · Mastodon · Maya Lindqvist")
    n = card.group(1)

    demo.send(f"claim {n}")
    demo.expect(rf"✓ Claimed #{n}\.")
    demo.expect(r"✋ Claimed by Alice Archer")

    demo.send(f"reply {n} Yes, we are open on Monday from 10:00 to 16:00.")
    demo.expect(
        r"published on Mastodon: @mayareads@social\.demo Yes, we are open on Monday from 10:00 to 16:00\."
    )
    timeline = httpx.get(f"{mastodon}/api/v1/timelines/public", timeout=30).json()
    assert any("Yes, we are open on Monday" in status["content"] for status in timeline)
    assert timeline[0]["in_reply_to_id"] is not None

    demo.send(f"resolve {n}")
    demo.expect(rf"✓ Resolved #{n}\.")

    demo.send(f"show {n}")
    demo.expect(rf"── #{n} · Mastodon[^\n]*\n(?:[^\n]*\n)*?\s*✅ Resolved by Alice Archer")

    assert demo.interrupt() == 0
    hint = demo.expect(r"DATABASE_URL=(\S+) \S*patron-desk report --since (\d{4}-\d{2}-\d{2})")
    paths = demo_paths(tmp_path)
    assert hint.group(1) == paths.database_url and paths.database.is_file()

    env = {**clean_env(), "DATABASE_URL": hint.group(1)}
    report = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--since", hint.group(2)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert re.search(r"mastodon\D{0,20}[1-9]", report.stdout, re.I), (
        report.stdout
    )  # more if the machine is slow

    row = asyncio.run(stored(paths.database_url, int(n)))
    assert row is not None and row.status == Status.RESOLVED
    assert row.reply_text == "Yes, we are open on Monday from 10:00 to 16:00."
