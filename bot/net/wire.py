"""Shared wire helpers for the HTTP social adapters: JSON requests, error translation, timestamps."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from bot.backoff import Backoff
from bot.domain.sanitize import parse_timestamp
from bot.errors import AdapterConfigError, PatronDeskError, RateLimited, TransientError
from bot.net.http_json import AT_OPEN, SOCIAL, status_error

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

MALFORMED: Any = object()  # the body of a response that was not valid JSON
T = TypeVar("T")


@cache
def tls() -> ssl.SSLContext:
    """The verifying TLS context every HTTP client of the bot shares (``verify=tls()``).

    httpx builds a context per client by default, each loading the whole CA bundle again (about
    1.4 MiB apiece); this is the one httpx would build (certifi, or SSL_CERT_FILE / SSL_CERT_DIR).
    """
    return httpx.create_ssl_context()


_ERROR_CODE = re.compile(r"[A-Z][A-Za-z]{2,40}")  # XRPC codes: ExpiredToken, RateLimitExceeded


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A vendor response reduced to what the adapters need: status, headers and decoded JSON."""

    status: int
    headers: httpx.Headers
    body: Any

    @property
    def error_code(self) -> str:
        """The XRPC ``error`` code of an error body (``ExpiredToken``), or ``""``.

        Only identifier-like codes are kept: free-text errors (Mastodon's "Validation failed: ...")
        can quote what was posted, and this label ends up in logs and exception messages.
        """
        if isinstance(self.body, Mapping):
            code = self.body.get("error")
            if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
                return code
        return ""


def decode_json(raw: bytes) -> Any:
    """Decode a JSON body; invalid UTF-8 becomes U+FFFD rather than losing the item.

    Returns ``MALFORMED`` when the bytes are not JSON at all.
    """
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return MALFORMED


async def request_json(
    client: httpx.AsyncClient, method: str, url: str, *, what: str, **kwargs: Any
) -> JsonResponse:
    """Send one request; transport failures and timeouts become ``TransientError``.

    Args:
        client: the adapter's client.
        method: HTTP method.
        url: absolute URL or a path relative to the client's base URL.
        what: a short label for logs and error messages (never patron data).
        **kwargs: passed to ``httpx.AsyncClient.request``.
    """
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out") from exc
    except httpx.HTTPError as exc:
        raise TransientError(f"{what}: {type(exc).__name__}") from exc
    return JsonResponse(response.status_code, response.headers, decode_json(response.content))


def raise_for_status(response: JsonResponse, *, what: str, now: datetime, at_open: bool = False) -> None:
    """Translate an HTTP status into a domain error; return quietly on 2xx with a JSON body.

    The mapping is ``http_json.status_error`` (429 with Retry-After or RateLimit-Reset, 5xx and 408
    transient, other 4xx permanent, or ``AdapterConfigError`` when ``at_open``); a 2xx whose body is
    not JSON -> ``TransientError`` (retried, never lost).
    """
    status = response.status
    if status >= 400:
        label = f"{what}: HTTP {status}" + (f" {response.error_code}" if response.error_code else "")
        raise status_error(
            status,
            label=label,
            now=now,
            rules=AT_OPEN if at_open else SOCIAL,
            retry_after=response.headers.get("retry-after"),
            reset=response.headers.get("ratelimit-reset"),
        )
    if response.body is MALFORMED:
        log.warning("%s: HTTP %d with a body that is not JSON; will retry", what, status)
        raise TransientError(f"{what}: malformed JSON body")


class Holds:
    """Endpoints the platform answered 429 with a wait: until it is over, calls to the same endpoint
    are refused here (``RateLimited`` with the time left) instead of sent, so the next outbox row
    does not spend the platform's patience. No wait given (0, garbage): no hold."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._until: dict[str, datetime] = {}

    def check(self, endpoint: str) -> None:
        """Raise ``RateLimited`` while ``endpoint`` is held."""
        until = self._until.get(endpoint)
        if until is None:
            return
        left = (until - self._clock()).total_seconds()
        if left <= 0:
            del self._until[endpoint]
            return
        raise RateLimited(f"{endpoint}: waiting out the platform's Retry-After", retry_after=left)

    def note(self, endpoint: str, exc: RateLimited) -> None:
        """Hold ``endpoint`` for the wait the platform asked for."""
        if exc.retry_after:
            self._until[endpoint] = self._clock() + timedelta(seconds=exc.retry_after)


def parse_time(value: object) -> datetime | None:
    """Parse an ISO 8601 timestamp from a vendor payload (``Z``, any fraction); ``None`` if bad.

    Never raises (a year-9999 time with a negative offset overflows: unreadable, not fatal).
    """
    return parse_timestamp(value)


def text_field(data: Mapping[str, Any], key: str) -> str:
    """A string field of a vendor dict; anything else (missing, null, a number) gives ``""``."""
    value = data.get(key)
    return value if isinstance(value, str) else ""


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


async def pause_after(exc: PatronDeskError, attempt: int, *, backoff: Backoff, label: str) -> None:
    """Log a failed attempt (status, never payload) and wait as ``bot.backoff`` says."""
    retry_after = exc.retry_after if isinstance(exc, TransientError) else None
    delay = backoff.delay(attempt, retry_after=retry_after)
    level = logging.WARNING if isinstance(exc, TransientError) else logging.ERROR
    log.log(level, "%s: %s; retrying in %.1fs", label, exc, delay)
    await asyncio.sleep(delay)


async def retrying(call: Callable[[], Awaitable[T]], *, backoff: Backoff, label: str) -> T:
    """Await ``call()`` until it succeeds; domain errors are retried with backoff, except
    ``AdapterConfigError`` (the settings are wrong: retrying cannot help)."""
    attempt = 0
    while True:
        try:
            return await call()
        except AdapterConfigError:
            raise
        except PatronDeskError as exc:
            await pause_after(exc, attempt, backoff=backoff, label=label)
            attempt += 1
