"""Every storm value through every platform's own client, to the wait the bot then decides.

The end-to-end storms can only honour short waits in real time; here the 30 s, HTTP-date and
10^9 s answers go through the same wire code (loopback servers, the real SDKs) and the retry
policy each caller uses, and the decided wait is checked against what the platform asked for.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.backoff import MAX_RETRY_AFTER, Backoff, Reconnector, parse_retry_after
from bot.errors import RateLimited
from bot.platforms.bluesky.session import XrpcSession
from bot.platforms.feeds.source import FeedsAdapter
from bot.platforms.mastodon.api import MastodonApi
from bot.platforms.matrix.wire import parse_error
from bot.platforms.slack.client import SlackClient
from tests.fakes import bluesky as bluesky_server
from tests.fakes import mastodon as mastodon_server
from tests.fakes.slack import BOT_TOKEN
from tests.fakes.storms import StormBluesky, StormFeeds, StormMastodon, StormSlack

from .gate import KINDS, Gate, SkewClock, Wait, wait_for_kind

Call = Callable[[], Coroutine[Any, Any, object]]
POLICIES = {  # the policies the callers use: the relay's outbox, and the sources' defaults
    "outbox": Backoff(base=1.0, cap=300.0, rng=random.Random(1)),
    "source": Backoff(base=2.0, cap=300.0, rng=random.Random(2)),
}


def _gate(name: str, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Gate:
    gate = Gate(name, limit=1000, window=1.0, strict=False, wall=wall)
    gate.storm(*KINDS)
    return gate


async def _check_all(call: Call, gate: Gate, skew: SkewClock | None = None) -> None:
    """Call once per storm value; check the ``retry_after`` each 429 became.

    With ``skew`` (the client's clock), time is moved past each wait: such clients hold the endpoint
    until the wait is over (see test_holds.py).
    """
    hints = []
    for _ in KINDS:
        with pytest.raises(RateLimited) as caught:
            await call()
        hints.append(caught.value.retry_after)
        if skew is not None:
            skew.advance((caught.value.retry_after or 0.0) + 0.01)
    served = [request.limited for request in gate.limited]
    assert [wait.kind for wait in served if wait] == list(KINDS)
    for wait, hint in zip(served, hints, strict=True):
        assert wait is not None
        _check(wait, hint)


def _check(served: Wait, hint: float | None) -> None:
    """The hint matches what was asked, and every caller's wait honours it (and the cap)."""
    kind, asked = served.kind, served.expected
    if kind == "garbage":
        assert hint is None  # no usable hint: the caller's own backoff decides
    elif kind == "date":  # read a moment after it was written
        assert hint is not None and asked - 0.5 <= hint <= asked
    else:
        assert hint == asked
    for policy in POLICIES.values():
        for attempt in (0, 3, 9):
            wait = policy.delay(attempt, retry_after=hint)
            assert 0.0 <= wait <= max(MAX_RETRY_AFTER, policy.cap)
            if hint is not None:
                assert wait >= hint
    if kind == "huge":
        assert hint == MAX_RETRY_AFTER  # 10^9 s is honoured as 15 minutes, not 31 years
    if kind in ("0", "-5"):
        assert hint == 0.0


@pytest.fixture
async def slack() -> AsyncIterator[StormSlack]:
    emulator = StormSlack(_gate("slack"))
    await emulator.start()
    emulator.add_channel("C0STAFF01")
    try:
        yield emulator
    finally:
        await emulator.close()


async def test_slack_post_message(slack: StormSlack) -> None:
    client = SlackClient(bot_token=BOT_TOKEN, api_url=slack.api_url)
    try:
        await _check_all(lambda: client.call("chat_postMessage", channel="C0STAFF01", text="hi"), slack.gate)
    finally:
        await client.aclose()


async def test_mastodon_rest() -> None:
    skew = SkewClock()
    gate = _gate("mastodon", skew.now)
    async with StormMastodon({"/api/v1/notifications": gate}) as server:
        client = httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {mastodon_server.TOKEN}"}
        )
        api = MastodonApi(client, clock=skew.now)
        try:
            await _check_all(lambda: api.call("GET", "/api/v1/notifications"), gate, skew)
        finally:
            await client.aclose()


async def test_bluesky_xrpc() -> None:
    skew = SkewClock()
    gate = _gate("bluesky", skew.now)
    async with StormBluesky({"app.bsky.notification.listNotifications": gate}) as server:
        client = httpx.AsyncClient(base_url=server.url)
        session = XrpcSession(client, bluesky_server.HANDLE, bluesky_server.PASSWORD, clock=skew.now)
        try:
            call = lambda: session.call("GET", "app.bsky.notification.listNotifications")  # noqa: E731
            await _check_all(call, gate, skew)
        finally:
            await client.aclose()


async def test_feeds_http() -> None:
    gate = _gate("feeds")
    async with StormFeeds(gate) as server:
        server.route("/alerts.xml", b"<feed/>")
        adapter = FeedsAdapter([server.url("/alerts.xml")])
        await adapter.open()
        try:
            await _check_all(lambda: adapter._fetch(server.url("/alerts.xml"), None), gate)
        finally:
            await adapter.aclose()


def test_matrix_limit_exceeded() -> None:
    wall = datetime.now(UTC)
    for kind in KINDS:
        wait = wait_for_kind(kind, wall=wall)
        body: dict[str, Any] = {"errcode": "M_LIMIT_EXCEEDED"}
        if isinstance(wait.millis, int):  # nio drops a retry_after_ms that is not an integer
            body["retry_after_ms"] = wait.millis
        error = parse_error(body, status=429, retry_after=wait.header, now=wall)
        assert isinstance(error, RateLimited)
        _check(wait, error.retry_after)


@given(header=st.one_of(st.text(max_size=40), st.integers(-(10**12), 10**12).map(str)))
def test_any_header_gives_a_finite_bounded_wait(header: str) -> None:
    hint = parse_retry_after(header, now=datetime(2026, 3, 2, tzinfo=UTC))
    for policy in POLICIES.values():
        wait = policy.delay(5, retry_after=hint)
        assert math.isfinite(wait) and 0.0 <= wait <= max(MAX_RETRY_AFTER, policy.cap)
    digits = header.strip().lstrip("-")
    if digits.isascii() and digits.isdigit():  # "²".isdigit() is True, but it is no number
        assert hint == min(max(float(header), 0.0), MAX_RETRY_AFTER)


@given(ahead=st.integers(-86_400, 10**7))
def test_http_dates_wait_until_that_moment_capped(ahead: int) -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    hint = parse_retry_after(format_datetime(now + timedelta(seconds=ahead), usegmt=True), now=now)
    assert hint == min(max(float(ahead), 0.0), MAX_RETRY_AFTER)


def test_a_storm_of_zero_still_spreads_out() -> None:
    """``Retry-After: 0`` over and over: the waits grow with the attempts instead of hammering."""
    early, late = [], []
    for seed in range(200):
        retry = Reconnector(policy=Backoff(base=1.0, cap=300.0, rng=random.Random(seed)))
        waits = [retry.failed(retry_after=0.0) for _ in range(8)]
        early.append(waits[0])
        late.append(waits[7])
    assert sum(late) / len(late) > 20 * (sum(early) / len(early))
    assert max(early) <= 1.0
