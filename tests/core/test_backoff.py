"""The one retry policy: Retry-After parsing in every shape, jitter bounds, reconnect reset."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.backoff import MAX_RETRY_AFTER, Backoff, Reconnector, parse_retry_after

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("30", 30.0),
        ("2.5", 2.5),
        ("-5", 0.0),
        ("99999999", MAX_RETRY_AFTER),
        ("Sun, 22 Nov 2026 12:00:30 GMT", 30.0),
        ("Sun, 22 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_shapes(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_delay_is_bounded_and_grows() -> None:
    policy = Backoff(base=1, cap=60, rng=random.Random(7))
    for attempt in range(12):
        assert 0 <= policy.delay(attempt) <= min(60, 2**attempt)
    assert policy.ceiling(50) == 60


def test_retry_after_is_a_floor_even_for_zero() -> None:
    policy = Backoff(base=1, cap=60, rng=random.Random(3))
    assert all(policy.delay(a, retry_after=30) >= 30 for a in range(10))
    waits = [policy.delay(8, retry_after=0) for _ in range(50)]
    assert max(waits) > 1  # a storm of "Retry-After: 0" still backs off as attempts grow


def test_reconnector_resets_after_a_healthy_period() -> None:
    retry = Reconnector(policy=Backoff(base=1, cap=100, rng=random.Random(1)), healthy_after=60)
    for _ in range(5):
        retry.failed()
    assert retry.attempt == 5
    retry.connected_for(10)
    assert retry.attempt == 5
    retry.connected_for(61)
    assert retry.attempt == 0
