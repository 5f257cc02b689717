"""DESIGN.md §6 invariant 1 under SIGKILL: no mention lost, no card or reply twice, at every crash point.

`make test` runs every point with 2 seeds; the full matrix (every point x 50 seeds) is
``PATRON_DESK_FULL=1 .venv/bin/python -m pytest tests/crash -q -s`` and prints its table (and a table
so far every 5 seeds; ``PATRON_DESK_CRASH_SEEDS=N`` runs N seeds instead of 50).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.crashpoints import POINTS

from .harness import Outcome, run_one
from .matrix import Reporter, failures, run_matrix, table
from .process import child_env
from .scenario import ALL_POINTS, EMULATOR_DROP, SLACK_TIMEOUT

FULL = os.environ.get("PATRON_DESK_FULL", "") == "1"
SEEDS = range(1, 1 + int(os.environ.get("PATRON_DESK_CRASH_SEEDS", "50"))) if FULL else range(1, 3)
ROOT = Path(__file__).resolve().parents[2]


def child(name: str, times: int, **env: str) -> subprocess.CompletedProcess[str]:
    """``tests.crash.child`` passing crash point ``name`` ``times`` times, with ``env`` added."""
    return subprocess.run(
        [sys.executable, "-m", "tests.crash.child", name, str(times)],
        cwd=ROOT,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_crash_point_kills_at_its_nth_pass() -> None:
    done = child("after_lease", 5, PATRON_DESK_CRASH_AT="after_lease:3")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split("\n")[1:3] == ["passed 1", "passed 2"]
    assert "passed 3" not in done.stdout
    assert "crash point after_lease:3 reached" in done.stderr


def test_crash_point_without_a_count_kills_at_the_first_pass() -> None:
    done = child("in_claim", 2, PATRON_DESK_CRASH_AT="in_claim")
    assert done.returncode == -signal.SIGKILL and "passed" not in done.stdout


def test_crash_point_is_a_no_op_for_other_names_and_without_the_variable() -> None:
    other = child("after_lease", 3, PATRON_DESK_CRASH_AT="in_claim:1")
    unset = child("after_lease", 3)
    for done in (other, unset):
        assert done.returncode == 0
        assert done.stdout.split() == ["reconcile", "on", "passed", "1", "passed", "2", "passed", "3"]


def test_no_reconcile_switch_and_a_malformed_crash_point() -> None:
    assert child("x", 0, PATRON_DESK_NO_RECONCILE="1").stdout.split() == ["reconcile", "off"]
    refused = child("x", 1, PATRON_DESK_CRASH_AT="x:0")
    assert refused.returncode == 1 and "expected NAME or NAME:N" in refused.stderr


def test_every_code_point_is_in_the_matrix() -> None:
    assert set(POINTS) <= set(ALL_POINTS) and len(ALL_POINTS) >= 12


async def test_crash_matrix() -> None:
    started = time.monotonic()
    progress = Reporter(ALL_POINTS, SEEDS) if FULL else None
    outcomes = await run_matrix(ALL_POINTS, SEEDS, progress=progress)
    took = time.monotonic() - started
    print(f"\nCrash-point matrix: {len(ALL_POINTS)} points x {len(SEEDS)} seeds in {took:.0f}s")
    print(table(outcomes, ALL_POINTS))
    answered, lost = sum(o.steps_answered for o in outcomes), sum(o.steps_given_up for o in outcomes)
    print(f"staff steps (claims, claim races, replies): {answered} answered, {lost} cut off by a crash")
    bad = failures(outcomes)
    for line in bad:
        print(line)
    assert not bad, f"{len(bad)} runs lost, duplicated or left something; first log:\n" + next(
        o.log_tail for o in outcomes if not o.counts.clean
    )
    for point in ALL_POINTS:  # a point that never fired would prove nothing
        assert any(o.crashed for o in outcomes if o.point == point), f"{point} never crashed the bot"
    assert sum(o.crashed for o in outcomes) >= 0.9 * len(outcomes)


@pytest.mark.parametrize(
    ("point", "shows"),
    [
        ("after_slack_post", "duplicate_cards"),
        (EMULATOR_DROP, "duplicate_cards"),
        ("after_source_reply", "duplicate_replies"),
    ],
)
async def test_negative_control_without_reconciliation_shows_duplicates(point: str, shows: str) -> None:
    """With the Slack history search and the Idempotency-Key switched off, the same crash duplicates:
    the matrix above can see a duplicate when there is one."""
    outcome = await run_one(point, 1, no_reconcile=True)
    assert outcome.crashed
    assert getattr(outcome.counts, shows) >= 1, outcome.counts
    assert outcome.counts.lost == 0


@pytest.fixture(scope="module")
def timeout_run() -> Outcome:
    """A card post lands but Slack's answer is lost (no crash); staff act on the card before the bot
    can find the post in the channel history (held back until the staff steps are done)."""
    return asyncio.run(run_one(SLACK_TIMEOUT, 1, hold_history=True))


def test_slack_timeout_without_a_crash_loses_and_duplicates_nothing(timeout_run: Outcome) -> None:
    c = timeout_run.counts
    assert not timeout_run.crashed
    assert (c.lost, c.duplicate_cards, c.duplicate_replies, c.unsent_replies, c.outbox_left) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert not c.problems


def test_slack_timeout_without_a_crash_leaves_the_card_current(timeout_run: Outcome) -> None:
    assert timeout_run.counts.stale_cards == 0
