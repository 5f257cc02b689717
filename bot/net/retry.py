"""The one reconnect loop: connect, run, on a retryable error wait as ``bot.backoff`` says, again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.backoff import Reconnector
from bot.errors import AdapterConfigError, TransientError


def transient(exc: Exception) -> bool:
    """The default test of what is worth retrying: an outage, timeout or rate limit."""
    return isinstance(exc, TransientError)


async def reconnecting(
    connect: Callable[[], Awaitable[None]],
    *,
    policy: Reconnector,
    on_error: Callable[[Exception, float], None],
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] | None = None,
    retryable: Callable[[Exception], bool] = transient,
) -> None:
    """Await ``connect()`` until it returns; a retryable error waits and tries again.

    Args:
        connect: one connection (or one run of it); returning ends the loop.
        policy: the backoff and its attempt counter (exponential, jittered, capped).
        on_error: told of each retried error and the wait chosen (log class names, never messages
            that may hold patron text).
        sleep: how to wait (tests inject a recorder).
        clock: monotonic seconds; when given, an attempt that stayed up ``policy.healthy_after``
            resets the backoff. ``None`` for callers that mark health themselves (or never).
        retryable: which errors are retried; the rest propagate.

    ``AdapterConfigError`` (the settings are wrong) always propagates, as does ``CancelledError``
    (a ``BaseException``, never caught here). A platform's ``retry_after`` is a floor on the wait.
    """
    while True:
        started = clock() if clock is not None else 0.0
        try:
            await connect()
            return
        except AdapterConfigError:
            raise
        except Exception as exc:
            if not retryable(exc):
                raise
            if clock is not None:
                policy.connected_for(clock() - started)
            wait = policy.failed(retry_after=getattr(exc, "retry_after", None))
            on_error(exc, wait)
        await sleep(wait)
