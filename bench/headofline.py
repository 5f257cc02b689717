"""Head-of-line blocking at Slack's real pace: does a patron's question wait behind a feed backlog?

Runs the real app (service, SQLite store, outbox relay, Slack desk) against the loopback Slack
emulator, with the desk's per-channel pace at Slack's real one post a second. Prints:

* a patron's Mastodon question ingested behind 200 and 2,000 feed items (Google Alerts) waiting for
  the same channel: ingest -> card, and ingest -> listed in the burst digest (folding off, so every
  feed item waits for its own card; and with ``FEED_BURST_FOLD`` at its default, where the burst
  becomes one summary card);
* a 2,000-mention burst of answerable mentions: seconds from the last ingest until the digest counts
  all of them, and how many digest pages reach every one;
* storm recovery: a 429 with ``Retry-After: 30`` on the staff channel, seconds from the 429 to the
  next post, and whether any row was marked failed.

Run: ``PYTHONPATH=$PWD .venv/bin/python -m bench.headofline`` (about three minutes, mostly waiting).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app import PatronDesk
from bot.config import Settings
from bot.models import Mention
from bot.platforms.slack.buttons import CARD_EVENT, CLAIM
from bot.platforms.slack.client import SlackClient
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, Fault, SlackEmulator

STAFF = "C0STAFF01"
PACE = 1.0  # Slack: about one message a second per channel
RULES = 'default_role = "reference"\n\n[roles.reference]\nsla_minutes = 600\n'


class TimedSlack(SlackEmulator):
    """The emulator, noting when it answered a 429."""

    def __init__(self) -> None:
        super().__init__()
        self.limited_at: list[float] = []

    async def _api(self, request: web.Request) -> web.StreamResponse:
        response = await super()._api(request)
        if response.status == 429:
            self.limited_at.append(time.perf_counter())
        return response


def settings(workdir: Path, emu: SlackEmulator, fold: int) -> Settings:
    rules = workdir / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/bench.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        TIMER_SECONDS=3600,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        SLACK_STAFF_CHANNEL=STAFF,
        FEED_BURST_FOLD=fold,
    )


def alert(n: int) -> Mention:
    return Mention(
        source="feeds",
        external_id=f"alert-{n}",
        text=f"Google Alert {n}: the library in the news",
        created_at=datetime.now(UTC),
        url=f"https://news.example/{n}",
        author_handle="news.example",
        author_name="news.example",
        can_reply=False,
    )


def question(n: int = 0) -> Mention:
    return Mention(
        source="mastodon",
        external_id=f"question-{n}",
        text="@library can I renew my books online?",
        created_at=datetime.now(UTC),
        url=f"https://social.example/@patron/{n}",
        author_handle="@patron@social.example",
        author_name="A Patron",
    )


async def until(predicate: Callable[[], bool], within: float, step: float = 0.005) -> float:
    """Wait for ``predicate``; the perf_counter() when it held."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polling the emulator's state, as a test would
            await asyncio.sleep(step)
    return time.perf_counter()


def card_ts(emu: SlackEmulator, key: str) -> str | None:
    for message in emu.top_level(STAFF):
        meta = message.get("metadata") or {}
        if meta.get("event_type") == CARD_EVENT and meta["event_payload"]["dedupe_key"] == key:
            return str(message["ts"])
    return None


def digests(emu: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emu.top_level(STAFF) if str(m.get("text", "")).startswith("Burst")]


def digest_lists_first(emu: SlackEmulator, mention_id: int) -> bool:
    """The digest's first Claim button is this mention's."""
    for digest in digests(emu):
        for block in digest.get("blocks") or ():
            accessory = block.get("accessory") or {}
            if accessory.get("action_id") == CLAIM:
                if json.loads(accessory["value"]).get("m") == mention_id:
                    return True
                break
    return False


def app_for(workdir: Path, emu: SlackEmulator, fold: int) -> PatronDesk:
    app = PatronDesk(settings(workdir, emu, fold))
    app.clients["slack"] = SlackClient(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=emu.api_url, pace=PACE
    )
    return app


async def backlog(workdir: Path, items: int, fold: int, questions: int = 5) -> dict[str, float]:
    """``items`` feed items, then ``questions`` questions one after another in the same channel."""
    emu = await TimedSlack().start()
    emu.add_channel(STAFF)
    cards, listed = [], []
    try:
        async with app_for(workdir, emu, fold) as app:
            for n in range(items):
                await app.service.ingest("feeds", alert(n), None)
            await asyncio.sleep(3)  # the backlog is queued and posting at the pace
            for q in range(questions):
                start = time.perf_counter()
                await app.service.ingest("mastodon", question(q), None)
                async with app.db.transaction() as session:
                    stmt = select(MentionRow.id).where(MentionRow.external_id == f"question-{q}")
                    mention_id = int((await session.execute(stmt)).scalar_one())
                key = f"post_card:slack:{mention_id}"
                seen = await until(lambda k=key, m=mention_id: shown(emu, k, m), 30)  # type: ignore[misc]
                listed.append(seen - start)
                await until(lambda k=key: card_ts(emu, k) is not None, 60)  # type: ignore[misc]
                ts = card_ts(emu, key)
                assert ts is not None
                cards.append(emu.posted_at[ts] - start)
                await asyncio.sleep(2)
            feed_cards = len([m for m in emu.top_level(STAFF) if m.get("metadata")]) - questions
    finally:
        await emu.close()
    return {
        "card_median": statistics.median(cards),
        "card_max": max(cards),
        "listed_max": max(listed),
        "feed_cards": feed_cards,
        "429s": len(emu.limited_at),
    }


def shown(emu: SlackEmulator, key: str, mention_id: int) -> bool:
    """Staff can see the question: first in the burst digest, or already on its own card."""
    return digest_lists_first(emu, mention_id) or card_ts(emu, key) is not None


async def burst(workdir: Path, count: int) -> dict[str, float]:
    """``count`` answerable mentions at once: when does the digest count them all?"""
    emu = await TimedSlack().start()
    emu.add_channel(STAFF)

    def counted() -> bool:
        """The digest's waiting count and the cards already posted make up the whole burst."""
        cards = sum(1 for m in emu.top_level(STAFF) if m.get("metadata"))
        for digest in digests(emu):
            found = re.search(r"Burst: (\d+) of (\d+)", json.dumps(digest.get("blocks")))
            if found and int(found.group(1)) + cards >= count:
                return True
        return False

    try:
        async with app_for(workdir, emu, 10) as app:
            start = time.perf_counter()
            for n in range(count):
                await app.service.ingest(
                    "mastodon", dataclasses.replace(question(n), external_id=f"b-{n}"), None
                )
            last = time.perf_counter()
            done = await until(counted, 120, step=0.05)
            blocks = json.dumps(digests(emu)[0].get("blocks"), ensure_ascii=False)
            page_note = blocks.split("Page 1 of ", 1)[1].split(":", 1)[0] if "Page 1 of " in blocks else "1"
    finally:
        await emu.close()
    return {"ingest": last - start, "counted": done - last, "pages": float(page_note)}


async def storm(workdir: Path) -> dict[str, float]:
    """A 429 with Retry-After: 30 on the staff channel while cards wait."""
    emu = await TimedSlack().start()
    emu.add_channel(STAFF)
    try:
        async with app_for(workdir, emu, 10) as app:
            await app.service.ingest("mastodon", question(1), None)
            await until(lambda: len(emu.top_level(STAFF)) >= 1, 10)
            emu.fail("chat.postMessage", Fault("ratelimit", retry_after="30"))
            for n in range(2, 6):
                await app.service.ingest("mastodon", question(n), None)
            await until(lambda: bool(emu.limited_at), 10)
            await until(lambda: len(emu.top_level(STAFF)) >= 2, 60)
            after = sorted(emu.posted_at.values())
            next_post = min(t for t in after if t > emu.limited_at[0])
            async with app.db.transaction() as session:
                rows = list((await session.execute(select(OutboxRow))).scalars())
            failed = sum(1 for r in rows if r.state == "failed" or r.last_error)
    finally:
        await emu.close()
    return {"recovery": next_post - emu.limited_at[0], "failed": failed, "429s": len(emu.limited_at)}


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pd-hol-") as tmp:
        root = Path(tmp)
        print(f"Slack emulator, per-channel pace {PACE:g} s (Slack's real pace); one channel for everything")
        for items, fold in ((200, 0), (2000, 0), (2000, 10)):
            workdir = root / f"backlog-{items}-{fold}"
            workdir.mkdir()
            r = await backlog(workdir, items, fold)
            mode = "folding off" if fold == 0 else f"FEED_BURST_FOLD={fold}"
            card = f"median {r['card_median']:.2f} s, max {r['card_max']:.2f} s"
            print(
                f"  {items:>5} feed items ahead ({mode}), 5 questions: ingest -> card {card} (goal <= 2 s);"
                f" first in the digest or carded within {r['listed_max']:.2f} s;"
                f" feed cards posted meanwhile {r['feed_cards']:.0f}; 429s {r['429s']:.0f}"
            )
        workdir = root / "burst"
        workdir.mkdir()
        b = await burst(workdir, 2000)
        print(
            f"  2000 answerable mentions ingested in {b['ingest']:.1f} s; the digest counted all 2000"
            f" {b['counted']:.1f} s after the last ingest (goal <= 10 s);"
            f" {b['pages']:.0f} digest pages reach every one"
        )
        workdir = root / "storm"
        workdir.mkdir()
        s = await storm(workdir)
        print(
            f"  429 with Retry-After: 30 on the staff channel: next post {s['recovery']:.2f} s after the 429"
            f" (goal <= 31 s); rows marked failed {s['failed']:.0f}; 429s served {s['429s']:.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
