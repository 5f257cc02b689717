"""Invariant 8 across the sources: a canary planted in every patron field, through normal and error
paths (429s, 5xx, malformed bodies, a refused reply, an edit and a deletion), never reaches a log
record, at DEBUG, from the bot or any library. (Slack and Matrix have the same check in their
suites; tests/ops/test_log_canary.py drives failing INSERTs and handlers.) It runs three times:
through a stock handler, and through the bot's own handler in text and in JSON with every library
logger opened up to DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.app import PatronDesk
from bot.platforms.webhook.source import signed_headers
from tests.fakes import bluesky as bluesky_server
from tests.fakes import mastodon as mastodon_server
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.ops.log_capture import Logged, bot_log

from .conftest import wait_until
from .test_end_to_end import Console, settings

CANARY = "CANARY-5e1f0a"

FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>alerts</title><id>urn:alerts</id>
<updated>2026-03-01T12:00:00Z</updated>
<entry><id>urn:e1</id><title>{CANARY} blog about the library</title>
<link href="https://www.google.com/url?rct=j&amp;url=https://blog.example/{CANARY}&amp;ct=ga"/>
<author><name>{CANARY} Blogger</name></author><updated>2026-03-01T12:00:00Z</updated>
<content type="html">&lt;b&gt;{CANARY}&lt;/b&gt; loves the library</content></entry></feed>"""


class Everything(logging.Handler):
    """Keeps every record from every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Written:
    """The bot's own log output (bot/logs.py, text or JSON) as lines, libraries opened to DEBUG."""

    def __init__(self, logged: Logged) -> None:
        self.logged = logged

    @property
    def lines(self) -> list[str]:
        return self.logged.stream.getvalue().splitlines()


@pytest.fixture(params=["stock", "text", "json"])
def everything(request: pytest.FixtureRequest) -> Iterator[Everything | Written]:
    """Every record through a stock handler (levels as the modules pin them), or the bot's own
    guarded handler in either format with every library logger at DEBUG."""
    if request.param != "stock":
        with bot_log(request.param) as logged:
            yield Written(logged)
        return
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.slow
async def test_canary_never_logged(
    tmp_path: Path,
    everything: Everything | Written,
    mastodon: FakeMastodon,
    bluesky: FakeBluesky,
) -> None:
    feed = tmp_path / "alerts.xml"
    feed.write_text(FEED)
    config = settings(
        tmp_path,
        MASTODON_URL=mastodon.url,
        MASTODON_ACCESS_TOKEN=mastodon_server.TOKEN,
        WEBHOOK_SECRET="hook-secret",
        FEEDS=(f"file://{feed}",),
        FEED_BACKFILL=True,
        FEED_POLL_SECONDS=0.2,
        BLUESKY_SERVICE=bluesky.url,
        BLUESKY_HANDLE=bluesky_server.HANDLE,
        BLUESKY_APP_PASSWORD=bluesky_server.PASSWORD,
        BLUESKY_POLL_SECONDS=0.1,
        MASTODON_POLL_SECONDS=0.1,
    )
    console = Console()
    async with PatronDesk(config, desks=[console.desk]) as app:  # every source built from settings
        await wait_until(lambda: mastodon.hits_for("notifications") and bluesky.hits_for("listNotifications"))
        # error paths first: rate limits, outages and malformed bodies that quote the canary
        mastodon.inject("notifications", 429, body=f'{{"error": "{CANARY}"}}', times=2, Retry_After="0")
        mastodon.inject("notifications", 200, body=f"[{{not json {CANARY}", times=1)
        bluesky.inject("listNotifications", 500, body=f"{CANARY} boom", times=2)
        mastodon.add_mention(f"{CANARY} can I renew?", acct=f"{CANARY}@social.example", spoiler_text=CANARY)
        bluesky.add_post(f"@library.example.org {CANARY} is the wifi down?")
        body = json.dumps(
            {
                "id": "form-1",
                "text": f"{CANARY} lost card",
                "author": {"id": CANARY, "handle": CANARY, "name": CANARY},
                "url": f"https://forms.example/{CANARY}",
                "source_name": "webform",
            }
        ).encode()
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{app.http_port}/webhook"
            stamp = int(app.clock().timestamp())
            await http.post(url, content=body, headers=signed_headers("hook-secret", body, timestamp=stamp))
            await http.post(
                url,
                content=b"{" + CANARY.encode(),
                headers=signed_headers("hook-secret", b"{", timestamp=stamp),
            )
        every = ("can I renew", "is the wifi down", "lost card", "loves the library")
        await wait_until(lambda: all(text in console.printed for text in every), seconds=20)
        # a refused reply whose error body quotes the canary
        mastodon.inject("statuses", 422, body=f'{{"error": "Validation failed: {CANARY}"}}', times=1)
        views = [await app.service.view(n) for n in range(1, 5)]
        mastodon_card = next(v.mention_id for v in views if v.source == "mastodon")
        console.type(f"reply {mastodon_card} Hello {CANARY}")
        await wait_until(
            lambda: "was not published" in console.printed or "Not sent" in console.printed, seconds=20
        )
        await app.wait_idle(within=20)
    assert CANARY in console.printed  # the desk shows it: staff need the text
    assert len(everything.lines) > 20, "too little was logged for this test to mean anything"
    leaked = [line for line in everything.lines if CANARY in line]
    assert leaked == []
