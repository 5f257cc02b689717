"""``reconnecting()``: backoff grows, resets after a healthy run, honours Retry-After, stops when it must."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.backoff import Backoff, Reconnector
from bot.errors import AdapterConfigError, PermanentError, RateLimited, TransientError
from bot.net.retry import reconnecting


class Script:
    """A connect() that plays a script: each step is (seconds it stays up, what it raises or None)."""

    def __init__(self, steps: list[tuple[float, BaseException | None]]) -> None:
        self.steps = list(steps)
        self.now = 0.0
        self.calls = 0
        self.waits: list[float] = []
        self.errors: list[tuple[str, float]] = []

    async def connect(self) -> None:
        self.calls += 1
        up, outcome = self.steps.pop(0)
        self.now += up
        if outcome is not None:
            raise outcome

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def on_error(self, exc: Exception, wait: float) -> None:
        self.errors.append((type(exc).__name__, wait))

    def clock(self) -> float:
        return self.now


def no_jitter(healthy_after: float = 60.0) -> Reconnector:
    """A policy whose every delay is its ceiling (jitter pinned to the top), so waits are exact."""

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    return Reconnector(policy=Backoff(base=1.0, cap=8.0, rng=Top()), healthy_after=healthy_after)


async def run(script: Script, policy: Reconnector, **kwargs: object) -> None:
    await reconnecting(
        script.connect,
        policy=policy,
        on_error=script.on_error,
        sleep=script.sleep,
        clock=script.clock,
        **kwargs,
    )  # type: ignore[arg-type]


async def test_backoff_grows_to_the_cap_then_returns_when_connect_does() -> None:
    script = Script([(0.0, TransientError("down"))] * 6 + [(0.0, None)])
    await run(script, no_jitter())
    assert script.waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert script.calls == 7
    assert [wait for _, wait in script.errors] == script.waits


async def test_backoff_resets_after_a_healthy_period_only() -> None:
    down = TransientError("down")
    steps = [(0.0, down), (0.0, down), (0.0, down), (60.0, down), (59.0, down), (0.0, None)]
    script = Script(steps)
    await run(script, no_jitter(healthy_after=60.0))
    # 1, 2, 4; then a 60 s run resets to 1; a 59 s run is not healthy: 2
    assert script.waits == [1.0, 2.0, 4.0, 1.0, 2.0]


async def test_without_a_clock_the_caller_owns_health() -> None:
    down = TransientError("down")
    script = Script([(0.0, down), (600.0, down), (0.0, None)])
    await reconnecting(script.connect, policy=no_jitter(), on_error=script.on_error, sleep=script.sleep)
    assert script.waits == [1.0, 2.0]


async def test_retry_after_is_a_floor() -> None:
    script = Script([(0.0, RateLimited("slow down", retry_after=30.0)), (0.0, None)])
    await run(script, no_jitter())
    assert script.waits == [30.0]


@pytest.mark.parametrize(
    "fatal", [AdapterConfigError("bad token"), PermanentError("gone"), ValueError("bug")]
)
async def test_config_and_unretryable_errors_stop_it(fatal: Exception) -> None:
    script = Script([(0.0, TransientError("down")), (0.0, fatal), (0.0, None)])
    with pytest.raises(type(fatal)):
        await run(script, no_jitter())
    assert script.calls == 2
    assert len(script.waits) == 1


async def test_a_config_error_stops_it_even_when_everything_is_retryable() -> None:
    script = Script([(0.0, AdapterConfigError("bad token")), (0.0, None)])
    with pytest.raises(AdapterConfigError):
        await run(script, no_jitter(), retryable=lambda exc: True)
    assert script.waits == []


async def test_cancelled_error_propagates_from_connect() -> None:
    script = Script([(0.0, asyncio.CancelledError())])
    with pytest.raises(asyncio.CancelledError):
        await run(script, no_jitter(), retryable=lambda exc: True)
    assert script.errors == []


async def test_cancelled_while_waiting_propagates() -> None:
    started = asyncio.Event()

    async def fail() -> None:
        raise TransientError("down")

    async def slow_sleep(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(
        reconnecting(fail, policy=no_jitter(), on_error=lambda exc, wait: None, sleep=slow_sleep)
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_retryable_chooses_what_is_retried() -> None:
    script = Script([(0.0, OSError("reset")), (0.0, None)])
    await run(script, no_jitter(), retryable=lambda exc: isinstance(exc, OSError))
    assert script.errors == [("OSError", 1.0)]
