"""The HTTP server under 2,000 half-open connections: answer latency and log growth.

Runs ``patron-desk run`` (webhook on, LOG_LEVEL=DEBUG, SQLite) as a child process with the systemd
default of 1,024 open files, opens CONNECTIONS connections that send nothing or half a request line,
keeps them open for HOLD seconds while it posts PROBES signed webhook requests one after another, and
reports the answers, their latency and how much the bot's log grew.
Run: ``.venv/bin/python -m bench.slow_clients [connections] [hold seconds]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.platforms.webhook.source import signed_headers

ROOT = Path(__file__).resolve().parent.parent

SECRET, BOT_FILES, PROBES = "bench-secret", 1024, 20


def _bot_limits() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (BOT_FILES, hard))


async def _start(workdir: Path) -> tuple[asyncio.subprocess.Process, int, Path]:
    log = workdir / "bot.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "WEBHOOK_SECRET": SECRET,
        "HTTP_PORT": "0",
        "CONSOLE_DESK": "off",
        "LOG_LEVEL": "DEBUG",
    }
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=workdir, env=env, stderr=sink, preexec_fn=_bot_limits
        )
    for _ in range(600):
        found = re.search(r"HTTP server on [\d.]+:(\d+)", log.read_text("utf-8", "replace"))
        if found and "is running" in log.read_text("utf-8", "replace"):
            return process, int(found.group(1)), log
        await asyncio.sleep(0.1)
    raise SystemExit("the bot did not start:\n" + log.read_text("utf-8", "replace")[-2000:])


async def _attack(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers: list[asyncio.StreamWriter] = []

    async def one(n: int) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(3):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writers.append(writer)
                if n % 2:
                    writer.write(b"POST /webhook HTT")

    for start in range(0, count, 100):
        await asyncio.gather(*(one(n) for n in range(start, min(count, start + 100))))
    return writers


async def _probe(port: int, n: int) -> tuple[int, float]:
    body = json.dumps({"id": f"bench-{n}", "text": "is the library open?", "author": {"id": "p"}}).encode()
    headers = signed_headers(SECRET, body, timestamp=int(time.time()))
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(f"http://127.0.0.1:{port}/webhook", content=body, headers=headers)
        return answer.status_code, time.perf_counter() - started
    except httpx.HTTPError:
        return 0, time.perf_counter() - started


async def main(connections: int, hold: float) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 512), hard))
    with tempfile.TemporaryDirectory(prefix="slow-clients-") as tmp:
        process, port, log = await _start(Path(tmp))
        before, began = log.stat().st_size, time.perf_counter()
        writers = await _attack(port, connections)
        opened = time.perf_counter() - began
        results = []
        for n in range(PROBES):
            results.append(await _probe(port, n))
            await asyncio.sleep(hold / PROBES)
        grown = log.stat().st_size - before
        for writer in writers:
            writer.close()
        process.terminate()
        await process.wait()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    answered = [latency for status, latency in results if status == 202]
    print(f"{connections} half-open connections against a bot with {BOT_FILES} open files")
    print(f"  client side: {len(writers)} connected in {opened:.2f}s")
    print(f"  webhook probes answered 202: {len(answered)}/{PROBES}", end="")
    if answered:
        print(
            f"; latency median {statistics.median(answered) * 1000:.0f} ms, max {max(answered) * 1000:.0f} ms"
        )
    else:
        print()
    print(f"  bot log grew by {grown:,} bytes in {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    asyncio.run(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, float(sys.argv[2]) if len(sys.argv) > 2 else 20)
    )
