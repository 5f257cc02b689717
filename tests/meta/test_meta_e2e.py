"""End to end through the real app (settings-built sources, the console desk), on SQLite and PostgreSQL:
a signed webhook becomes a card; Claim and Reply publish exactly one threaded reply on the fake; an
edit updates the card; a removal or hide withdraws it; a private reply reaches Messenger once; the
signature matrix changes nothing; comments made while the bot was down are carded once after start;
an expired token tells staff once and does not spin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import PatronDesk
from bot.models import Reply, StaffRef, Visibility
from bot.platforms.instagram.parse import NESTED
from tests.conftest import database_params
from tests.core.poison import Console, running_app, stored
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph, sign, signed_post
from tests.social.conftest import wait_until

STAFF = StaffRef("console", "console", "console")


def meta_settings(
    graph: FakeGraph, *, webhooks: bool = True, instagram: bool = False, **more: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "FACEBOOK_PAGE_ID": fake.PAGE_ID,
        "FACEBOOK_PAGE_TOKEN": fake.TOKEN,
        "FACEBOOK_GRAPH_URL": graph.base,
        "FACEBOOK_GRAPH_VERSION": fake.VERSION,
        "FACEBOOK_POLL_SECONDS": 0.05,
    }
    if webhooks:
        values |= {"FACEBOOK_APP_SECRET": fake.APP_SECRET, "FACEBOOK_VERIFY_TOKEN": fake.VERIFY_TOKEN}
    if instagram:
        values["INSTAGRAM_ACCOUNT_ID"] = fake.IG_ID
    return values | more


def hook(app: PatronDesk, platform: str) -> str:
    return f"http://127.0.0.1:{app.http_port}/webhooks/{platform}"


def last_card(console: Console, number: int) -> str:
    return console.printed.split(f"── #{number} · ")[-1]


@pytest.fixture
async def graph() -> Any:
    async with FakeGraph() as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("kind", database_params())
async def test_facebook_comment_to_card_claim_reply_edit_and_hide(
    kind: str, tmp_path: Path, graph: FakeGraph
) -> None:
    console = Console()
    post = graph.add_post()
    async with running_app(kind, tmp_path, console, **meta_settings(graph)) as app:
        await wait_until(lambda: graph.hits_for("comments"))  # the start-up catch-up ran
        comment = graph.add_comment(post["id"], "Are you open on Monday?")
        assert (await signed_post(hook(app, "facebook"), graph.feed_webhook(comment))).status_code == 200
        await wait_until(lambda: "Are you open on Monday?" in console.printed)
        console.input.feed_data(b"claim 1\n")
        await wait_until(lambda: "claimed" in last_card(console, 1).lower())
        console.input.feed_data(b"reply 1 Yes, from 9 to 5.\n")
        await wait_until(lambda: graph.state.created)
        await app.wait_idle()
        [made] = graph.state.created
        assert (made["edge"], made["parent"], made["message"]) == (
            "comments",
            comment["id"],
            "Yes, from 9 to 5.",
        )
        echo = graph.state.comments[made["id"]]  # our own reply comes back as a webhook: not a card
        assert (await signed_post(hook(app, "facebook"), graph.feed_webhook(echo))).status_code == 200
        comment["message"] = "Are you open on Monday and Tuesday?"
        await signed_post(hook(app, "facebook"), graph.feed_webhook(comment, "edited"))
        await wait_until(lambda: "Monday and Tuesday" in last_card(console, 1))
        hidden = graph.add_comment(post["id"], "please call me on 555-0100")
        removed = graph.add_comment(post["id"], "my card number is 2900")
        for item in (hidden, removed):
            await signed_post(hook(app, "facebook"), graph.feed_webhook(item))
        await wait_until(lambda: "555-0100" in console.printed and "2900" in console.printed)
        await signed_post(hook(app, "facebook"), graph.feed_webhook(hidden, "hide"))
        await signed_post(hook(app, "facebook"), graph.feed_webhook(removed, "remove"))
        await wait_until(lambda: "withdrawn by its author" in last_card(console, 2))
        await wait_until(lambda: "withdrawn by its author" in last_card(console, 3))
        await app.wait_idle()
        rows = await stored(app, "facebook")
    assert len(rows) == 3 and len(graph.state.created) == 1
    assert "555-0100" not in last_card(console, 2) and "2900" not in last_card(console, 3)


@pytest.mark.parametrize("kind", database_params())
async def test_facebook_private_reply_reaches_messenger_once(
    kind: str, tmp_path: Path, graph: FakeGraph
) -> None:
    console = Console()
    post = graph.add_post()
    async with running_app(kind, tmp_path, console, **meta_settings(graph, webhooks=False)) as app:
        await wait_until(lambda: graph.hits_for("comments"))
        comment = graph.add_comment(post["id"], "How do I renew my library card?")
        await wait_until(lambda: "renew my library card" in console.printed)
        assert "Messenger" in console.printed  # the card offers the private reply
        assert (
            await app.service.handle(Reply(1, STAFF, "We have sent you a message.", Visibility.DIRECT))
        ).ok
        await wait_until(lambda: graph.state.messages)
        await app.wait_idle()
    assert graph.state.messages == [
        {"recipient": {"comment_id": comment["id"]}, "message": {"text": "We have sent you a message."}}
    ]
    assert graph.state.created == []  # nothing public


@pytest.mark.parametrize("kind", database_params())
async def test_instagram_comment_to_card_to_reply_and_nested_refusal(
    kind: str, tmp_path: Path, graph: FakeGraph
) -> None:
    console = Console()
    media = graph.add_media()
    async with running_app(kind, tmp_path, console, **meta_settings(graph, instagram=True)) as app:
        await wait_until(lambda: graph.hits_for("ig_comments"))
        top = graph.add_ig_comment(media["id"], "Do you have it in large print?")
        assert (await signed_post(hook(app, "instagram"), graph.ig_webhook(top))).status_code == 200
        await wait_until(lambda: "large print" in console.printed)
        nested = graph.add_ig_comment(media["id"], "and audiobook?", parent_id=top["id"])
        await signed_post(hook(app, "instagram"), graph.ig_webhook(nested))
        await wait_until(lambda: "and audiobook?" in console.printed)
        console.input.feed_data(b"reply 2 Yes\n")
        await wait_until(lambda: "✗ Not sent:" in console.printed)
        assert NESTED.split(":")[0] in console.printed
        console.input.feed_data(b"reply 1 Yes, shelf 3.\n")
        await wait_until(lambda: graph.state.created)
        await app.wait_idle()
    assert [(c["edge"], c["parent"], c["message"]) for c in graph.state.created] == [
        ("replies", top["id"], "Yes, shelf 3.")
    ]


@pytest.mark.parametrize("kind", database_params())
async def test_webhook_signature_matrix_changes_nothing(kind: str, tmp_path: Path, graph: FakeGraph) -> None:
    console = Console()
    post = graph.add_post()
    # made an hour ago, so the start-up catch-up does not take it: only the webhook may store it
    comment = graph.add_comment(post["id"], "signed question", created=datetime.now(UTC) - timedelta(hours=1))
    body = httpx.Request("POST", "http://x", json=graph.feed_webhook(comment)).content
    changed = body.replace(b"signed question", b"signed questioN")
    sha1 = "sha1=" + __import__("hashlib").sha1(body).hexdigest()
    refused = [
        {
            "X-Hub-Signature-256": sign(fake.APP_SECRET, body)[:-1]
            + ("0" if sign(fake.APP_SECRET, body)[-1] != "0" else "1")
        },
        {"X-Hub-Signature-256": sign("wrong-secret", body)},
        {},
        {"X-Hub-Signature": sha1},
    ]
    async with running_app(kind, tmp_path, console, **meta_settings(graph)) as app:
        async with httpx.AsyncClient() as http:
            statuses = [
                (await http.post(hook(app, "facebook"), content=body, headers=h)).status_code for h in refused
            ]
            statuses.append(
                (
                    await http.post(
                        hook(app, "facebook"),
                        content=changed,
                        headers={"X-Hub-Signature-256": sign(fake.APP_SECRET, body)},
                    )
                ).status_code
            )
            assert await stored(app, "facebook") == []  # nothing refused was stored
            good = {"X-Hub-Signature-256": sign(fake.APP_SECRET, body)}
            first = await http.post(hook(app, "facebook"), content=body, headers=good)
            replay = await http.post(hook(app, "facebook"), content=body, headers=good)
            shake = await http.get(
                hook(app, "facebook"),
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": fake.VERIFY_TOKEN,
                    "hub.challenge": "1158201444",
                },
            )
        await wait_until(lambda: "signed question" in console.printed)
        await app.wait_idle()
        rows = await stored(app, "facebook")
    assert statuses == [401, 401, 401, 401, 401]
    assert (first.status_code, replay.status_code, shake.status_code, shake.text) == (
        200,
        200,
        200,
        "1158201444",
    )
    assert len(rows) == 1 and console.printed.count("signed question") == 1


@pytest.mark.parametrize("kind", database_params())
async def test_comments_made_while_down_are_carded_once_after_start(
    kind: str, tmp_path: Path, graph: FakeGraph
) -> None:
    from tests.core.poison import database_url
    from tests.core.poison import settings as poison_settings

    post = graph.add_post()
    graph.add_comment(post["id"], "before the first start", created=datetime.now(UTC) - timedelta(minutes=5))
    async with database_url(kind, tmp_path) as url:
        config = poison_settings(url, tmp_path, **meta_settings(graph, webhooks=False))
        console = Console()
        async with PatronDesk(config, desks=[console.desk]) as app:
            await wait_until(lambda: graph.hits_for("comments"))
            graph.add_comment(post["id"], "while up")
            await wait_until(lambda: "while up" in console.printed)
            await app.wait_idle()
        for n in range(7):
            graph.add_comment(post["id"], f"while down {n}")
        console = Console()
        async with PatronDesk(config, desks=[console.desk]) as app:
            await wait_until(lambda: all(f"while down {n}" in console.printed for n in range(7)))
            await app.wait_idle()
            rows = await stored(app, "facebook")
    texts = sorted(row.text for row in rows)
    assert texts == sorted(["while up", *(f"while down {n}" for n in range(7))])
    assert "before the first start" not in console.printed
    assert all(console.printed.count(f"while down {n}") == 1 for n in range(7))


async def test_an_expired_token_tells_staff_once_and_does_not_spin(tmp_path: Path, graph: FakeGraph) -> None:
    console = Console()
    post = graph.add_post()
    graph.add_media()
    async with running_app(
        "sqlite", tmp_path, console, **meta_settings(graph, webhooks=False, instagram=True)
    ) as app:
        await wait_until(lambda: graph.hits_for("comments") and graph.hits_for("ig_comments"))
        graph.token_expired = True
        graph.add_comment(post["id"], "a question nobody can fetch yet")
        await wait_until(lambda: console.printed.count("📣") >= 2)
        await app.wait_idle()
        calls = len(graph.hits)
        await asyncio.sleep(0.5)  # ten poll intervals: a spinning source would call again
        assert len(graph.hits) == calls
        health = app.health.report({})[1]
    notices = [line for line in console.printed.splitlines() if "📣" in line]
    assert len(notices) == 2  # one per platform, each naming the setting to fix
    assert any("Facebook" in n and "FACEBOOK_PAGE_TOKEN" in n for n in notices)
    assert any("Instagram" in n for n in notices)
    assert "Session has expired" not in console.printed
    assert "settings refused" in str(health)


async def test_a_token_refused_at_start_tells_staff_once(tmp_path: Path, graph: FakeGraph) -> None:
    console = Console()
    graph.token_expired = True
    async with running_app("sqlite", tmp_path, console, **meta_settings(graph, webhooks=False)) as app:
        await wait_until(lambda: "📣" in console.printed)
        await app.wait_idle()
        assert "facebook" not in app.sources  # off, not retrying
        calls = len(graph.hits)
        await asyncio.sleep(0.3)
        assert len(graph.hits) == calls == 1
    assert console.printed.count("📣") == 1 and "FACEBOOK_PAGE_TOKEN" in console.printed
