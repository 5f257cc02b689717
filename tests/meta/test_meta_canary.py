"""Invariant 8 for Facebook and Instagram: a canary in every patron field, through webhooks, polling,
error bodies that quote it, a refused reply, a private reply, an edit and a hide, never reaches a log
record at DEBUG (a stock handler, and the bot's own handler in text and JSON)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from bot.errors import PatronDeskError
from tests.core.poison import Console, running_app
from tests.fakes.graph import FakeGraph, error_body, signed_post
from tests.social.conftest import wait_until
from tests.social.test_canary import CANARY, Everything, Written

from .test_meta_e2e import hook, meta_settings


async def test_meta_canary_never_logged(
    tmp_path: Path, everything: Everything | Written, graph: FakeGraph
) -> None:
    from bot.models import Reply, StaffRef, Visibility

    console = Console()
    post = graph.add_post()
    media = graph.add_media()
    async with running_app("sqlite", tmp_path, console, **meta_settings(graph, instagram=True)) as app:
        await wait_until(lambda: graph.hits_for("comments") and graph.hits_for("ig_comments"))
        author = {"id": "5550077", "name": f"{CANARY} Reader"}
        comment = graph.add_comment(post["id"], f"{CANARY} can I renew my card?", author=author)
        await signed_post(hook(app, "facebook"), graph.feed_webhook(comment))
        odd = graph.feed_webhook(graph.add_comment(post["id"], "odd"))
        odd["entry"][0]["changes"][0]["value"]["comment_id"] = {CANARY: CANARY}  # skipped, logged by class
        odd["entry"][0]["changes"].append({"field": f"{CANARY}-field", "value": {"item": CANARY}})
        await signed_post(hook(app, "facebook"), odd)
        await signed_post(hook(app, "facebook"), json.dumps({"object": "page", CANARY: [CANARY]}).encode())
        ig = graph.add_ig_comment(media["id"], f"{CANARY} large print?", username=f"{CANARY}_user")
        await signed_post(hook(app, "instagram"), graph.ig_webhook(ig))
        elsewhere = graph.add_elsewhere(f"@library {CANARY}", username=CANARY)
        graph.inject("lookup", 500, body=error_body(2, f"{CANARY} temporarily unavailable"))
        await signed_post(hook(app, "instagram"), graph.mentions_webhook(elsewhere))  # 503: Meta retries
        await signed_post(hook(app, "instagram"), graph.mentions_webhook(elsewhere))
        await wait_until(lambda: console.printed.count(CANARY) >= 3, seconds=20)
        staff = StaffRef("console", "console", "console")
        graph.inject("comment_create", 400, body=error_body(100, f"(#100) {CANARY} is not allowed"))
        await app.service.handle(Reply(1, staff, f"Hello {CANARY}"))
        await wait_until(lambda: "not published" in console.printed or "✗" in console.printed, seconds=20)
        await app.wait_idle(within=20)
        await app.service.handle(Reply(2, staff, f"Privately {CANARY}", Visibility.DIRECT))
        comment["message"] = f"{CANARY} edited"
        await signed_post(hook(app, "facebook"), graph.feed_webhook(comment, "edited"))
        await signed_post(hook(app, "facebook"), graph.feed_webhook(comment, "hide"))
        graph.inject("comments", 500, body=f"{CANARY} boom")
        graph.inject("ig_comments", 200, body=f"[{{not json {CANARY}")
        for name in ("facebook", "instagram"):  # the polling error paths (webhooks poll rarely)
            with contextlib.suppress(PatronDeskError):
                await app.sources[name].poll_once(None)  # type: ignore[attr-defined]
        await app.wait_idle(within=20)
    assert CANARY in console.printed  # the canary did travel through the desk
    leaked = [line for line in everything.lines if CANARY in line]
    assert leaked == []
