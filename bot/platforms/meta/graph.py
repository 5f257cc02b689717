"""The Graph API client both Meta platforms use: one token, the throttle, errors translated once.

The error envelope is ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``; the
message is never kept (it can quote what was posted). Code 190 (token expired or revoked) latches
the client: staff are told once, and every later call fails at once without asking Meta again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError
from bot.net.wire import MALFORMED, JsonResponse, request_json, tls
from bot.platforms.meta.throttle import RATE_CODES, TOKEN_CODES, TRANSIENT_CODES, Throttle

log = logging.getLogger(__name__)

Tell = Callable[[str], Awaitable[None]]


class TokenRefused(AdapterConfigError):
    """Meta refused the access token (code 190): a new token is needed, retrying cannot help."""


@dataclass(frozen=True, slots=True)
class GraphError:
    """The parts of an error envelope that are safe to log: codes and the trace id, no message."""

    code: int | None = None
    subcode: int | None = None
    kind: str = ""
    trace: str = ""
    transient: bool = False

    def label(self) -> str:
        """``code 190/463 OAuthException`` for logs and error messages."""
        code = "?" if self.code is None else str(self.code)
        sub = f"/{self.subcode}" if self.subcode is not None else ""
        return f"code {code}{sub} {self.kind}".strip()


def _small_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and -(2**31) < value < 2**31:
        return value
    return None


def _word(value: object, longest: int = 64) -> str:
    if isinstance(value, str) and len(value) <= longest and value.replace("_", "").replace("+", "").isalnum():
        return value
    return ""


def parse_error(body: Any) -> GraphError | None:
    """The error envelope of a response body (also a bare inner error object); None when there is none."""
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error", body if "code" in body else None)
    if not isinstance(inner, Mapping):
        return None
    return GraphError(
        code=_small_int(inner.get("code")),
        subcode=_small_int(inner.get("error_subcode")),
        kind=_word(inner.get("type")),
        trace=_word(inner.get("fbtrace_id")),
        transient=inner.get("is_transient") is True,
    )


def graph_error(
    status: int, error: GraphError | None, *, what: str, at_open: bool = False
) -> PatronDeskError:
    """The domain error for a failed Graph call (pure): throttling, token, outage or refusal."""
    label = f"{what}: HTTP {status}" + (f" {error.label()}" if error else "")
    code = error.code if error else None
    if code in TOKEN_CODES:
        return TokenRefused(label)
    if code in RATE_CODES or status == 429:
        return RateLimited(label)
    if status >= 500 or status == 408 or code in TRANSIENT_CODES or (error is not None and error.transient):
        return TransientError(label)
    if at_open:
        return AdapterConfigError(label)
    return PermanentError(label)


class GraphClient:
    """Graph API calls with one access token (sent as a header, never in a URL).

    Args:
        base_url: the Graph host (a setting; the tests' loopback fake).
        version: the API version path segment, e.g. ``v22.0``.
        token: the Page (or Instagram) access token.
        label: names the platform in logs and in the staff notice.
        tell_staff: posts a notice to the staff channel; called once when the token is refused.
        fix: what staff should do about a refused token (a sentence naming the setting).
    """

    def __init__(
        self,
        base_url: str,
        version: str,
        token: str,
        *,
        label: str,
        throttle: Throttle | None = None,
        tell_staff: Tell | None = None,
        fix: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        root = base_url.rstrip("/") + "/" + version.strip("/") + "/"
        self.http = httpx.AsyncClient(
            base_url=root,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "patron-desk"},
            timeout=timeout,
            transport=transport,
            verify=tls(),
        )
        self.label = label
        self.throttle = throttle or Throttle()
        self._tell_staff = tell_staff
        self._fix = fix
        self.refused: TokenRefused | None = None  # latched on the first code 190
        self.last_error: GraphError | None = None  # the envelope of the last failed call

    async def get(self, path: str, *, at_open: bool = False, **params: Any) -> Any:
        """``GET`` a node or edge; the decoded body."""
        return (await self.call("GET", path, params=params, at_open=at_open)).body

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """``POST`` a JSON body to an edge; the decoded body."""
        return (await self.call("POST", path, json=dict(body))).body

    async def call(self, method: str, path: str, *, at_open: bool = False, **kwargs: Any) -> JsonResponse:
        """One request, paced; errors become domain errors (``TokenRefused`` latches)."""
        what = f"{self.label} {method} {_shape(path)}"
        if self.refused is not None:
            raise TokenRefused(str(self.refused))
        await self.throttle.before_call(what)
        response = await request_json(self.http, method, path.lstrip("/"), what=what, **kwargs)
        self.throttle.after_response(response.headers)
        if response.status >= 400:
            await self._failed(response, what=what, at_open=at_open)
        if response.body is MALFORMED:
            log.warning("%s: HTTP %d with a body that is not JSON; will retry", what, response.status)
            raise TransientError(f"{what}: malformed JSON body")
        return response

    async def _failed(self, response: JsonResponse, *, what: str, at_open: bool) -> None:
        error = self.last_error = parse_error(response.body)
        exc = graph_error(response.status, error, what=what, at_open=at_open)
        if isinstance(exc, TokenRefused):
            await self._latch(exc)
        if isinstance(exc, RateLimited):
            usage = self.throttle.usage
            exc.retry_after = self.throttle.hold(usage.regain_seconds)
            log.warning("%s: throttled by Meta; holding calls for %.0fs", what, exc.retry_after)
        raise exc

    async def _latch(self, exc: TokenRefused) -> None:
        if self.refused is not None:
            return
        self.refused = exc
        log.error("%s: access token refused (%s); stopping until the settings are fixed", self.label, exc)
        if self._tell_staff is not None:
            notice = (
                f"{self.label}: Meta refused the access token (expired or revoked), so nothing new "
                f"arrives from {self.label} and replies wait. {self._fix}".strip()
            )
            try:
                await self._tell_staff(notice)
            except Exception as failure:  # the notice is best effort; the latch holds anyway
                log.error("%s: could not tell staff (%s)", self.label, type(failure).__name__)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()


def _shape(path: str) -> str:
    """A path with its ids replaced (``/{id}/comments``): ids are not secret, but labels stay short."""
    parts = [("{id}" if any(ch.isdigit() for ch in part) else part) for part in path.strip("/").split("/")]
    return "/" + "/".join(parts)
