"""HTTP mode: signed requests through the shared route; bad signatures answer 401, never 5xx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.models import Claim, Mention, RotaCommand
from bot.platforms.slack.buttons import CLAIM
from bot.platforms.slack.client import EVENTS_PATH, SlackClient
from bot.platforms.slack.desk import SlackDesk
from bot.platforms.slack.source import SlackSource
from tests.fakes.slack import SIGNING_SECRET, SlackEmulator
from tests.fakes.slack_payloads import (
    event_callback,
    http_body,
    message_event,
    sign,
    signed_headers,
    slash_command,
)
from tests.slack.slack_helpers import ALICE, COMMUNITY, STAFF, FakeService, make_client, wait_for


@dataclass
class Http:
    url: str
    session: aiohttp.ClientSession
    stored: list[Mention]
    service: FakeService
    desk: SlackDesk
    client: SlackClient
    failing: list[bool]

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(self.url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def signed(
        self, kind: str, payload: dict[str, object], *, at: float | None = None
    ) -> tuple[int, str]:
        body, content_type = http_body(kind, payload)
        return await self.post(body, signed_headers(SIGNING_SECRET, body, content_type, at=at))


@pytest.fixture
async def http(emu: SlackEmulator) -> AsyncIterator[Http]:
    client = make_client(emu, socket=False)
    stored: list[Mention] = []
    failing = [False]

    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        assert mention is not None
        if failing[0]:
            raise RuntimeError("database down")
        stored.append(mention)
        return True

    desk = SlackDesk(client, staff_channel=STAFF)
    source = SlackSource(client, ingest=ingest, channels=(COMMUNITY,), staff=(STAFF,))
    routes = [*desk.http_routes(), *source.http_routes()]
    assert len(routes) == 1  # desk and source share one route
    app = web.Application()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service = FakeService()
    serving = asyncio.create_task(desk.serve(service.handle))
    await source.open()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{EVENTS_PATH}"
    try:
        async with aiohttp.ClientSession() as session:
            yield Http(url, session, stored, service, desk, client, failing)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await desk.aclose()
        await runner.cleanup()
        await client.aclose()


def patron_event(ts: str = "1700000000.000100") -> dict[str, object]:
    return event_callback(message_event(COMMUNITY, ALICE, "do you have the book?", ts=ts))


async def test_valid_signature_is_accepted_and_stored(http: Http) -> None:
    status, _ = await http.signed("events", patron_event())
    assert status == 200
    assert [m.external_id for m in http.stored] == [f"{COMMUNITY}:1700000000.000100"]


async def test_url_verification_answers_the_challenge(http: Http) -> None:
    status, text = await http.signed(
        "events", {"token": "t", "challenge": "abc123", "type": "url_verification"}
    )
    assert status == 200 and json.loads(text) == {"challenge": "abc123"}


async def test_body_changed_by_one_byte_is_refused(http: Http) -> None:
    body, content_type = http_body("events", patron_event())
    headers = signed_headers(SIGNING_SECRET, body, content_type)
    tampered = body.replace(b"book", b"boot")
    assert len(tampered) == len(body)
    assert (await http.post(tampered, headers))[0] == 401
    assert http.stored == []


@pytest.mark.parametrize(("skew", "status"), [(-301, 401), (301, 401), (-299, 200), (299, 200)])
async def test_timestamp_window(http: Http, skew: int, status: int) -> None:
    got, _ = await http.signed(
        "events", patron_event(f"17000000{abs(skew):02d}.000100"), at=time.time() + skew
    )
    assert got == status
    assert len(http.stored) == (1 if status == 200 else 0)


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp", "both"])
async def test_missing_headers(http: Http, missing: str) -> None:
    body, content_type = http_body("events", patron_event())
    headers = signed_headers(SIGNING_SECRET, body, content_type)
    for name in ("X-Slack-Signature", "X-Slack-Request-Timestamp") if missing == "both" else (missing,):
        del headers[name]
    assert (await http.post(body, headers))[0] == 401
    assert http.stored == []


@pytest.mark.parametrize(
    "stamp", ["abc", "", "1e9", "-5", "１７００", " 1700000000", "17000000000000000000000", "nan", "0x10"]
)
async def test_malformed_timestamp_is_401_never_5xx(http: Http, stamp: str) -> None:
    body, content_type = http_body("events", patron_event())
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SIGNING_SECRET, body, stamp),
    }
    assert (await http.post(body, headers))[0] == 401


@pytest.mark.parametrize("signature", ["", "v0=", "v0=zz", "v1=" + "0" * 64, "v0=" + "é" * 64, "garbage"])
async def test_malformed_signature_is_401(http: Http, signature: str) -> None:
    body, content_type = http_body("events", patron_event())
    headers = signed_headers(SIGNING_SECRET, body, content_type)
    headers["X-Slack-Signature"] = signature
    assert (await http.post(body, headers))[0] == 401


async def test_bolt_alone_would_answer_500_on_a_non_numeric_timestamp(http: Http) -> None:
    """Why the route checks first: bolt's verifier calls int() on the header and raises."""
    body, _ = http_body("events", patron_event())
    headers = {
        "x-slack-request-timestamp": "abc",
        "x-slack-signature": "v0=00",
        "content-type": "application/json",
    }
    response = await http.client.app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert response.status == 500


async def test_signed_click_and_command_reach_the_service(http: Http, emu: SlackEmulator) -> None:
    from tests.slack.slack_helpers import view

    ref = await http.desk.post_card(view(6), channel=STAFF, dedupe_key="k6")
    status, _ = await http.signed("interactive", emu.click_payload(ALICE, STAFF, ref.message_id, CLAIM))
    assert status == 200
    command = slash_command(
        user=ALICE, command="/rota", text="now", channel=STAFF, response_url=emu.response_url()
    )
    status, _ = await http.signed("commands", command)
    assert status == 200
    await wait_for(lambda: len(http.service.actions) == 2)
    kinds = sorted(type(a).__name__ for a in http.service.actions)
    assert kinds == [Claim.__name__, RotaCommand.__name__]
    await wait_for(lambda: emu.responses and emu.ephemerals)


async def test_failed_store_is_not_acknowledged(http: Http) -> None:
    """If ingest fails the request is not acked (5xx), so Slack sends the event again; then it is."""
    http.failing[0] = True
    status, _ = await http.signed("events", patron_event())
    assert status >= 500 and http.stored == []
    http.failing[0] = False
    status, _ = await http.signed("events", patron_event())  # Slack's retry, same event id or not
    assert status == 200 and len(http.stored) == 1
