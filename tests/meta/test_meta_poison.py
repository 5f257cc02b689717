"""The poison test extended to Facebook (polling and webhooks) and Instagram (webhooks), on SQLite and
PostgreSQL: hostile-but-parseable items are carded with safe fields, unreadable ones are refused
clearly, the normal item after them is carded, the app runs on and /healthz says ok."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph, signed_post
from tests.fakes.loopback import LONE_SURROGATE, json_bytes
from tests.social.conftest import wait_until

from .test_meta_e2e import hook, meta_settings


def facebook_batch(graph: FakeGraph, post_id: str) -> None:
    """Six hostile comments in the Graph REST shape."""
    far = graph.add_comment(post_id, "far future")
    far["created_time"] = FAR_FUTURE
    dirty = graph.add_comment(post_id, DIRTY, author={"id": "5550009", "name": "Ann\x00" + LONE_SURROGATE})
    graph.add_comment(post_id, "long", author={"id": "5" * 600, "name": LONG})
    graph.add_comment(
        post_id, "fake lines", author={"id": "5550010", "name": "Eve\u202e\n── #99 · Facebook · Director"}
    )
    old = graph.add_comment(post_id, "https://library.example/hours 1970")
    old["created_time"] = "1970-01-01T00:00:00+0000"
    messy = graph.add_comment(post_id, "messy")
    messy["from"] = nested(40, branching=True)
    messy["parent_id"] = None
    assert dirty and FAKE_LINES


@pytest.mark.parametrize("kind", database_params())
async def test_facebook_polling_poison(kind: str, tmp_path: Path, graph: FakeGraph) -> None:
    console = Console()
    post = graph.add_post()
    async with running_app(kind, tmp_path, console, **meta_settings(graph, webhooks=False)) as app:
        await wait_until(lambda: graph.hits_for("comments"))
        facebook_batch(graph, post["id"])
        graph.add_comment(post["id"], NORMAL_TEXT)
        rows = await wait_for_rows(app, "facebook", 7)
        await check_survived(app, console, rows)
    assert marked(rows) == 2  # the year-9999 time and the 1970 one
    assert max(len(row.author_name) for row in rows) == 512


@pytest.mark.parametrize("kind", database_params())
async def test_facebook_and_instagram_webhook_poison(kind: str, tmp_path: Path, graph: FakeGraph) -> None:
    console = Console()
    post = graph.add_post()
    media = graph.add_media()
    async with running_app(kind, tmp_path, console, **meta_settings(graph, instagram=True)) as app:
        await wait_until(lambda: graph.hits_for("comments") and graph.hits_for("ig_comments"))
        carded: list[dict[str, Any]] = []
        for n, (key, value) in enumerate(
            [
                ("created_time", 2**70),
                ("created_time", "9999-12-31T23:59:59-12:00"),
                ("message", DIRTY),
                ("from", {"id": "5550011", "name": LONG + "\u202e\n── #99 · Facebook"}),
                ("from", nested(40, branching=True)),
            ]
        ):
            body = graph.feed_webhook(graph.add_comment(post["id"], f"hostile {n}"))
            body["entry"][0]["changes"][0]["value"][key] = value
            carded.append(body)
        ig = graph.ig_webhook(graph.add_ig_comment(media["id"], "ig hostile"))
        ig["entry"][0]["changes"][0]["value"] |= {"text": DIRTY, "from": {"id": 2**70, "username": LONG}}
        skipped = graph.feed_webhook(graph.add_comment(post["id"], "no usable id"))
        skipped["entry"][0]["changes"][0]["value"]["comment_id"] = nested(5, branching=True)
        answers = [await signed_post(hook(app, "facebook"), body) for body in [*carded, skipped]]
        answers.append(await signed_post(hook(app, "instagram"), ig))
        refused = [
            await signed_post(hook(app, "facebook"), deep_json().encode()),
            await signed_post(hook(app, "facebook"), b'{"object":"page","entry":[{"id":'),
            await signed_post(
                hook(app, "instagram"),
                json_bytes({"object": "instagram", "entry": nested(40, branching=True)}),
            ),
        ]
        normal = graph.feed_webhook(graph.add_comment(post["id"], NORMAL_TEXT))
        answers.append(await signed_post(hook(app, "facebook"), normal))
        rows = await wait_for_rows(app, "facebook", 6)
        ig_rows = await wait_for_rows(app, "instagram", 1)
        await check_survived(app, console, [*rows, *ig_rows])
    assert [a.status_code for a in answers] == [200] * 8
    assert [r.status_code for r in refused] == [400, 400, 200]  # not JSON: 400; odd shape: nothing to store
    assert marked(rows) == 2
    assert fake.PAGE_ID  # the Page's own id never appears as an author
    assert all(row.author_id != fake.PAGE_ID for row in rows)
