"""The one HTTP status -> domain error mapping: every status class, every Retry-After form, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from bot.backoff import MAX_RETRY_AFTER
from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError
from bot.net.http_json import AT_OPEN, SOCIAL, StatusRules, status_error
from bot.net.wire import MALFORMED, JsonResponse, raise_for_status
from bot.platforms.mastodon.stream import STREAM_STATUS
from bot.platforms.matrix.wire import MATRIX_STATUS, parse_error
from bot.platforms.slack.client import SLACK_STATUS, translate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALL_RULES = [SOCIAL, AT_OPEN, SLACK_STATUS, MATRIX_STATUS, STREAM_STATUS]


def error(status: int | None, rules: StatusRules = SOCIAL, **kwargs: object) -> PatronDeskError:
    return status_error(status, label="test", now=NOW, rules=rules, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "rules", "kind"),
    [
        (429, SOCIAL, RateLimited),
        (500, SOCIAL, TransientError),
        (503, SOCIAL, TransientError),
        (None, SOCIAL, TransientError),
        (408, SOCIAL, TransientError),
        (408, SLACK_STATUS, PermanentError),
        (408, MATRIX_STATUS, PermanentError),
        (404, SOCIAL, PermanentError),
        (401, SOCIAL, PermanentError),
        (401, AT_OPEN, AdapterConfigError),
        (422, AT_OPEN, AdapterConfigError),
        (408, AT_OPEN, TransientError),
        (429, AT_OPEN, RateLimited),
        (401, MATRIX_STATUS, AdapterConfigError),
        (403, MATRIX_STATUS, PermanentError),
        (401, STREAM_STATUS, AdapterConfigError),
        (403, STREAM_STATUS, AdapterConfigError),
        (404, STREAM_STATUS, PermanentError),
        (302, SOCIAL, PermanentError),  # the caller decided it failed: never "no error"
    ],
)
def test_every_status_class(status: int | None, rules: StatusRules, kind: type[PatronDeskError]) -> None:
    assert type(error(status, rules)) is kind


def test_retry_after_as_seconds_and_as_http_date() -> None:
    assert error(429, retry_after="7").retry_after == 7.0  # type: ignore[attr-defined]
    date = format_datetime(NOW + timedelta(seconds=120), usegmt=True)
    assert error(429, retry_after=date).retry_after == 120.0  # type: ignore[attr-defined]
    assert error(503, retry_after="30").retry_after == 30.0  # type: ignore[attr-defined]


def test_a_5xx_hint_only_where_the_platform_gave_one_before() -> None:
    assert error(503, SLACK_STATUS, retry_after="30").retry_after is None  # type: ignore[attr-defined]
    assert error(503, MATRIX_STATUS, retry_after="30").retry_after is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("garbage", ["soon", "", "  ", "nan", "Mon, 99 Foo 2026", "1e999x"])
def test_garbage_retry_after_is_no_hint(garbage: str) -> None:
    assert error(429, retry_after=garbage).retry_after is None  # type: ignore[attr-defined]


def test_rate_limit_reset_when_there_is_no_retry_after() -> None:
    reset = str((NOW + timedelta(seconds=40)).timestamp())
    assert error(429, reset=reset).retry_after == 40.0  # type: ignore[attr-defined]
    assert error(429, retry_after="5", reset=reset).retry_after == 5.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("millis", "expected"),
    [
        (2500, 2.5),
        (10**9, MAX_RETRY_AFTER),
        (-5, 0.0),
        (10**400, MAX_RETRY_AFTER),
        (float("inf"), MAX_RETRY_AFTER),
    ],
)
def test_matrix_retry_after_ms_is_capped(millis: float, expected: float) -> None:
    found = parse_error({"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": millis}, status=429, now=NOW)
    assert isinstance(found, RateLimited)
    assert found.retry_after == expected


def test_matrix_nan_or_odd_retry_after_ms_falls_back_to_the_header() -> None:
    for odd in (float("nan"), True, "5000", None):
        found = parse_error(
            {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": odd}, status=200, retry_after="9", now=NOW
        )
        assert isinstance(found, RateLimited)
        assert found.retry_after == 9.0


def test_matrix_token_errcodes_are_refused_settings() -> None:
    assert type(parse_error({"errcode": "M_MISSING_TOKEN"}, status=403, now=NOW)) is AdapterConfigError
    assert type(parse_error({"errcode": "M_UNKNOWN_TOKEN"}, status=502, now=NOW)) is TransientError


headers = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.datetimes(timezones=st.just(UTC)).map(lambda when: format_datetime(when, usegmt=True)),
)
millis = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=10),
    st.floats(),
    st.integers(min_value=-(10**500), max_value=10**500),
)


@given(
    status=st.one_of(st.sampled_from([None, 401, 403, 408, 429, 500, 503]), st.integers(-1, 1000)),
    retry_after=headers,
    retry_after_ms=millis,
    reset=headers,
    rules=st.sampled_from(ALL_RULES),
)
def test_always_a_domain_error_with_a_sane_wait(
    status: int | None, retry_after: str | None, retry_after_ms: object, reset: str | None, rules: StatusRules
) -> None:
    found = status_error(
        status,
        label="x",
        now=NOW,
        rules=rules,
        retry_after=retry_after,
        retry_after_ms=retry_after_ms,
        reset=reset,
    )
    assert isinstance(found, PatronDeskError)
    wait = getattr(found, "retry_after", None)
    assert wait is None or 0.0 <= wait <= MAX_RETRY_AFTER  # NaN fails both comparisons


@given(
    body=st.dictionaries(st.text(max_size=20), st.one_of(st.none(), st.text(), st.integers(), st.floats()))
)
def test_matrix_parse_error_never_raises(body: dict[str, object]) -> None:
    found = parse_error(body, status=429, retry_after="3", now=NOW)
    assert isinstance(found, RateLimited)


class SlackAnswer(dict[str, object]):
    """What ``SlackApiError.response`` offers translate(): ``get``, ``status_code``, ``headers``."""

    def __init__(self, status: int, error: str, headers: dict[str, object] | None = None) -> None:
        super().__init__(ok=False, error=error)
        self.status_code = status
        self.headers = headers or {}


@pytest.mark.parametrize(
    ("status", "error", "headers", "kind", "wait"),
    [
        (429, "ratelimited", {"Retry-After": ["12"]}, RateLimited, 12.0),
        (200, "ratelimited", {}, RateLimited, None),
        (503, "service_unavailable", {"Retry-After": "30"}, TransientError, None),
        (200, "internal_error", {}, TransientError, None),
        (408, "", {}, PermanentError, None),
        (200, "channel_not_found", {}, PermanentError, None),
        (401, "invalid_auth", {}, PermanentError, None),  # auth.test turns it into a config error
    ],
)
def test_slack_translate_keeps_slack_rules(
    status: int, error: str, headers: dict[str, object], kind: type[PatronDeskError], wait: float | None
) -> None:
    found = translate(SlackApiError("x", SlackAnswer(status, error, headers)), "chat_postMessage")
    assert type(found) is kind
    assert getattr(found, "retry_after", None) == wait


@pytest.mark.parametrize(
    ("status", "body", "at_open", "kind"),
    [
        (200, {"ok": 1}, False, None),
        (302, {}, False, None),
        (200, "MALFORMED", False, TransientError),
        (401, {"error": "ExpiredToken"}, False, PermanentError),
        (401, {"error": "ExpiredToken"}, True, AdapterConfigError),
        (408, {}, True, TransientError),
        (502, {}, False, TransientError),
        (429, {}, False, RateLimited),
    ],
)
def test_wire_raise_for_status(
    status: int, body: object, at_open: bool, kind: type[Exception] | None
) -> None:
    response = JsonResponse(status, httpx.Headers({}), MALFORMED if body == "MALFORMED" else body)
    if kind is None:
        raise_for_status(response, what="t", now=NOW, at_open=at_open)
        return
    with pytest.raises(kind) as caught:
        raise_for_status(response, what="t", now=NOW, at_open=at_open)
    assert type(caught.value) is kind


@given(retry_after=headers, retry_after_ms=millis, reset=headers)
def test_a_429_always_waits_a_sane_time(
    retry_after: str | None, retry_after_ms: object, reset: str | None
) -> None:
    found = status_error(
        429, label="x", now=NOW, retry_after=retry_after, retry_after_ms=retry_after_ms, reset=reset
    )
    assert isinstance(found, RateLimited)
    assert found.retry_after is None or 0.0 <= found.retry_after <= MAX_RETRY_AFTER
