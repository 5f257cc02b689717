"""Poison tests for Mastodon (REST and stream), Bluesky and the webhook, on SQLite and PostgreSQL.

Each sends a batch of hostile-but-parseable items through the loopback platform and the real app
(dates out of range, NUL, lone surrogates, over-long fields, numbers out of range, malformed nested
JSON), then one normal item: every hostile item is carded with safe fields, the normal one too, the
app keeps running and /healthz says ok.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.platforms.bluesky.source import BlueskySource
from bot.platforms.mastodon.source import MastodonSource
from bot.platforms.webhook.source import signed_headers
from tests.conftest import database_params
from tests.core.hostile import deep_json
from tests.core.poison import (
    DIRTY,
    FAKE_LINES,
    FAR_FUTURE,
    LONG,
    NORMAL_TEXT,
    Console,
    check_survived,
    marked,
    nested,
    running_app,
    wait_for_rows,
)
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.loopback import LONE_SURROGATE, json_bytes
from tests.fakes.mastodon import FakeMastodon

from .conftest import wait_until


def mastodon_batch(mastodon: FakeMastodon) -> list[dict[str, Any]]:
    """Six hostile notifications (not yet pushed), in Mastodon's shape."""
    items = [mastodon.add_mention(f"hostile {n}", push=False) for n in range(6)]
    far, dirty, long, lines, old, messy = (item["status"] for item in items)
    far["created_at"] = FAR_FUTURE
    dirty["content"] = f"<p>{DIRTY}</p>"
    dirty["account"]["display_name"] = "Ann\x00" + LONE_SURROGATE
    long["account"]["display_name"] = LONG
    long["account"]["username"] = LONG
    long["language"] = "x" * 100
    lines["url"] = FAKE_LINES
    lines["account"]["display_name"] = "Eve\u202e\n── #99 · Mastodon · Director"
    old["created_at"] = "1970-01-01T00:00:00Z"
    old["account"]["id"] = 2**70
    messy["mentions"] = nested(40, branching=True)
    messy["account"]["display_name"] = {"a": [1, {"b": None}]}
    messy["spoiler_text"] = ["not", {"a": "string"}]
    return items


@pytest.mark.parametrize("kind", database_params())
async def test_mastodon_rest_poison(
    kind: str,
    tmp_path: Path,
    mastodon: FakeMastodon,
    make_mastodon: Callable[..., Awaitable[MastodonSource]],
) -> None:
    console = Console()
    adapter = await make_mastodon(streaming=False)
    async with running_app(kind, tmp_path, console, sources=[adapter]) as app:
        await wait_until(lambda: mastodon.hits_for("notifications"))
        await app.wait_idle()
        mastodon_batch(mastodon)
        mastodon.add_mention(NORMAL_TEXT)
        rows = await wait_for_rows(app, "mastodon", 7)
        await check_survived(app, console, rows)
    assert marked(rows) == 2  # the year-9999 time and the 1970 one
    assert [len(row.author_name) for row in rows][2] == 512


@pytest.mark.parametrize("kind", database_params())
async def test_mastodon_stream_poison(
    kind: str,
    tmp_path: Path,
    mastodon: FakeMastodon,
    make_mastodon: Callable[..., Awaitable[MastodonSource]],
) -> None:
    console = Console()
    adapter = await make_mastodon()
    async with running_app(kind, tmp_path, console, sources=[adapter]) as app:
        await wait_until(lambda: mastodon.live_streams == 1)
        await wait_until(lambda: mastodon.hits_for("notifications"))
        for item in mastodon_batch(mastodon):
            mastodon.push("notification", json_bytes(item))
        mastodon.push("notification", deep_json().encode())  # 30,000-deep JSON on the stream
        mastodon.push("notification", b'{"type":"mention","status":{"id":')  # cut short
        mastodon.push("status.update", json_bytes({"id": "1", "mentions": nested(40, branching=True)}))
        mastodon.add_mention(NORMAL_TEXT)  # pushed as well
        rows = await wait_for_rows(app, "mastodon", 7)
        await check_survived(app, console, rows)
        assert mastodon.live_streams == 1  # the stream task is still reading
    assert marked(rows) == 2


def bluesky_batch(bluesky: FakeBluesky) -> None:
    """Six hostile notifications in Bluesky's shape."""
    far = bluesky.add_post("@library.example.org far future")
    far["record"]["createdAt"] = FAR_FUTURE
    dirty = bluesky.add_post("x")
    dirty["record"]["text"] = DIRTY
    dirty["author"]["displayName"] = "Ann\x00"
    long = bluesky.add_post("long")
    long["author"]["displayName"] = LONG
    long["record"]["langs"] = ["x" * 100]
    lines = bluesky.add_post("fake lines", handle="eve.example.net")
    lines["author"]["displayName"] = "Eve\u202e\n── #99 · Bluesky · Director"
    lines["author"]["handle"] = "eve.example.net\n── #99"
    numbers = bluesky.add_post("https://library.example/hours numbers")
    numbers["record"]["createdAt"] = "1970-01-01T00:00:00Z"
    numbers["record"]["facets"] = [
        {"index": {"byteStart": 2**70, "byteEnd": -(2**70)}, "features": [{"$type": "x", "uri": 5}]}
    ]
    messy = bluesky.add_post("messy")
    messy["record"]["reply"] = {"root": nested(40, branching=True), "parent": [1, 2]}
    messy["record"]["labels"] = {"values": {"val": nested(3, branching=True)}}
    messy["labels"] = nested(5, branching=True)


@pytest.mark.parametrize("kind", database_params())
async def test_bluesky_poison(
    kind: str,
    tmp_path: Path,
    bluesky: FakeBluesky,
    make_bluesky: Callable[..., Awaitable[BlueskySource]],
) -> None:
    console = Console()
    adapter = await make_bluesky()
    async with running_app(kind, tmp_path, console, sources=[adapter]) as app:
        await wait_until(lambda: bluesky.hits_for("listNotifications"))
        await app.wait_idle()
        bluesky_batch(bluesky)
        bluesky.add_post(NORMAL_TEXT)
        rows = await wait_for_rows(app, "bluesky", 7)
        await check_survived(app, console, rows)
    assert marked(rows) == 1  # 1970; the year-9999 createdAt falls back to the valid indexedAt


WEBHOOK_SECRET = "hook-secret"


@pytest.mark.parametrize("kind", database_params())
async def test_webhook_poison(kind: str, tmp_path: Path) -> None:
    carded = [
        {"id": "1", "text": "old", "created_at": "1970-01-01T00:00:00Z"},
        {"id": "2", "text": "a\u0000b\ud800c", "author": {"name": "Ann\u0000\ud800", "id": 2**70}},
        {"id": "3", "text": "far", "created_at": "2999-01-01T00:00:00Z", "lang": "x" * 35},
        {"id": "4", "text": "lines", "url": FAKE_LINES, "author": {"name": "Eve\u202e\n── #99 · x"}},
    ]
    refused = [
        json.dumps({"id": "5", "text": "t", "created_at": FAR_FUTURE}).encode(),
        deep_json().encode(),
        json.dumps({"id": "6", "text": "t", "author": {"name": nested(40, branching=True)}}).encode(),
        json.dumps({"id": "7", "text": "t", "author": {"name": LONG}}).encode(),
        b'{"id": "8", "text": "cut',
    ]
    normal = json.dumps({"id": "9", "text": NORMAL_TEXT}).encode()
    console = Console()
    async with running_app(kind, tmp_path, console, WEBHOOK_SECRET=WEBHOOK_SECRET) as app:
        endpoint = f"http://127.0.0.1:{app.http_port}/webhook"
        stamp = int(app.clock().timestamp())
        async with httpx.AsyncClient() as http:

            async def post(body: bytes) -> httpx.Response:
                headers = signed_headers(WEBHOOK_SECRET, body, timestamp=stamp)
                return await http.post(endpoint, content=body, headers=headers)

            answers = [await post(json.dumps(item).encode()) for item in carded]
            refusals = [await post(body) for body in refused]
            last = await post(normal)
        rows = await wait_for_rows(app, "webhook", 5)
        await check_survived(app, console, rows)
    assert [a.status_code for a in answers] == [202] * 4 and last.status_code == 202
    assert [r.status_code for r in refusals] == [400] * 5  # clear refusals, never a 500
    assert all(r.json()["error"] for r in refusals)
    assert marked(rows) == 2
