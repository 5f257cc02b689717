"""Start to ready and idle memory of the whole bot with every source and desk on, against loopback servers.

Run: .venv/bin/python -m bench.footprint [--starts 3] [--idle 10] [--no-synapse]
This process starts the test servers (the feeds server, the Mastodon and Bluesky servers, the Slack
emulator, and a real Synapse as its own subprocess); the bot runs as a child ``python -m bot run`` with
its settings in the environment, so only the bot's own memory is measured. Each start is timed from
the spawn to the "Patron Desk is running" log line; the resident memory (VmRSS) is read from /proc
after ``--idle`` seconds. A second child runs this file with ``--child`` to time the constructor to
``async with`` entered inside the process. Goals: start to ready <= 2 s; idle RSS <= 100 MiB (issue 13).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

SELF = Path(__file__).resolve()
ROOT = SELF.parent.parent
READY = "Patron Desk is running"
RULES = """
default_role = "social-media"
[roles.social-media]
sla_minutes = 30
[roles.circulation]
sla_minutes = 20
backup = "social-media"
[[rules]]
name = "renewals"
role = "circulation"
keywords = ["renew", "overdue"]
[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
slack_user_id = "U0ALICE01"
"""
STAFF_CHANNEL, COMMUNITY = "C0STAFF01", "C0COMMUNI1"


async def feeds_server(stack: AsyncExitStack) -> str:
    from tests.fakes.feeds import FeedServer, Item, atom

    server = await stack.enter_async_context(FeedServer())
    server.route("/alerts.xml", atom([Item(id="tag:alert-1", title="Riverside library opens late")]))
    return server.url("/alerts.xml")


async def social_servers(stack: AsyncExitStack) -> dict[str, str]:
    from tests.fakes import bluesky as bluesky_server
    from tests.fakes import mastodon as mastodon_server

    mastodon = await stack.enter_async_context(mastodon_server.FakeMastodon())
    bluesky = await stack.enter_async_context(bluesky_server.FakeBluesky())
    return {
        "MASTODON_URL": mastodon.url,
        "MASTODON_ACCESS_TOKEN": mastodon_server.TOKEN,
        "BLUESKY_SERVICE": bluesky.url,
        "BLUESKY_HANDLE": bluesky_server.HANDLE,
        "BLUESKY_APP_PASSWORD": bluesky_server.PASSWORD,
    }


async def slack_emulator(stack: AsyncExitStack) -> dict[str, str]:
    """The Slack helper's emulator; an empty dict (Slack off) when it cannot be imported."""
    try:
        from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackEmulator
    except ImportError as exc:
        print(f"  Slack emulator not importable ({exc}); running without Slack")
        return {}
    emu = await SlackEmulator().start()
    stack.push_async_callback(emu.close)
    for channel in (STAFF_CHANNEL, COMMUNITY):
        emu.add_channel(channel)
    emu.add_user("U0ALICE01", "alice", "Alice Archer")
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": emu.api_url,
        "SLACK_STAFF_CHANNEL": STAFF_CHANNEL,
        "SLACK_SOURCE_CHANNELS": COMMUNITY,
    }


async def synapse(stack: AsyncExitStack, workdir: Path) -> dict[str, str]:
    """A throw-away Synapse with a bot, a staff room and a public source room."""
    from tests.fakes.synapse import make_synapse
    from tests.matrix.matrix_helpers import Account

    server = await asyncio.to_thread(make_synapse, workdir)
    stack.callback(server.stop)
    await asyncio.to_thread(server.start)
    bot = await asyncio.to_thread(server.register, "librarybot", displayname="Library Bot")
    patron_user = await asyncio.to_thread(server.register, "patron")
    staff_user = await asyncio.to_thread(server.register, "staff")
    patron, staff = Account(server.url, patron_user), Account(server.url, staff_user)
    stack.push_async_callback(patron.aclose)
    stack.push_async_callback(staff.aclose)
    source_room = await patron.create_room(public=True)
    staff_room = await staff.create_room(public=False, invite=(bot.user_id,))
    print(f"  synapse started in {server.start_seconds:.1f} s")
    return {
        "MATRIX_HOMESERVER": server.url,
        "MATRIX_USER_ID": bot.user_id,
        "MATRIX_ACCESS_TOKEN": bot.access_token,
        "MATRIX_STAFF_ROOM": staff_room,
        "MATRIX_SOURCE_ROOMS": source_room,
        "MATRIX_DIRECT_MESSAGES": "true",
    }


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


async def one_start(env: dict[str, str], workdir: Path, *, child: bool, idle: float) -> dict[str, Any]:
    """Spawn the bot, wait for readiness, idle, read its memory, stop it with SIGTERM."""
    command = [sys.executable, "-m", "bot", "run"]
    if child:  # as a module: run as a file, bench/ would come first on sys.path (bench/email.py)
        command = [sys.executable, "-m", "bench.footprint", "--child"]
    spawned = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=workdir,  # no stray .env
        env=env,
        stdin=subprocess.PIPE,  # the console desk reads it; kept open and silent
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    result: dict[str, Any] = {"log": []}
    try:
        async with asyncio.timeout(120):
            while True:
                line = (await proc.stderr.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError("the bot exited before it was ready:\n" + "".join(result["log"][-20:]))
                result["log"].append(line)
                if line.startswith("{") and child:
                    result.update(json.loads(line))
                    break
                if READY in line and not child:
                    break
        result["ready"] = time.perf_counter() - spawned
        drain = asyncio.create_task(_drain(proc.stderr, result["log"]))
        await asyncio.sleep(idle)
        result.update(rss_kib(proc.pid))
        result["errors"] = [line for line in result["log"] if " ERROR " in line or " WARNING " in line]
        drain.cancel()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
    return result


async def _drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


def import_time(runs: int = 5) -> tuple[float, float]:
    """Median wall seconds of ``python -c "import bot.app"`` and of a bare ``python -c pass``."""

    def timed(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return time.perf_counter() - started

    bare = statistics.median(timed("pass") for _ in range(runs))
    full = statistics.median(timed("import bot.app") for _ in range(runs))
    return full, bare


EVERYTHING = (
    "import importlib, importlib.util, bot.app, bot.runner\n"
    "from bot.platforms import REGISTRY\n"
    "for name in REGISTRY:\n"
    "    for part in ('client', 'link', 'source', 'desk'):\n"
    "        if importlib.util.find_spec(f'bot.platforms.{name}.{part}'):\n"
    "            importlib.import_module(f'bot.platforms.{name}.{part}')\n"
)


def import_rss() -> float:
    """MiB resident after importing every module the bot uses, and nothing else (the code's share)."""
    code = EVERYTHING + "import pathlib\nprint(pathlib.Path('/proc/self/status').read_text())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def heaviest_imports(limit: int = 12) -> tuple[int, list[tuple[int, str]]]:
    """Total import time of the bot with every adapter and desk module (``-X importtime``, in µs), and
    the top-level packages with the largest cumulative time wherever they were first imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", EVERYTHING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    packages: dict[str, int] = {}
    total = 0
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name, cumulative = parts[2].strip(), int(parts[1])
        if not parts[2].startswith("  "):  # imported by the statement itself
            total += cumulative
        if "." not in name and not name.startswith("_"):
            packages[name] = max(packages.get(name, 0), cumulative)
    return total, sorted(((us, name) for name, us in packages.items()), reverse=True)[:limit]


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="pd-footprint-") as tmp:
        workdir = Path(tmp)
        (workdir / "rules.toml").write_text(RULES)
        async with AsyncExitStack() as stack:
            print("starting the loopback servers:")
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/footprint.db",
                "RULES_FILE": str(workdir / "rules.toml"),
                "HTTP_PORT": "0",
                "CONSOLE_DESK": "on",
                "LOG_LEVEL": "INFO",
                "WEBHOOK_SECRET": "footprint-secret",
                "FEEDS": await feeds_server(stack),
                "FEED_POLL_SECONDS": "60",
            }
            env |= await social_servers(stack)
            env |= await slack_emulator(stack)
            if not args.no_synapse:
                (workdir / "synapse").mkdir()
                env |= await synapse(stack, workdir / "synapse")
            runs = [await one_start(env, workdir, child=False, idle=args.idle) for _ in range(args.starts)]
            probe = await one_start(env, workdir, child=True, idle=1.0)
        report(args, runs, probe, env)


def report(
    args: argparse.Namespace, runs: list[dict[str, Any]], probe: dict[str, Any], env: dict[str, str]
) -> None:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"whole bot, every part on ({python}, {os.cpu_count()} cores)")
    ready_line = next(line for line in runs[0]["log"] if READY in line)
    print("  " + ready_line.split(": ", 1)[-1].strip())
    if "SLACK_BOT_TOKEN" not in env:
        print("  (Slack off: the emulator could not be imported)")
    for n, run in enumerate(runs, 1):
        what = "first start, empty database" if n == 1 else "restart"
        mib, peak = run["VmRSS"] / 1024, run["VmHWM"] / 1024
        print(
            f"  start {n} ({what}): spawn to ready {run['ready']:.2f} s; "
            f"RSS after {args.idle:.0f} s idle {mib:.1f} MiB (peak {peak:.1f} MiB)"
        )
        for line in run["errors"][:5]:
            print("    log: " + line.strip()[:160])
    print(
        f"  in the process: imports {probe['imports']:.2f} s, settings {probe['settings']:.3f} s, "
        f"constructor to `async with` entered {probe['enter']:.2f} s"
    )
    full, bare = import_time()
    print(f"  python -c 'import bot.app': {full:.2f} s (interpreter alone {bare:.2f} s; median of 5)")
    worst_ready = max(run["ready"] for run in runs)
    worst_rss = max(run["VmRSS"] for run in runs) / 1024
    print(
        f"  goal start to ready <= 2 s: {'met' if probe['enter'] <= 2 else 'MISSED'} "
        f"(constructor to entered {probe['enter']:.2f} s; spawn to ready at worst {worst_ready:.2f} s)"
    )
    print(
        f"  goal idle RSS <= 100 MiB (issue 13): {'met' if worst_rss <= 100 else 'MISSED'} "
        f"(at worst {worst_rss:.1f} MiB = {worst_rss * 1.048576:.1f} MB)"
    )
    print(f"  RSS of a process that only imports every module the bot uses: {import_rss():.1f} MiB")
    total, heavy = heaviest_imports()
    print(f"  importing the bot with every adapter and desk module: {total / 1e6:.2f} s (-X importtime)")
    print("  heaviest packages (cumulative where first imported; nested ones overlap):")
    for us, name in heavy:
        print(f"    {us / 1000:7.1f} ms  {name}")


async def child() -> None:
    """Inside the bot's process: time imports, settings and the constructor to ``async with`` entered."""
    started = time.perf_counter()
    from bot.app import PatronDesk
    from bot.config import load_settings
    from bot.logs import configure

    imported = time.perf_counter()
    settings = load_settings()
    configure(settings.LOG_LEVEL, settings.LOG_FORMAT)
    loaded = time.perf_counter()
    app = PatronDesk(settings)
    async with app:
        entered = time.perf_counter()
        timings = {"imports": imported - started, "settings": loaded - imported, "enter": entered - loaded}
        print(json.dumps(timings), file=sys.stderr, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="bot starts to measure (first on an empty DB)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before reading RSS")
    parser.add_argument("--no-synapse", action="store_true", help="leave Matrix off (no Synapse)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child())
    else:
        asyncio.run(measure(args))


if __name__ == "__main__":
    main()
