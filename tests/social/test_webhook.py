"""The signed webhook source: signature matrix, validation, exactly-once ingest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.errors import ReplyNotSupported
from bot.models import Mention, Visibility
from bot.platforms.base import AdapterDeps
from bot.platforms.webhook.source import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSource,
    build,
    parse_webhook,
    signature,
    signed_headers,
)

from .conftest import MemoryStore

SECRET = "s3cret-webhook-key"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = json.dumps(
    {
        "id": "form-81",
        "text": "Can I renew my card online?",
        "author": {"id": "p-7", "handle": "reader@example.net", "name": "A Reader"},
        "url": "https://library.example/forms/81",
        "created_at": "2026-03-01T11:58:00Z",
        "lang": "en",
        "source_name": "contact-form",
    }
).encode()


class Client:
    """The webhook mounted on a real aiohttp server, the way the app mounts ``http_routes()``."""

    def __init__(self, source: WebhookSource, store: MemoryStore, http: httpx.AsyncClient) -> None:
        self.source, self.store, self.http = source, store, http

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post("/webhook", content=body, headers=headers)


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    store = MemoryStore()

    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        return await store.ingest("webhook", mention, cursor)

    source = WebhookSource(SECRET, ingest, clock=lambda: NOW)
    app = web.Application()
    for method, path, handler in source.http_routes():
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield Client(source, store, http)
    await runner.cleanup()


def flipped(value: str) -> str:
    """The same signature with one hex digit changed."""
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (signed_headers(SECRET, BODY, timestamp=TS), 202),
        (signed_headers(SECRET, BODY, timestamp=TS - 300), 202),
        (signed_headers(SECRET, BODY, timestamp=TS + 300), 202),
        (signed_headers(SECRET, BODY, timestamp=TS - 301), 401),
        (signed_headers(SECRET, BODY, timestamp=TS + 301), 401),
        ({TIMESTAMP_HEADER: str(TS), SIGNATURE_HEADER: flipped(signature(SECRET, BODY, TS))}, 401),
        ({TIMESTAMP_HEADER: str(TS), SIGNATURE_HEADER: signature("other-secret", BODY, TS)}, 401),
        ({TIMESTAMP_HEADER: str(TS + 1), SIGNATURE_HEADER: signature(SECRET, BODY, TS)}, 401),
        ({TIMESTAMP_HEADER: "12e8", SIGNATURE_HEADER: signature(SECRET, BODY, "12e8")}, 401),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: signature(SECRET, BODY, "soon")}, 401),
        ({TIMESTAMP_HEADER: str(TS)}, 401),
        ({SIGNATURE_HEADER: signature(SECRET, BODY, TS)}, 401),
        ({}, 401),
        ({TIMESTAMP_HEADER: str(TS), SIGNATURE_HEADER: "v1=,garbage"}, 401),
    ],
    ids=[
        "valid",
        "300s-old",
        "300s-ahead",
        "301s-old",
        "301s-ahead",
        "one-hex-digit",
        "wrong-secret",
        "timestamp-not-signed",
        "float-timestamp",
        "word-timestamp",
        "no-signature",
        "no-timestamp",
        "unsigned",
        "junk-signature",
    ],
)
async def test_signature_matrix(client: Client, headers: dict[str, str], status: int) -> None:
    response = await client.post(BODY, headers)
    assert response.status_code == status
    assert len(client.store.mentions) == (1 if status == 202 else 0)  # a refusal changes nothing


async def test_one_changed_body_byte_is_refused(client: Client) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=TS)
    tampered = BODY.replace(b"renew", b"renev")
    assert (await client.post(tampered, headers)).status_code == 401
    assert client.store.mentions == {}


async def test_accepted_once_then_duplicate(client: Client) -> None:
    headers = signed_headers(SECRET, BODY, timestamp=TS)
    first = await client.post(BODY, headers)
    again = await client.post(BODY, headers)
    assert (first.status_code, first.json()) == (202, {"accepted": True, "id": "contact-form:form-81"})
    assert (again.status_code, again.json()) == (200, {"duplicate": True, "id": "contact-form:form-81"})
    [mention] = client.store.mentions.values()
    assert mention.text == "Can I renew my card online?" and mention.author_handle == "reader@example.net"
    assert mention.can_reply is False and mention.visibility is Visibility.PRIVATE
    assert mention.created_at == datetime(2026, 3, 1, 11, 58, tzinfo=UTC)
    assert client.store.cursor is None  # a push source never touches a cursor


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[1, 2]", "object"),
        (json.dumps({"text": "hi"}).encode(), "id"),
        (json.dumps({"id": "1"}).encode(), "text"),
        (json.dumps({"id": "1", "text": "   "}).encode(), "text"),
        (json.dumps({"id": True, "text": "hi"}).encode(), "id"),
        (json.dumps({"id": "1", "text": "hi", "author": "me"}).encode(), "author"),
        (json.dumps({"id": "1", "text": "hi", "url": "javascript:alert(1)"}).encode(), "url"),
        (json.dumps({"id": "1", "text": "hi", "created_at": "yesterday"}).encode(), "created_at"),
        (json.dumps({"id": "1", "text": "hi", "source_name": "a b"}).encode(), "source_name"),
        (json.dumps({"id": "1", "text": "hi", "visibility": "secret"}).encode(), "visibility"),
    ],
)
async def test_malformed_bodies_are_400_and_change_nothing(client: Client, body: bytes, reason: str) -> None:
    response = await client.post(body, signed_headers(SECRET, body, timestamp=TS))
    assert response.status_code == 400 and reason in response.json()["error"]
    assert client.store.mentions == {}


async def test_oversized_body_is_refused(client: Client) -> None:
    body = json.dumps({"id": "1", "text": "x" * 70_000}).encode()
    response = await client.post(body, signed_headers(SECRET, body, timestamp=TS))
    assert response.status_code == 413 and client.store.mentions == {}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked transfer
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    headers = signed_headers(SECRET, body, timestamp=TS)
    response = await client.http.post("/webhook", content=chunks(), headers=headers)
    assert response.status_code == 413 and client.store.mentions == {}


async def test_chunked_body_within_the_limit_is_read_whole(client: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(BODY), 7):
            yield BODY[start : start + 7]

    response = await client.http.post(
        "/webhook", content=chunks(), headers=signed_headers(SECRET, BODY, timestamp=TS)
    )
    assert response.status_code == 202 and len(client.store.mentions) == 1


async def test_store_failure_asks_the_sender_to_retry() -> None:
    async def broken(mention: Mention | None, cursor: str | None) -> bool:
        raise RuntimeError("database locked")

    source = WebhookSource(SECRET, broken, clock=lambda: NOW)
    app = web.Application()
    app.router.add_route("POST", "/webhook", source.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
        async with httpx.AsyncClient() as http:
            response = await http.post(url, content=BODY, headers=signed_headers(SECRET, BODY, timestamp=TS))
        assert response.status_code == 503
    finally:
        await runner.cleanup()


async def test_read_only_push_source(client: Client) -> None:
    assert client.source.push is True
    with pytest.raises(ReplyNotSupported):
        await client.source.reply(parse_webhook(json.loads(BODY), now=NOW), "hi", idempotency_key="k")


def test_build_needs_secret_and_ingest() -> None:
    async def ingest(mention: Mention | None, cursor: str | None) -> bool:
        return True

    settings = Settings(WEBHOOK_SECRET="x")
    assert isinstance(build(settings, AdapterDeps(ingest=ingest)), WebhookSource)
    assert build(settings, AdapterDeps()) is None
    assert build(Settings(), AdapterDeps(ingest=ingest)) is None


@given(
    st.dictionaries(
        st.sampled_from(["id", "text", "author", "url", "created_at", "lang"]), st.from_type(object)
    )
)
def test_parse_webhook_only_ever_raises_value_error(payload: dict[str, Any]) -> None:
    try:
        mention = parse_webhook(payload, now=NOW)
    except ValueError:
        return
    assert mention.text and mention.external_id and not mention.can_reply


async def test_created_at_out_of_range_and_deep_json_are_clear_400s(client: Client) -> None:
    """Issue 10, finding 9: both answered 500."""
    far = json.dumps({"id": "1", "text": "t", "created_at": "9999-12-31T23:59:59-12:00"}).encode()
    deep = b"[" * 30_000 + b"]" * 30_000  # json.loads raised RecursionError
    answers = [await client.post(body, signed_headers(SECRET, body, timestamp=TS)) for body in (far, deep)]
    assert [a.status_code for a in answers] == [400, 400]  # both were 500
    assert all(a.json()["error"] for a in answers)
