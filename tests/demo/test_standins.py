"""The demo's stand-ins speak the platforms' wire format: checked over HTTP, and with the real adapters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.demo.standin import Patron, Published
from bot.platforms.bluesky import standin as bsky
from bot.platforms.bluesky.facets import MENTION, valid_facets
from bot.platforms.bluesky.source import BlueskyOptions, BlueskySource
from bot.platforms.mastodon import standin as masto
from bot.platforms.mastodon.source import MastodonOptions, MastodonSource
from bot.platforms.mastodon.stream import SSEDecoder
from tests.waiting import until

MAYA = Patron("Maya Lindqvist", "mayareads", "are you open Monday?", 0)
TOMAS = Patron("Tomás Rivera", "tomasr", "can I renew online? ✨", 0)
JUNE = Patron("June Park", "junepark", "is there a quiet room <b>I</b> can book?", 0)
AUTH = {"Authorization": f"Bearer {masto.TOKEN}"}


@pytest.fixture
async def mastodon() -> AsyncIterator[masto.MastodonStandIn]:
    async with masto.MastodonStandIn(heartbeat=0.05) as server:
        yield server


@pytest.fixture
async def bluesky() -> AsyncIterator[bsky.BlueskyStandIn]:
    async with bsky.BlueskyStandIn() as server:
        yield server


# --- Mastodon ------------------------------------------------------------------------------


async def test_mastodon_needs_the_token_and_reports_its_limits(mastodon: masto.MastodonStandIn) -> None:
    async with httpx.AsyncClient(base_url=mastodon.origin) as client:
        refused = await client.get("/api/v1/accounts/verify_credentials")
        assert refused.status_code == 401 and "error" in refused.json()
        me = (await client.get("/api/v1/accounts/verify_credentials", headers=AUTH)).json()
        assert me["id"] == masto.LIBRARY["id"] and me["acct"] == "library"
        v1 = (await client.get("/api/v1/instance")).json()
        v2 = (await client.get("/api/v2/instance")).json()
    assert v1["configuration"]["statuses"]["max_characters"] == masto.MAX_CHARACTERS
    assert v1["urls"]["streaming_api"] == f"ws://127.0.0.1:{mastodon.port}"
    assert v2["configuration"]["urls"]["streaming"] == f"ws://127.0.0.1:{mastodon.port}"


async def test_mastodon_notifications_page_newest_first_with_link_headers(
    mastodon: masto.MastodonStandIn,
) -> None:
    for patron in (MAYA, TOMAS, JUNE):
        mastodon.post(patron)
    async with httpx.AsyncClient(base_url=mastodon.origin, headers=AUTH) as client:
        first = await client.get("/api/v1/notifications", params={"types[]": "mention", "limit": 2})
        page = first.json()
        assert [n["account"]["acct"] for n in page] == ["junepark@social.demo", "tomasr@social.demo"]
        assert int(page[0]["id"]) > int(page[1]["id"]) and all(isinstance(n["id"], str) for n in page)
        assert page[0]["type"] == "mention" and page[0]["status"]["visibility"] == "public"
        assert "&lt;b&gt;I&lt;/b&gt;" in page[0]["status"]["content"]  # patron text is escaped HTML
        assert 'class="u-url mention"' in page[0]["status"]["content"]
        link = first.headers["Link"]
        assert (
            f'max_id={page[-1]["id"]}>; rel="next"' in link and f'min_id={page[0]["id"]}>; rel="prev"' in link
        )
        older = (await client.get("/api/v1/notifications", params={"max_id": page[-1]["id"]})).json()
        assert [n["account"]["acct"] for n in older] == ["mayareads@social.demo"]
        newer = await client.get("/api/v1/notifications", params={"min_id": page[0]["id"]})
        assert newer.json() == [] and "Link" not in newer.headers
        assert first.headers["X-RateLimit-Limit"] == "300"
        bad = await client.get("/api/v1/notifications", params={"limit": "lots"})
        assert bad.status_code == 422


async def test_mastodon_statuses_reply_once_per_idempotency_key(mastodon: masto.MastodonStandIn) -> None:
    mastodon.post(MAYA)
    seen: list[Published] = []
    mastodon.on_publish = seen.append
    async with httpx.AsyncClient(base_url=mastodon.origin, headers=AUTH) as client:
        parent = (await client.get("/api/v1/notifications")).json()[0]["status"]["id"]
        body = {
            "status": "@mayareads@social.demo Yes, 10 to 4.",
            "in_reply_to_id": parent,
            "visibility": "public",
        }
        first = await client.post("/api/v1/statuses", json=body, headers={"Idempotency-Key": "k1"})
        again = await client.post("/api/v1/statuses", json=body, headers={"Idempotency-Key": "k1"})
        assert first.json()["id"] == again.json()["id"]
        assert first.json()["in_reply_to_id"] == parent
        missing = await client.post("/api/v1/statuses", json={**body, "in_reply_to_id": "999999"})
        assert missing.status_code == 404
        too_long = await client.post("/api/v1/statuses", json={**body, "status": "x" * 501})
        assert too_long.status_code == 422 and "500" in too_long.json()["error"]
        blank = await client.post("/api/v1/statuses", json={**body, "status": "  "})
        assert blank.status_code == 422
        unauthorised = await client.post(
            "/api/v1/statuses", json=body, headers={"Authorization": "Bearer no"}
        )
        assert unauthorised.status_code == 401
        public = (await client.get("/api/v1/timelines/public")).json()
    assert [s["content"] for s in public] == ["<p>@mayareads@social.demo Yes, 10 to 4.</p>"]
    assert seen == [
        Published("mastodon", "@mayareads@social.demo Yes, 10 to 4.", first.json()["url"], parent)
    ]
    assert mastodon.timeline() == seen


async def test_mastodon_stream_sends_the_notification_as_a_server_sent_event(
    mastodon: masto.MastodonStandIn,
) -> None:
    decoder = SSEDecoder()
    async with (
        httpx.AsyncClient(base_url=mastodon.origin, headers=AUTH) as client,
        client.stream("GET", "/api/v1/streaming/user") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await anext(lines) == ":)"
        mastodon.post(MAYA)
        async with asyncio.timeout(30):
            async for line in lines:
                if (event := decoder.feed(line)) is not None:
                    break
    assert event.event == "notification" and '"acct":"mayareads@social.demo"' in event.data


async def test_the_real_mastodon_adapter_reads_and_answers_through_the_stand_in(
    mastodon: masto.MastodonStandIn,
) -> None:
    settings = mastodon.settings()
    assert settings["MASTODON_URL"] == mastodon.origin and settings["MASTODON_ACCESS_TOKEN"] == masto.TOKEN
    source = MastodonSource(
        mastodon.origin, masto.TOKEN, options=MastodonOptions(streaming=True, backfill=True, poll_seconds=0.2)
    )
    published: list[Published] = []
    mastodon.on_publish = published.append
    await source.open()
    mastodon.post(MAYA)
    stream = source.mentions(None)
    try:
        async with asyncio.timeout(30):
            mention, _ = await anext(stream)
            while mention is None:
                mention, _ = await anext(stream)
    finally:
        await stream.aclose()
    assert mention.text.endswith("are you open Monday?") and mention.author_handle == "@mayareads@social.demo"
    assert mention.author_name == "Maya Lindqvist" and mention.can_reply
    ref = await source.reply(mention, "Yes, 10 to 4.", idempotency_key="demo-1")
    await source.aclose()
    assert [p.text for p in published] == ["@mayareads@social.demo Yes, 10 to 4."]
    assert published[0].in_reply_to == mention.external_id and ref.url == published[0].url


# --- Bluesky -------------------------------------------------------------------------------


async def session(client: httpx.AsyncClient) -> dict[str, str]:
    body = {"identifier": bsky.HANDLE, "password": bsky.PASSWORD}
    created = (await client.post("/xrpc/com.atproto.server.createSession", json=body)).json()
    return {"Authorization": f"Bearer {created['accessJwt']}"}


async def test_bluesky_sessions_need_the_app_password(bluesky: bsky.BlueskyStandIn) -> None:
    async with httpx.AsyncClient(base_url=bluesky.origin) as client:
        wrong = await client.post(
            "/xrpc/com.atproto.server.createSession", json={"identifier": bsky.HANDLE, "password": "nope"}
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "AuthenticationRequired"
        garbage = await client.post("/xrpc/com.atproto.server.createSession", content=b"{not json")
        assert garbage.status_code == 401
        right = (
            await client.post(
                "/xrpc/com.atproto.server.createSession",
                json={"identifier": bsky.HANDLE, "password": bsky.PASSWORD},
            )
        ).json()
        assert right["did"] == bsky.DID and right["handle"] == bsky.HANDLE
        refreshed = await client.post(
            "/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {right['refreshJwt']}"},
        )
        assert refreshed.json()["accessJwt"] != right["accessJwt"]
        reused = await client.post(
            "/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {right['refreshJwt']}"},
        )
        assert reused.status_code == 400 and reused.json()["error"] == "ExpiredToken"
        anonymous = await client.get("/xrpc/app.bsky.notification.listNotifications")
        assert anonymous.status_code == 401


async def test_bluesky_notifications_are_newest_first_with_a_cursor_and_byte_offset_facets(
    bluesky: bsky.BlueskyStandIn,
) -> None:
    for patron in (MAYA, TOMAS, JUNE):
        bluesky.post(patron)
    async with httpx.AsyncClient(base_url=bluesky.origin) as client:
        auth = await session(client)
        params = [("limit", "2"), ("reasons", "mention"), ("priority", "false")]
        first = (
            await client.get("/xrpc/app.bsky.notification.listNotifications", params=params, headers=auth)
        ).json()
        handles = [n["author"]["handle"] for n in first["notifications"]]
        assert handles == ["junepark.social.demo", "tomasr.social.demo"] and "cursor" in first
        rest = (
            await client.get(
                "/xrpc/app.bsky.notification.listNotifications",
                params=[*params, ("cursor", first["cursor"])],
                headers=auth,
            )
        ).json()
        assert [n["author"]["handle"] for n in rest["notifications"]] == ["mayareads.social.demo"]
        assert "cursor" not in rest
        only_quotes = (
            await client.get(
                "/xrpc/app.bsky.notification.listNotifications", params=[("reasons", "quote")], headers=auth
            )
        ).json()
        assert only_quotes["notifications"] == []
    tomas = first["notifications"][1]
    record = tomas["record"]
    assert record["$type"] == "app.bsky.feed.post" and tomas["uri"].startswith("at://did:plc:")
    facets = valid_facets(record["text"], record["facets"])
    assert [(f.kind, f.value) for f in facets] == [(MENTION, bsky.DID)]
    assert record["text"].encode()[facets[0].byte_start : facets[0].byte_end] == f"@{bsky.HANDLE}".encode()


async def test_bluesky_create_record_checks_the_record_and_refuses_a_used_key(
    bluesky: bsky.BlueskyStandIn,
) -> None:
    bluesky.post(MAYA)
    async with httpx.AsyncClient(base_url=bluesky.origin) as client:
        auth = await session(client)
        patron = (await client.get("/xrpc/app.bsky.notification.listNotifications", headers=auth)).json()
        post = patron["notifications"][0]
        ref = {"uri": post["uri"], "cid": post["cid"]}
        record = {"$type": bsky.POST, "text": "Yes!", "createdAt": "2026-12-07T10:00:00.000Z"}
        body = {"repo": bsky.DID, "collection": bsky.POST, "rkey": "3lbcdefghijkl", "record": record}
        reply = {**record, "reply": {"root": ref, "parent": ref}}
        bad_key = await client.post(
            "/xrpc/com.atproto.repo.createRecord", json={**body, "rkey": "x"}, headers=auth
        )
        assert bad_key.status_code == 400 and "TID" in bad_key.json()["message"]
        stranger = {**record, "reply": {"root": ref, "parent": {**ref, "cid": "bafyreiwrong"}}}
        wrong_cid = await client.post(
            "/xrpc/com.atproto.repo.createRecord", json={**body, "record": stranger}, headers=auth
        )
        assert wrong_cid.status_code == 400 and "strongRef" in wrong_cid.json()["message"]
        made = await client.post(
            "/xrpc/com.atproto.repo.createRecord", json={**body, "record": reply}, headers=auth
        )
        assert made.json()["uri"] == f"at://{bsky.DID}/{bsky.POST}/3lbcdefghijkl"
        again = await client.post(
            "/xrpc/com.atproto.repo.createRecord", json={**body, "record": reply}, headers=auth
        )
        assert again.status_code == 500
        found = await client.get(
            "/xrpc/com.atproto.repo.getRecord",
            params={"repo": bsky.DID, "collection": bsky.POST, "rkey": "3lbcdefghijkl"},
            headers=auth,
        )
        assert found.json()["value"]["text"] == "Yes!"
        feed = (await client.get("/xrpc/app.bsky.feed.getAuthorFeed", params={"actor": bsky.HANDLE})).json()
    assert [item["post"]["record"]["text"] for item in feed["feed"]] == ["Yes!"]
    assert bluesky.timeline()[0].in_reply_to == post["uri"]


async def test_the_real_bluesky_adapter_reads_and_answers_through_the_stand_in(
    bluesky: bsky.BlueskyStandIn,
) -> None:
    settings = bluesky.settings()
    source = BlueskySource(
        settings["BLUESKY_SERVICE"],
        settings["BLUESKY_HANDLE"],
        settings["BLUESKY_APP_PASSWORD"],
        options=BlueskyOptions(poll_seconds=0.1, backfill=True),
    )
    published: list[Published] = []
    bluesky.on_publish = published.append
    await source.open()
    bluesky.post(TOMAS)
    stream = source.mentions(None)
    try:
        async with asyncio.timeout(30):
            mention, _ = await anext(stream)
            while mention is None:
                mention, _ = await anext(stream)
    finally:
        await stream.aclose()
    assert mention.text == f"@{bsky.HANDLE} can I renew online? ✨" and mention.author_name == "Tomás Rivera"
    await source.reply(mention, "Yes: sign in at the catalogue and choose Renew.", idempotency_key="demo-2")
    await until(lambda: published)
    await source.aclose()
    assert published[0].text == "Yes: sign in at the catalogue and choose Renew."
    assert published[0].in_reply_to == mention.external_id and published[0].platform == "bluesky"
