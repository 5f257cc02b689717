"""End to end through the real app and the console desk: a post on the loopback platform becomes a
card; a typed Reply appears on the platform exactly once, threaded, with the right visibility."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bot.app import PatronDesk
from bot.config import Settings
from bot.platforms.bluesky.source import BlueskySource
from bot.platforms.capabilities import SourceAdapter
from bot.platforms.console.desk import ConsoleDesk
from bot.platforms.mastodon.source import MastodonSource
from bot.platforms.webhook.source import signed_headers
from tests.fakes import mastodon as mastodon_server
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon

from .conftest import wait_until

RULES = """
default_role = "social-media"

[roles.social-media]
sla_minutes = 30

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
"""


class Console:
    """A console desk wired to an in-memory terminal."""

    def __init__(self) -> None:
        self.input = asyncio.StreamReader()
        self.output = io.StringIO()
        self.desk = ConsoleDesk(input=self.input, output=self.output)

    def type(self, line: str) -> None:
        self.input.feed_data(line.encode() + b"\n")

    @property
    def printed(self) -> str:
        return self.output.getvalue()


def settings(tmp_path: Path, **values: object) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/e2e.db",
        RULES_FILE=rules,
        CONSOLE_DESK="on",
        HTTP_PORT=0,
        **values,  # type: ignore[arg-type]
    )


async def test_mastodon_mention_to_card_to_private_reply(tmp_path: Path, mastodon: FakeMastodon) -> None:
    mastodon.add_mention("from before the bot started")
    console = Console()
    config = settings(tmp_path, MASTODON_URL=mastodon.url, MASTODON_ACCESS_TOKEN=mastodon_server.TOKEN)
    async with PatronDesk(config, desks=[console.desk]) as app:  # the source is built from settings
        await wait_until(lambda: mastodon.live_streams == 1)
        await wait_until(lambda: mastodon.hits_for("notifications"))
        note = mastodon.add_mention("Do you have the new atlas?", visibility="direct", spoiler_text="books")
        await wait_until(lambda: "Do you have the new atlas?" in console.printed)
        assert "#1" in console.printed and "PRIVATE MESSAGE" in console.printed
        assert "from before the bot started" not in console.printed  # no backfill
        console.type("reply 1 Yes, it is on the shelf.")
        await wait_until(lambda: mastodon.state.posted)
        await app.wait_idle()
        last_card = lambda: console.printed.rsplit("── #1", 1)[-1]  # noqa: E731
        await wait_until(lambda: "💬 Replied by" in last_card() and "being published" not in last_card())
        assert "reply by" in last_card() and "Yes, it is on the shelf." in last_card()  # the card keeps it
    [posted] = mastodon.state.posted
    assert posted.body == {
        "status": "@reader@social.example Yes, it is on the shelf.",
        "in_reply_to_id": note["status"]["id"],
        "visibility": "direct",
        "spoiler_text": "books",
    }
    assert posted.idempotency_key


async def test_bluesky_post_to_card_to_threaded_reply(
    tmp_path: Path, bluesky: FakeBluesky, make_bluesky: Callable[..., Awaitable[BlueskySource]]
) -> None:
    console = Console()
    adapter = await make_bluesky()
    async with PatronDesk(settings(tmp_path), sources=[adapter], desks=[console.desk]) as app:
        await wait_until(lambda: bluesky.hits_for("listNotifications"))
        post = bluesky.add_post("@library.example.org when do you open on Sunday? 📚")
        await wait_until(lambda: "when do you open on Sunday?" in console.printed)
        console.type("reply 1 From noon, see https://library.example/hours")
        await wait_until(lambda: bluesky.state.records)
        await app.wait_idle()
    [record] = [r["value"] for r in bluesky.state.records.values()]
    assert record["reply"]["parent"] == {"uri": post["uri"], "cid": post["cid"]}
    assert record["reply"]["root"] == record["reply"]["parent"]
    [facet] = record["facets"]
    raw = record["text"].encode()
    assert raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == b"https://library.example/hours"
    assert len(bluesky.state.creates) == 1 and bluesky.state.sessions == 1


async def test_webhook_to_card_read_only(tmp_path: Path) -> None:
    console = Console()
    config = settings(tmp_path, WEBHOOK_SECRET="hook-secret")
    body = json.dumps({"id": "mail-5", "text": "Lost my library card", "source_name": "email"}).encode()
    async with PatronDesk(config, desks=[console.desk]) as app:
        url = f"http://127.0.0.1:{app.http_port}/webhook"
        stamp = int(app.clock().timestamp())
        async with httpx.AsyncClient() as http:
            refused = await http.post(url, content=body, headers={"X-Patron-Desk-Timestamp": str(stamp)})
            first = await http.post(
                url, content=body, headers=signed_headers("hook-secret", body, timestamp=stamp)
            )
            again = await http.post(
                url, content=body, headers=signed_headers("hook-secret", body, timestamp=stamp)
            )
        await wait_until(lambda: "Lost my library card" in console.printed)
        await app.wait_idle()
        console.type("reply 1 Come to the desk")
        await wait_until(lambda: "read-only" in console.printed)
    assert (refused.status_code, first.status_code, again.status_code) == (401, 202, 200)
    assert console.printed.count("Lost my library card") == 1


async def test_one_platform_down_does_not_hold_up_the_other(
    tmp_path: Path,
    mastodon: FakeMastodon,
    bluesky: FakeBluesky,
    make_mastodon: Callable[..., Awaitable[MastodonSource]],
    make_bluesky: Callable[..., Awaitable[BlueskySource]],
) -> None:
    console = Console()
    sources: list[SourceAdapter] = [await make_mastodon(streaming=False), await make_bluesky()]
    async with PatronDesk(settings(tmp_path), sources=sources, desks=[console.desk]) as app:
        await wait_until(lambda: mastodon.hits_for("notifications") and bluesky.hits_for("listNotifications"))
        mastodon.inject("notifications", 503, times=10_000)  # Mastodon is down from now on
        mastodon.add_mention("Mastodon question")
        bluesky.add_post("Bluesky question")
        await wait_until(lambda: "Bluesky question" in console.printed)
        assert "Mastodon question" not in console.printed
        mastodon.faults["notifications"].clear()  # back up: the waiting mention arrives, once
        await wait_until(lambda: "Mastodon question" in console.printed)
        await app.wait_idle()
    assert console.printed.count("Mastodon question") == 1


async def test_too_long_reply_is_refused_and_staff_told(tmp_path: Path, mastodon: FakeMastodon) -> None:
    mastodon.max_characters = 40
    console = Console()
    config = settings(tmp_path, MASTODON_URL=mastodon.url, MASTODON_ACCESS_TOKEN=mastodon_server.TOKEN)
    async with PatronDesk(config, desks=[console.desk]) as app:
        await wait_until(lambda: len(mastodon.hits_for("notifications")) >= 2)
        mastodon.add_mention("short question")
        await wait_until(lambda: "short question" in console.printed)
        console.type("reply 1 " + "a very long answer " * 5)
        await wait_until(lambda: "✗ Not sent:" in console.printed)  # refused in the reply form itself
        await app.wait_idle()
        assert (await app.service.view(1)).status.value in ("posted", "queued")  # not replied
    assert mastodon.state.posted == []  # refused before it reached the platform, never cut short


async def test_deleted_mastodon_post_withdraws_its_card(tmp_path: Path, mastodon: FakeMastodon) -> None:
    console = Console()
    config = settings(tmp_path, MASTODON_URL=mastodon.url, MASTODON_ACCESS_TOKEN=mastodon_server.TOKEN)
    async with PatronDesk(config, desks=[console.desk]) as app:
        await wait_until(lambda: mastodon.live_streams == 1 and len(mastodon.hits_for("notifications")) >= 2)
        note = mastodon.add_mention("please call me back on 555-0100")
        await wait_until(lambda: "555-0100" in console.printed)
        mastodon.push("delete", note["status"]["id"].encode())
        await wait_until(lambda: "withdrawn by its author" in console.printed)
        await app.wait_idle()
    last_card = console.printed.split("── #")[-1]
    assert "withdrawn by its author" in last_card and "555-0100" not in last_card


async def test_staff_can_narrow_a_reply_but_never_widen_it(tmp_path: Path, mastodon: FakeMastodon) -> None:
    from bot.models import Reply, StaffRef, Visibility

    console = Console()
    config = settings(tmp_path, MASTODON_URL=mastodon.url, MASTODON_ACCESS_TOKEN=mastodon_server.TOKEN)
    async with PatronDesk(config, desks=[console.desk]) as app:
        await wait_until(lambda: mastodon.hits_for("notifications"))
        mastodon.add_mention("public question")
        mastodon.add_mention("private question", visibility="direct")
        await wait_until(lambda: "private question" in console.printed)
        staff = StaffRef("console", "console", "console")
        assert (await app.service.handle(Reply(1, staff, "Answered privately.", Visibility.DIRECT))).ok
        assert (await app.service.handle(Reply(2, staff, "Still private.", Visibility.PUBLIC))).ok
        await wait_until(lambda: len(mastodon.state.posted) == 2)
        await app.wait_idle()
    by_text = {p.body["status"].split(" ", 1)[1]: p.body["visibility"] for p in mastodon.state.posted}
    assert by_text == {"Answered privately.": "direct", "Still private.": "direct"}
