"""Graph API throttling: read the usage headers and the throttling error codes, slow down before Meta blocks.

Meta reports how much of the app's (``X-App-Usage``), the Page's (``X-Page-Usage``) and the business
use case's (``X-Business-Use-Case-Usage``) budget is used, as JSON percentages. Above ``slow_from`` the
adapter spaces its calls out more and more; at 100 % (or on error codes 4, 17, 32, 613 and the 800xx
business use case codes) it holds every call until Meta says access is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import RateLimited

log = logging.getLogger(__name__)

# Application, user, Page and custom-rate-limit throttling, and the business use case range.
RATE_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80001, 80015))
TOKEN_CODES = frozenset({190})  # expired, revoked or invalid access token: settings, not a throttle
TRANSIENT_CODES = frozenset({1, 2})  # "unknown error", "service temporarily unavailable"
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
_LONGEST_HEADER = 8192


@dataclass(frozen=True, slots=True)
class Usage:
    """The highest budget share any usage header reports, and Meta's own wait when it gave one."""

    percent: float = 0.0
    regain_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ThrottleOptions:
    """When to slow down and how much; the defaults suit Meta's hourly windows, tests shrink them."""

    slow_from: float = 75.0  # percent of a budget
    max_pause: float = 60.0  # seconds between calls just below 100 %
    blocked_pause: float = 600.0  # seconds to hold at 100 % or on a throttling code without a hint
    longest_hold: float = 3600.0


def _numbers(data: Mapping[str, Any]) -> list[float]:
    found = []
    for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            found.append(float(value))
    return found


def _regain(data: Mapping[str, Any]) -> float | None:
    minutes = data.get("estimated_time_to_regain_access")
    if isinstance(minutes, int | float) and not isinstance(minutes, bool) and math.isfinite(minutes):
        return max(float(minutes), 0.0) * 60
    return None


def read_usage(headers: Mapping[str, str]) -> Usage:
    """The usage headers of one response; unreadable or hostile values count as nothing."""
    percent, regain = 0.0, None
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw or len(raw) > _LONGEST_HEADER:
            continue
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        blocks: list[Any] = [data]
        if name == "x-business-use-case-usage" and isinstance(data, Mapping):
            blocks = [item for value in data.values() if isinstance(value, list) for item in value]
        for block in blocks:
            if not isinstance(block, Mapping):
                continue
            percent = max([percent, *_numbers(block)])
            wait = _regain(block)
            if wait:
                regain = max(regain or 0.0, wait)
    return Usage(min(percent, 1000.0), regain)


def pause_for(usage: Usage, options: ThrottleOptions) -> float:
    """Seconds to wait before the next call: none below ``slow_from``, growing to ``max_pause``
    near 100 %, and the hold itself at 100 % (Meta's estimate, else ``blocked_pause``)."""
    if usage.percent >= 100.0:
        return min(usage.regain_seconds or options.blocked_pause, options.longest_hold)
    if usage.percent < options.slow_from:
        return 0.0
    share = (usage.percent - options.slow_from) / max(100.0 - options.slow_from, 1e-9)
    return options.max_pause * share * share


class Throttle:
    """The pace of one Graph client: a short pause is slept here, a hold is raised as ``RateLimited``
    (the caller retries later, so a reply waiting on Meta never holds up anything else)."""

    def __init__(
        self,
        options: ThrottleOptions | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.options = options or ThrottleOptions()
        self._sleep = sleep
        self._monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self._pause = 0.0  # wait before the next call
        self._held_until = 0.0
        self.usage = Usage()
        self.refused_calls = 0  # calls answered here during a hold instead of sent to Meta

    async def before_call(self, label: str) -> None:
        """Wait out the slow-down pause; raise ``RateLimited`` while Meta's block lasts."""
        left = self._held_until - self._monotonic()
        if left > 0:
            self.refused_calls += 1
            raise RateLimited(f"{label}: Meta rate limit; waiting", retry_after=left)
        if self._pause > 0:
            log.info("%s: Graph API usage at %.0f%%; pausing %.1fs", label, self.usage.percent, self._pause)
            await self._sleep(self._pause)

    def after_response(self, headers: Mapping[str, str]) -> None:
        """Take in a response's usage headers."""
        self.usage = read_usage(headers)
        pause = pause_for(self.usage, self.options)
        if self.usage.percent >= 100.0:
            self.hold(pause)
            self._pause = 0.0
        else:
            self._pause = pause

    def hold(self, seconds: float | None) -> float:
        """Refuse calls for ``seconds`` (a throttling error); returns the hold actually set."""
        wait = min(
            seconds if seconds and seconds > 0 else self.options.blocked_pause, self.options.longest_hold
        )
        self._held_until = max(self._held_until, self._monotonic() + wait)
        return wait

    @property
    def pause(self) -> float:
        """The pause the next call will make (0 when usage is low)."""
        return self._pause

    def held_for(self) -> float:
        """Seconds the current hold still lasts (0 when not held)."""
        return max(self._held_until - self._monotonic(), 0.0)
