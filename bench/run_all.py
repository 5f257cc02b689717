"""Run every benchmark in bench/ in turn, print their figures verbatim, and the load on the machine.

Run: .venv/bin/python -m bench.run_all [--pg URL] [--keep PATH] [--only NAME,...]
PostgreSQL runs need --pg (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test; each bench works in a
throw-away schema). For each bench it reports the wall time, the CPU the bench used (with its servers)
and how busy the whole machine was, so the share taken by other processes is visible.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def benches(pg: str, keep: str) -> list[tuple[str, list[str]]]:
    """(name, arguments after the interpreter) of every bench; PostgreSQL ones only with a URL."""
    found = [
        ("route", ["bench.route"]),
        ("sanitize", ["bench.sanitize"]),
        ("privacy guard", ["bench.privacy_guard"]),
        ("email", ["bench.email"]),
        ("ingest-sqlite", ["bench.ingest"]),
        ("ingest-postgresql", ["bench.ingest", "--url", pg]),  # SQLite again, PostgreSQL beside it
        ("queries-sqlite", ["bench.queries", "--compare", *(["--keep", keep] if keep else [])]),
        ("queries-postgresql", ["bench.queries", "--compare", "--url", pg]),
        ("retention-sqlite", ["bench.retention", *(["--keep", keep] if keep else [])]),
        ("retention-postgresql", ["bench.retention", "--url", pg]),
        ("footprint", ["bench.footprint"]),
        ("matrix-latency", ["bench.matrix_latency"]),
        ("slack-latency", ["bench.slack_latency"]),
        ("meta-webhook", ["bench.meta_webhook"]),
        ("head-of-line", ["bench.headofline"]),
    ]
    return [
        (n, a)
        for n, a in found
        if (ROOT / f"{a[0].replace('.', '/')}.py").exists() and (pg or "--url" not in a)
    ]


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(name: str, args: list[str]) -> None:
    command = [sys.executable, "-m", *args]
    shown = " ".join([".venv/bin/python", "-m", *args])
    print(f"\n=== {name}: {shown}", flush=True)
    load_before = os.getloadavg()[0]
    busy0, total0 = cpu_busy()
    cpu0, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    busy1, total1 = cpu_busy()
    machine = (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)
    own = (children_cpu() - cpu0) / wall
    others = max(0.0, machine - own)
    print(
        f"--- {name}: exit {done.returncode}, {wall:.0f} s wall; this bench used {own:.2f} cores on "
        f"average, the machine {machine:.2f} of {os.cpu_count()} (others about {others:.2f}); "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
        flush=True,
    )


def machine() -> list[str]:
    """nproc, CPU model, RAM, Python, SQLite and PostgreSQL client versions."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
    return [
        f"cores (nproc): {os.cpu_count()}; CPU: {model}; RAM: {mem_kib / 1024 / 1024:.1f} GiB",
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"SQLite {sqlite3.sqlite_version} (the Python module's library)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="", help="PostgreSQL URL for the PostgreSQL runs")
    parser.add_argument("--keep", default="", help="SQLite file queries.py keeps and reuses")
    parser.add_argument("--only", default="", help="comma-separated bench names")
    args = parser.parse_args()
    for line in machine():
        print(line)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    for name, bench_args in benches(args.pg, args.keep):
        if not wanted or name in wanted:
            run_one(name, bench_args)


if __name__ == "__main__":
    main()
