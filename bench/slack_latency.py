"""Slack event -> posted card latency through the loopback emulator, and what a 2,000-mention burst does.

Runs the real app (service, SQLite store, outbox relay, Slack source and desk over Socket Mode)
against tests/fakes/slack.py. Run: ``.venv/bin/python -m bench.slack_latency``.

* Latency: one patron message at a time; from the moment the emulator sends the Events API envelope
  to the moment it stores the card's chat.postMessage. The per-channel pace is switched off for this
  part (it would only measure the pace).
* Burst: 2,000 messages delivered at once; the staff channel pace is shortened from Slack's ~1 s to
  PACE seconds so the run takes seconds, not half an hour. Reports cards, digest messages, duplicates,
  drops and the time to drain.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bot.app import PatronDesk
from bot.config import Settings
from bot.platforms.slack.buttons import CARD_EVENT
from bot.platforms.slack.client import SlackClient
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SlackEmulator
from tests.fakes.slack_payloads import event_callback, message_event

STAFF, COMMUNITY, PATRON = "C0STAFF01", "C0COMMUNI1", "U0PATRON1"
LATENCY_EVENTS, BURST, PACE = 300, 2000, 0.05
RULES = 'default_role = "reference"\n\n[roles.reference]\nsla_minutes = 60\n'


def settings(workdir: Path, emu: SlackEmulator) -> Settings:
    rules = workdir / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/bench.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        SLACK_SOURCE_CHANNELS=COMMUNITY,  # type: ignore[arg-type]
    )


def card_keys(emu: SlackEmulator) -> list[str]:
    return [
        m["metadata"]["event_payload"]["dedupe_key"]
        for m in emu.top_level(STAFF)
        if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
    ]


async def until(predicate: Callable[[], bool], within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.001)


def client(emu: SlackEmulator, *, pace: float) -> SlackClient:
    return SlackClient(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=emu.api_url, pace=pace)


async def emulator() -> SlackEmulator:
    emu = await SlackEmulator().start()
    emu.add_channel(STAFF)
    emu.add_channel(COMMUNITY)
    emu.add_user(PATRON, "pat", "Pat Ron")
    return emu


async def latency(workdir: Path) -> list[float]:
    emu = await emulator()
    app = PatronDesk(settings(workdir, emu))
    app.clients["slack"] = SlackClient(
        bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=emu.api_url, pace=0.0
    )
    out: list[float] = []
    try:
        async with app:
            await emu.connected()
            for n in range(LATENCY_EVENTS + 20):
                before = len(card_keys(emu))
                event = message_event(COMMUNITY, PATRON, f"question {n}", ts=f"1700000000.{n:06d}")
                start = time.perf_counter()
                await emu.deliver("events_api", event_callback(event))
                await until(lambda b=before: len(card_keys(emu)) > b, 30)
                if n >= 20:  # warm-up: connections, caches, SQLite pages
                    out.append(emu.posted_at[emu.top_level(STAFF)[-1]["ts"]] - start)
    finally:
        await emu.close()
    return out


async def burst(workdir: Path) -> dict[str, float]:
    emu = await emulator()
    app = PatronDesk(settings(workdir, emu))
    app.clients["slack"] = SlackClient(
        bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=emu.api_url, pace=PACE
    )
    try:
        async with app:
            await emu.connected()
            start = time.perf_counter()
            waiters = []
            for n in range(BURST):
                event = message_event(COMMUNITY, PATRON, f"burst {n}", ts=f"1700001000.{n:06d}")
                waiters.append(await emu.deliver("events_api", event_callback(event)))
            await asyncio.gather(*waiters)
            acked = time.perf_counter() - start
            progress = asyncio.create_task(_report(emu, start))
            await until(lambda: len(set(card_keys(emu))) >= BURST, 3600)
            progress.cancel()
            await app.wait_idle(within=120)
    finally:
        await emu.close()
    keys = card_keys(emu)
    counts = Counter(keys)
    digests = [m for m in emu.top_level(STAFF) if not m.get("metadata")]
    first_digest = min((emu.posted_at[m["ts"]] for m in digests), default=start) - start
    cards_ts = [m["ts"] for m in emu.top_level(STAFF) if m.get("metadata")]
    drained = max(emu.posted_at[ts] for ts in cards_ts) - start  # the last card stored
    return {
        "acked": acked,
        "drained": drained,
        "cards": len(keys),
        "unique": len(counts),
        "duplicates": sum(c - 1 for c in counts.values()),
        "dropped": BURST - len(counts),
        "digests": len(digests),
        "digest_updates": sum(m["edits"] for m in digests),
        "digest_after": first_digest,
        "post_calls": emu.count("chat.postMessage"),
    }


async def _report(emu: SlackEmulator, start: float) -> None:
    while True:
        await asyncio.sleep(15)
        print(f"  … {len(set(card_keys(emu)))} cards after {time.perf_counter() - start:.0f} s", flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp:
        first, second = Path(tmp) / "latency", Path(tmp) / "burst"
        first.mkdir()
        second.mkdir()
        samples = await latency(first)
        ms = [s * 1000 for s in samples]
        print(f"event -> card latency over {len(ms)} events (pace off):")
        print(
            f"  p50 {statistics.median(ms):.1f} ms   p99 {percentile(ms, 0.99):.1f} ms   max {max(ms):.1f} ms"
        )
        print("  goal: p50 <= 50 ms, p99 <= 250 ms")
        result = await burst(second)
        print(f"burst of {BURST} mentions (staff channel pace shortened to {PACE}s; Slack's is ~1 s):")
        print(f"  all {BURST} events stored and acked in {result['acked']:.1f} s")
        print(f"  cards posted {result['cards']} ({result['unique']} distinct)")
        print(f"  duplicates {result['duplicates']}, dropped {result['dropped']}")
        after = result["digest_after"]
        print(f"  digest messages {result['digests']}, the first shown {after:.1f} s after the first event")
        print(f"  digest refreshed {result['digest_updates']} times while the burst drained")
        print(f"  chat.postMessage calls {result['post_calls']}; time to drain {result['drained']:.1f} s")
        print(f"  at Slack's real pace the same burst drains in about {BURST} s; the digest shows it at once")


if __name__ == "__main__":
    asyncio.run(main())
