"""Throttling: usage headers slow the client before Meta blocks it, throttling codes hold it, code 190
latches it (staff told once, no more calls), and errors are classified from the real envelopes."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import AdapterConfigError, PermanentError, RateLimited, TransientError
from bot.platforms.meta.graph import TokenRefused, graph_error, parse_error
from bot.platforms.meta.throttle import Throttle, ThrottleOptions, Usage, pause_for, read_usage
from tests.fakes.graph import FakeGraph, error_body

from .conftest import Sleeps, client_for

OPTIONS = ThrottleOptions(slow_from=75, max_pause=60, blocked_pause=600)


def test_usage_headers_in_the_recorded_shapes() -> None:
    headers = {
        "x-app-usage": '{"call_count":91,"total_cputime":15,"total_time":12}',
        "x-business-use-case-usage": json.dumps(
            {
                "110000000000042": [
                    {"type": "pages", "call_count": 1, "total_time": 1, "estimated_time_to_regain_access": 0}
                ]
            }
        ),
    }
    assert read_usage(headers) == Usage(91.0, None)
    blocked = {
        "x-business-use-case-usage": json.dumps(
            {
                "1": [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_time": 45,
                        "estimated_time_to_regain_access": 10,
                    }
                ]
            }
        )
    }
    assert read_usage(blocked) == Usage(100.0, 600.0)
    assert read_usage({"x-page-usage": "{'call_count' : 85}"}) == Usage()  # not JSON (single quotes): nothing


def test_pause_grows_from_75_percent_and_holds_at_100() -> None:
    assert pause_for(Usage(50), OPTIONS) == 0
    assert pause_for(Usage(74.9), OPTIONS) == 0
    assert 0 < pause_for(Usage(80), OPTIONS) < pause_for(Usage(95), OPTIONS) < 60
    assert pause_for(Usage(100), OPTIONS) == 600
    assert pause_for(Usage(100, 120.0), OPTIONS) == 120


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["x-app-usage", "x-page-usage", "x-business-use-case-usage", "other"]),
        st.text(max_size=200)
        | st.builds(
            json.dumps,
            st.recursive(
                st.none() | st.floats() | st.integers() | st.text(max_size=8),
                lambda c: (
                    st.lists(c, max_size=3)
                    | st.dictionaries(
                        st.sampled_from(["call_count", "total_time", "estimated_time_to_regain_access", "x"]),
                        c,
                        max_size=3,
                    )
                ),
                max_leaves=10,
            ),
        ),
    )
)
def test_hostile_usage_headers_never_raise_and_pauses_are_bounded(headers: dict[str, str]) -> None:
    usage = read_usage(headers)
    pause = pause_for(usage, OPTIONS)
    assert math.isfinite(pause) and 0 <= pause <= OPTIONS.longest_hold


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, error_body(4, "(#4) Application request limit reached"), RateLimited),
        (400, error_body(17, "(#17) User request limit reached"), RateLimited),
        (
            400,
            json.dumps(
                {"message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32}
            ).encode(),
            RateLimited,
        ),
        (400, error_body(613, "(#613) Calls to this api have exceeded the rate limit."), RateLimited),
        (400, error_body(80001, "There have been too many calls to this Page account"), RateLimited),
        (400, error_body(190, "Error validating access token", subcode=463), TokenRefused),
        (400, error_body(100, "(#100) Missing pages_read_engagement"), PermanentError),
        (500, error_body(2, "Service temporarily unavailable"), TransientError),
        (400, error_body(1, "An unknown error occurred"), TransientError),
        (502, b"<html>bad gateway</html>", TransientError),
    ],
)
def test_error_envelopes_are_classified(status: int, body: bytes, kind: type[Exception]) -> None:
    exc = graph_error(status, parse_error(json.loads(body) if body.startswith(b"{") else None), what="t")
    assert type(exc) is kind
    assert "limit" not in str(exc) and "token" not in str(exc).lower()  # the message is never kept


def test_a_refusal_at_open_is_a_settings_error() -> None:
    assert isinstance(
        graph_error(400, parse_error(json.loads(error_body(100, "x"))), what="t", at_open=True),
        AdapterConfigError,
    )


async def test_usage_near_the_limit_slows_and_at_100_holds(graph: FakeGraph) -> None:
    sleeps = Sleeps()
    client = client_for(
        graph, throttle=Throttle(ThrottleOptions(max_pause=5, blocked_pause=60), sleep=sleeps)
    )
    try:
        graph.usage = {"X-App-Usage": '{"call_count":95,"total_cputime":10,"total_time":10}'}
        await client.get("1234567890321", fields="id,name")
        await client.get("1234567890321", fields="id,name")
        assert len(sleeps.asked) == 1 and 0 < sleeps.asked[0] < 5  # slowed before the second call
        graph.usage = {"X-App-Usage": '{"call_count":100,"total_cputime":10,"total_time":10}'}
        await client.get("1234567890321", fields="id,name")
        sent = len(graph.hits)
        with pytest.raises(RateLimited) as held:
            await client.get("1234567890321", fields="id,name")
        assert held.value.retry_after is not None and held.value.retry_after > 30
        assert len(graph.hits) == sent  # held here: Meta was not asked again
    finally:
        await client.aclose()


async def test_throttling_codes_hold_with_metas_estimate(graph: FakeGraph) -> None:
    client = client_for(graph)
    try:
        graph.usage = {
            "X-Business-Use-Case-Usage": json.dumps(
                {"1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 3}]}
            )
        }
        graph.inject(
            "page",
            400,
            body=error_body(32, "(#32) Page request limit reached"),
            **{"X_Business_Use_Case_Usage": graph.usage["X-Business-Use-Case-Usage"]},
        )
        with pytest.raises(RateLimited) as limited:
            await client.get("1234567890321", fields="id")
        assert limited.value.retry_after == pytest.approx(180, abs=1)
        assert client.throttle.held_for() > 170
    finally:
        await client.aclose()


async def test_an_expired_token_tells_staff_once_and_stops_calling(graph: FakeGraph) -> None:
    told: list[str] = []

    async def tell(text: str) -> None:
        told.append(text)

    client = client_for(graph, tell_staff=tell, fix="Set FACEBOOK_PAGE_TOKEN.")
    graph.token_expired = True
    try:
        for _ in range(5):
            with pytest.raises(TokenRefused):
                await client.get("1234567890321", fields="id")
        assert len(graph.hits) == 1  # one call reached Meta; the latch answered the rest
        assert len(told) == 1 and "FACEBOOK_PAGE_TOKEN" in told[0] and "Session" not in told[0]
    finally:
        await client.aclose()


async def test_5xx_and_malformed_bodies_are_transient(graph: FakeGraph) -> None:
    client = client_for(graph)
    try:
        graph.inject("page", 503, body="upstream")
        with pytest.raises(TransientError):
            await client.get("1234567890321", fields="id")
        graph.inject("page", 200, body="{not json")
        with pytest.raises(TransientError):
            await client.get("1234567890321", fields="id")
        assert (await client.get("1234567890321", fields="id,name"))["name"]
    finally:
        await client.aclose()
