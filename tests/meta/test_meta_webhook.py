"""Meta webhooks: the signature check over the raw body, the subscribe handshake, and the endpoint
(401 and nothing delivered for anything unsigned or wrong; 503 when storing fails, so Meta retries)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import TransientError
from bot.platforms.meta.webhook import WebhookEndpoint, handshake, signature, verify
from tests.fakes.graph import sign
from tests.fakes.loopback import LoopbackServer

SECRET = "app-secret"


def test_signature_is_hmac_sha256_of_the_raw_bytes() -> None:
    body = b'{"object":"page","entry":[]}'
    assert signature(SECRET, body) == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert verify(SECRET, sign(SECRET, body), body) is None


@pytest.mark.parametrize(
    ("header", "body", "reason"),
    [
        (None, b"{}", "missing signature"),
        ("", b"{}", "missing signature"),
        (
            "sha1=" + hmac.new(SECRET.encode(), b"{}", hashlib.sha1).hexdigest(),
            b"{}",
            "not a sha256 signature",
        ),
        (sign("other-secret", b"{}"), b"{}", "signature does not match"),
        (sign(SECRET, b"{}"), b"{ }", "signature does not match"),  # re-serialized JSON is another body
        (sign(SECRET, b"{}").upper(), b"{}", "not a sha256 signature"),
    ],
)
def test_signature_refusals(header: str | None, body: bytes, reason: str) -> None:
    assert verify(SECRET, header, body) == reason


def test_no_secret_refuses_everything() -> None:
    assert verify("", sign("", b"{}"), b"{}") == "no app secret configured"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=512), st.integers(min_value=0, max_value=63), st.integers(min_value=1, max_value=255)
)
def test_any_changed_byte_of_body_or_signature_is_refused(body: bytes, where: int, flip: int) -> None:
    good = sign(SECRET, body)
    assert verify(SECRET, good, body) is None
    if body:
        changed = bytearray(body)
        changed[where % len(body)] ^= flip
        assert verify(SECRET, good, bytes(changed)) is not None
    digits = bytearray(good.encode())
    index = len("sha256=") + where
    digits[index] = ord("0") if digits[index] != ord("0") else ord("1")
    assert verify(SECRET, digits.decode(), body) is not None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.binary(max_size=200))
def test_arbitrary_headers_never_raise(header: str, body: bytes) -> None:
    assert verify(SECRET, header, body) in (
        None,
        "not a sha256 signature",
        "signature does not match",
        "missing signature",
    )


def test_handshake() -> None:
    ok = {"hub.mode": "subscribe", "hub.verify_token": "meaty", "hub.challenge": "1158201444"}
    assert handshake(ok, "meaty") == (200, "1158201444")
    assert handshake(ok | {"hub.verify_token": "wrong"}, "meaty") == (403, "")
    assert handshake(ok | {"hub.mode": "unsubscribe"}, "meaty") == (403, "")
    assert handshake({k: v for k, v in ok.items() if k != "hub.challenge"}, "meaty") == (403, "")
    assert handshake(ok, "") == (403, "")
    assert handshake(ok | {"hub.challenge": "<script>alert(1)</script>"}, "meaty") == (
        403,
        "",
    )  # never echoed


class Host(LoopbackServer):
    """The endpoint's routes on a loopback aiohttp server."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    def web_routes(self) -> list[web.RouteDef]:
        return [web.route(method, path, handler) for method, path, handler in self.endpoint.routes()]


class Collector:
    def __init__(self) -> None:
        self.delivered: list[Any] = []
        self.fail: Exception | None = None

    async def __call__(self, payload: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.delivered.append(payload)


@pytest.fixture
async def hosted() -> AsyncIterator[tuple[str, Collector]]:
    collector = Collector()
    endpoint = WebhookEndpoint(
        path="/hook", secret=SECRET, verify_token="vt", deliver=collector, label="Test"
    )
    async with Host(endpoint) as host:
        yield f"{host.origin}/hook", collector


async def test_endpoint_signature_matrix(hosted: tuple[str, Collector]) -> None:
    url, collector = hosted
    body = b'{"object":"page","entry":[{"id":"1","time":1,"changes":[]}]}'
    changed = body.replace(b'"1"', b'"2"')
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    cases = [
        ({}, body, 401),
        ({"X-Hub-Signature-256": sign(SECRET, body)}, changed, 401),
        ({"X-Hub-Signature-256": sign("wrong", body)}, body, 401),
        ({"X-Hub-Signature": sha1}, body, 401),
        ({"X-Hub-Signature-256": "sha256=zz"}, body, 401),
    ]
    async with httpx.AsyncClient() as http:
        for headers, content, status in cases:
            assert (await http.post(url, content=content, headers=headers)).status_code == status
        assert collector.delivered == []  # nothing refused reached the platform code
        good = {"X-Hub-Signature-256": sign(SECRET, body)}
        assert (await http.post(url, content=body, headers=good)).status_code == 200
        assert (await http.post(url, content=body, headers=good)).status_code == 200  # replay
        not_json = b"not json"
        assert (
            await http.post(url, content=not_json, headers={"X-Hub-Signature-256": sign(SECRET, not_json)})
        ).status_code == 400
        handshake_ok = await http.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "42"}
        )
        handshake_bad = await http.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"}
        )
    assert len(collector.delivered) == 1  # the replay was acknowledged, not applied again
    assert (handshake_ok.status_code, handshake_ok.text, handshake_bad.status_code) == (200, "42", 403)


async def test_a_failure_to_store_answers_503_and_the_redelivery_is_applied(
    hosted: tuple[str, Collector],
) -> None:
    url, collector = hosted
    body = b'{"object":"page","entry":[]}'
    headers = {"X-Hub-Signature-256": sign(SECRET, body)}
    collector.fail = TransientError("database restarting")
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, content=body, headers=headers)).status_code == 503
        collector.fail = None
        assert (await http.post(url, content=body, headers=headers)).status_code == 200
    assert len(collector.delivered) == 1


async def test_oversized_bodies_are_refused_before_reading(hosted: tuple[str, Collector]) -> None:
    url, collector = hosted
    body = b"x" * (300 * 1024)
    async with httpx.AsyncClient() as http:
        response = await http.post(url, content=body, headers={"X-Hub-Signature-256": sign(SECRET, body)})
    assert response.status_code == 413 and collector.delivered == []
