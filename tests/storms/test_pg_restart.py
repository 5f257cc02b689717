"""PostgreSQL restarted under load: a private cluster is crashed (immediate stop) and started again while
feed entries arrive, cards are posted to Slack and two staff race to claim each one.

Afterwards every entry is stored once and carded once, every claim race has one winner, and the app
is still running and keeps working without a restart of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bot.app import PatronDesk
from bot.core.base import ACTION_FAILED
from bot.models import Claim, StaffRef
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.desk import SlackDesk
from bot.store.mention_tables import MentionRow
from bot.store.report_tables import AuditRow
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.storms import StormSlack
from tests.waiting import until

from .gate import Gate
from .harness import settings
from .pg_cluster import PgCluster
from .report import Figures, record, size
from .sources import LIMIT, Feeds
from .test_slack_storm import STAFF, cards_in

CLAIMERS = (StaffRef("slack", "U0ALICE01", "Alice"), StaffRef("slack", "U0BOB0001", "Bob"))


def _stopped(app: PatronDesk, urls: list[str], emu: StormSlack, round_: int) -> None:
    """The bot stopped by itself: say so in the figures, then fail with its error."""
    error = app.main_task.exception()
    inner = error.exceptions[0] if isinstance(error, BaseExceptionGroup) else error
    while isinstance(inner, BaseExceptionGroup):
        inner = inner.exceptions[0]
    record(
        Figures(
            "postgresql",
            "restart under load",
            requests=len(emu.gate.requests),
            limited=0,
            max_rate="-",
            early=0,
            lost=len(urls) - len(cards_in(emu)),
            duplicates=0,
            recovery=float("inf"),
            note=f"THE BOT STOPPED after restart {round_ + 1}: {type(inner).__name__} escaped the relay",
        )
    )
    raise AssertionError("the bot stopped during the database restart") from error


async def claim_everything(app: PatronDesk, emu: StormSlack, claimed: dict[int, list[bool]]) -> None:
    """Both staff click Claim on every new card at once; a click that hits the outage is clicked again."""
    while True:
        for key in list(cards_in(emu)):
            mention_id = int(key.rsplit(":", 1)[1])
            if mention_id in claimed:
                continue
            try:
                results = await asyncio.gather(
                    *(app.service.handle(Claim(mention_id, who)) for who in CLAIMERS)
                )
            except Exception:  # the database is restarting: staff try again
                await asyncio.sleep(0.2)
                continue
            if any(r.message == ACTION_FAILED for r in results):  # answered "nothing changed": again
                await asyncio.sleep(0.2)
                continue
            claimed[mention_id] = [r.ok or r.message.startswith("You already have") for r in results]
        await asyncio.sleep(0.05)


async def test_postgres_restart_under_load(tmp_path: Path, pg_cluster: PgCluster) -> None:
    restarts = size(1, 3)
    emu = StormSlack(Gate("slack", limit=0, window=1.0))
    await emu.start()
    emu.add_channel(STAFF)
    feeds = Feeds(Gate("feeds", limit=LIMIT, window=1.0))
    client = SlackClient(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=emu.api_url, pace=0.02)
    claimed: dict[int, list[bool]] = {}
    urls: list[str] = []
    outages: list[float] = []
    try:
        async with feeds:
            desk = SlackDesk(client, staff_channel=STAFF, settle=0.2)
            config = settings(tmp_path, database=pg_cluster.url)
            app = PatronDesk(config, sources=[feeds.adapter()], desks=[desk])
            async with app:
                claimer = asyncio.create_task(claim_everything(app, emu, claimed))
                await until(lambda: feeds.gate.requests, within=10)
                for round_ in range(restarts):
                    for _ in range(size(5, 10)):
                        urls.append(feeds.add())
                        await asyncio.sleep(0.05)  # entries keep arriving, a few per poll
                    outages.append(
                        await asyncio.to_thread(pg_cluster.restart, mode="immediate", down_for=1.5)
                    )
                    for _ in range(size(5, 10)):
                        urls.append(feeds.add())
                        await asyncio.sleep(0.05)
                    back = time.monotonic()
                    await until(lambda: len(cards_in(emu)) >= len(urls) or app.main_task.done(), within=60)
                    if app.main_task.done():
                        _stopped(app, urls, emu, round_)
                    outages[-1] += time.monotonic() - back
                await until(lambda: len(claimed) >= len(urls), within=30)
                claimer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await claimer
                await app.wait_idle(within=30)
                async with app.db.transaction() as session:
                    stored = Counter((await session.execute(select(MentionRow.url))).scalars().all())
                    claims = (
                        await session.execute(
                            select(func.count()).select_from(AuditRow).where(AuditRow.action == "claim")
                        )
                    ).scalar_one()
    finally:
        await client.aclose()
        await emu.close()
    carded = cards_in(emu)
    lost = sum(1 for url in urls if not stored[url]) + (len(urls) - len(carded))
    duplicates = sum(n - 1 for n in stored.values()) + sum(n - 1 for n in carded.values())
    winners = Counter(sum(results) for results in claimed.values())
    record(
        Figures(
            "postgresql",
            "restart under load",
            requests=len(emu.gate.requests),
            limited=0,
            max_rate="-",
            early=0,
            lost=lost,
            duplicates=duplicates,
            recovery=max(outages),
            note=f"{restarts} crash restarts; {len(urls)} mentions; claim races {dict(winners)}; "
            f"down {', '.join(f'{s:.1f}s' for s in pg_cluster.restarts)}",
        )
    )
    assert (lost, duplicates) == (0, 0)
    assert winners == Counter({1: len(urls)}) and claims == len(urls)  # one winner per race, one audit row
