"""The one retry and reconnect policy: exponential backoff, full jitter, a cap, Retry-After honoured.

Every place that waits before trying again asks this module how long. It is pure apart from the
random source, which callers can seed for tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 900.0  # a platform asking for more than 15 minutes is treated as 15 minutes


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    Garbage gives ``None`` (fall back to our own backoff); negative values give 0;
    huge values are capped at ``MAX_RETRY_AFTER``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter.

    ``delay(attempt)`` for attempt 0, 1, 2, ... is uniform in ``[0, min(cap, base * 2**attempt)]``;
    a platform's ``retry_after`` hint is a floor: jitter can lengthen it, never shorten it, so a
    storm of ``Retry-After: 0`` still backs off.
    """

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def ceiling(self, attempt: int) -> float:
        """The largest delay this attempt can get."""
        return min(self.cap, self.base * (2 ** min(max(attempt, 0), 32)))

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        jittered = self.rng.uniform(0.0, self.ceiling(attempt))
        if retry_after is None:
            return jittered
        return max(min(retry_after, MAX_RETRY_AFTER), jittered)


@dataclass(slots=True)
class Reconnector:
    """Attempt counter for a reconnect loop, reset after a healthy period (atproto's habit)."""

    policy: Backoff = field(default_factory=Backoff)
    healthy_after: float = 60.0
    attempt: int = 0

    def failed(self, *, retry_after: float | None = None) -> float:
        """Record a failure and return how long to wait."""
        wait = self.policy.delay(self.attempt, retry_after=retry_after)
        self.attempt += 1
        return wait

    def connected_for(self, seconds: float) -> None:
        """Reset the counter once a connection has stayed up long enough."""
        if seconds >= self.healthy_after:
            self.attempt = 0
