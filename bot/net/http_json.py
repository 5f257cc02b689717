"""The one HTTP status -> domain error mapping every platform client uses (Retry-After honoured)."""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.backoff import MAX_RETRY_AFTER, parse_retry_after
from bot.domain.sanitize import parse_timestamp
from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError


@dataclass(frozen=True, slots=True)
class StatusRules:
    """How one platform reads a failed status; the defaults are the social REST APIs'.

    429 is always ``RateLimited`` and 5xx (or no status at all) always ``TransientError``;
    the rules only say what differs between platforms.
    """

    also_transient: Container[int] = frozenset({408})  # 4xx codes retried like a 5xx
    hint_on_5xx: bool = True  # a 5xx carries the platform's Retry-After too
    refused: Container[int] = frozenset()  # codes meaning the settings are wrong: do not retry
    refused_note: str = ""  # appended to the label of a refusal


SOCIAL = StatusRules()
AT_OPEN = StatusRules(refused=range(400, 500))  # at open() any refusal means the settings are wrong


def status_error(
    status: int | None,
    *,
    label: str,
    now: datetime,
    rules: StatusRules = SOCIAL,
    retry_after: str | None = None,
    retry_after_ms: object = None,
    reset: str | None = None,
) -> PatronDeskError:
    """The domain error for a failed response; never raises, whatever the inputs.

    Args:
        status: the HTTP status, ``None`` when there was no response (transient).
        label: the error message (never patron data).
        now: the wall clock, for ``Retry-After`` given as an HTTP date.
        rules: what this platform treats as transient or as refused settings.
        retry_after: the ``Retry-After`` header (seconds or HTTP date; garbage is ignored).
        retry_after_ms: Matrix's body field; a number here wins over the header (capped).
        reset: a ``RateLimit-Reset`` header (unix seconds or ISO time), used on 429 without Retry-After.
    """
    if status == 429:
        return RateLimited(label, retry_after=_rate_wait(retry_after, retry_after_ms, reset, now=now))
    if status is None or status >= 500 or status in rules.also_transient:
        hint = parse_retry_after(retry_after, now=now) if rules.hint_on_5xx else None
        return TransientError(label, retry_after=hint)
    if status in rules.refused:
        return AdapterConfigError(f"{label}: {rules.refused_note}" if rules.refused_note else label)
    return PermanentError(label)


def _rate_wait(header: str | None, millis: object, reset: str | None, *, now: datetime) -> float | None:
    wait = parse_retry_after(header, now=now)
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        try:
            seconds = float(millis) / 1000
        except OverflowError:  # an integer too large for a float: as long as we ever wait
            seconds = MAX_RETRY_AFTER
        if not math.isnan(seconds):  # NaN is garbage: keep the header's answer
            wait = min(max(seconds, 0.0), MAX_RETRY_AFTER)
    if wait is None:
        wait = reset_in(reset, now=now)
    return wait


def reset_in(value: str | None, *, now: datetime) -> float | None:
    """Seconds until a rate-limit reset given as unix seconds or an ISO 8601 time."""
    if not value:
        return None
    text = value.strip()
    try:
        when = datetime.fromtimestamp(float(text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        parsed = parse_timestamp(text)
        if parsed is None:
            return None
        when = parsed
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)
