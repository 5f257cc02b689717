"""Many crash runs side by side (each with its own servers, directory and bot), and the summary table."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence

from .harness import Outcome, run_one

COLUMNS = (
    "point",
    "runs",
    "crashed",
    "lost",
    "duplicate cards",
    "duplicate replies",
    "unsent replies",
    "stale cards",
    "outbox left",
    "problems",
)


def parallel_runs() -> int:
    """Runs at once: each bot mostly waits on Slack's pace, so a few per core fit."""
    return max(2, 3 * (os.cpu_count() or 1))


async def run_matrix(
    points: Sequence[str],
    seeds: Sequence[int],
    *,
    no_reconcile: bool = False,
    parallel: int | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every (point, seed), ``parallel`` at a time, in a stable order."""
    gate = asyncio.Semaphore(parallel or parallel_runs())

    async def one(point: str, seed: int) -> Outcome:
        async with gate:
            outcome = await run_one(point, seed, no_reconcile=no_reconcile)
        if progress is not None:
            progress(outcome)
        return outcome

    jobs = [one(point, seed) for seed in seeds for point in points]
    return list(await asyncio.gather(*jobs))


def summary(outcomes: Sequence[Outcome], points: Sequence[str]) -> list[tuple[str, ...]]:
    """One row per point, then a total row."""
    rows: list[tuple[str, ...]] = []
    for point in [*points, "total"]:
        mine = [o for o in outcomes if point in (o.point, "total")]
        c = [o.counts for o in mine]
        rows.append(
            (
                point,
                str(len(mine)),
                str(sum(o.crashed for o in mine)),
                str(sum(x.lost for x in c)),
                str(sum(x.duplicate_cards for x in c)),
                str(sum(x.duplicate_replies for x in c)),
                str(sum(x.unsent_replies for x in c)),
                str(sum(x.stale_cards for x in c)),
                str(sum(x.outbox_left for x in c)),
                str(sum(len(x.problems) for x in c)),
            )
        )
    return rows


def table(outcomes: Sequence[Outcome], points: Sequence[str]) -> str:
    """The summary as an aligned text table."""
    rows = [COLUMNS, *summary(outcomes, points)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Reporter:
    """Prints each finished run, and the table so far each time ``every`` more whole seeds are done,
    so a matrix stopped early still leaves an exact table for the seeds it completed."""

    def __init__(self, points: Sequence[str], seeds: Sequence[int], *, every: int = 5) -> None:
        self.points = points
        self.seeds = list(seeds)
        self.every = every
        self.outcomes: list[Outcome] = []
        self._shown = 0  # seeds covered by the last table

    def __call__(self, o: Outcome) -> None:
        self.outcomes.append(o)
        c = o.counts
        total = len(self.points) * len(self.seeds)
        print(
            f"[{len(self.outcomes)}/{total}] {o.point} seed {o.seed} pass {o.nth}: crashed={o.crashed} "
            f"lost={c.lost} dup_cards={c.duplicate_cards} dup_replies={c.duplicate_replies} "
            f"clean={c.clean} {o.seconds:.1f}s",
            flush=True,
        )
        done = {(x.point, x.seed) for x in self.outcomes}
        whole = 0
        for seed in self.seeds:
            if not all((point, seed) in done for point in self.points):
                break
            whole += 1
        if whole >= self._shown + self.every and whole < len(self.seeds):
            self._shown = whole
            first = self.seeds[:whole]
            mine = [x for x in self.outcomes if x.seed in first]
            print(f"\nSo far, seeds {first[0]}..{first[-1]} ({whole} seeds):\n{table(mine, self.points)}\n")


def failures(outcomes: Sequence[Outcome]) -> list[str]:
    """One line per run that lost, duplicated or left something, with its figures."""
    return [
        f"{o.point} seed {o.seed} (pass {o.nth}, crashed {o.crashed}): {o.counts}"
        for o in outcomes
        if not o.counts.clean
    ]
